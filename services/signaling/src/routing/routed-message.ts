import type { RobotMeta, SessionRelayMessage } from '@robostream/protocol';
import type { Grant } from '@robostream/protocol/auth';

/**
 * What one signaling instance hands another through the router. Peers are addressed by peer id
 * ("<instanceId>.<n>"), so the router finds the owning instance without a lookup.
 */
export type RoutedMessage =
  | {
      kind: 'session_request';
      sessionId: string;
      from: string;
      app: { subject: string; grants: Grant[] };
      robotId: string;
      endpoint: string;
      meta?: RobotMeta;
      /** The app's first offer, for the robot's instance to hand over once the robot accepts. */
      offer?: string;
    }
  /**
   * `offerHanded`: the robot's instance gave the robot the offer the app opened with. An instance of a version
   * before offers rode with the request leaves it out; the app's instance then relays the offer itself.
   */
  | { kind: 'session_accepted'; sessionId: string; from: string; offerHanded?: boolean }
  | { kind: 'session_rejected'; sessionId: string; from: string; reason: string }
  | { kind: 'relay'; sessionId: string; from: string; msg: SessionRelayMessage }
  | { kind: 'session_closed'; sessionId: string; from: string; reason: string; by: 'peer' | 'service' }
  /** The addressed peer is not on its instance any more: the sender's side of the session must end. */
  | { kind: 'undeliverable'; sessionId: string; from: string }
  /** Another connection registered the same robot endpoint: close this one. */
  | { kind: 'kick'; from: string; reason: string }
  /** A WHEP DELETE that reached another instance, to the WHEP endpoint of the instance holding the session. */
  | { kind: 'whep_delete'; sessionId: string; from: string; robotId: string; subject: string }
  /** Its answer: whether the session existed for that robot and subject (and is now ended). */
  | { kind: 'whep_deleted'; sessionId: string; from: string; found: boolean };

export interface Addressed {
  to: string;
  message: RoutedMessage;
}

export function instanceOf(peerId: string): string {
  const dot = peerId.indexOf('.');
  return dot < 0 ? peerId : peerId.slice(0, dot);
}
