import type { RobotMeta, ServerMessage } from '@robostream/protocol';
import { appMayReach, grantListOn, notGranted, type AppClaims } from '@robostream/protocol/auth';
import type { SignalingMetrics } from '../http/metrics.js';
import type { Deliver } from '../routing/delivery.js';
import type { Router } from '../routing/router.js';
import { SessionTable, newSessionId, type SessionEntry } from './session-table.js';

export interface OpenRequest {
  /** The app side's peer id (a WebSocket connection, or a WHEP virtual peer). */
  peerId: string;
  claims: AppClaims;
  robotId: string;
  endpoint: string;
  meta?: RobotMeta;
  /** The app's first offer, sent with the request (see SessionOpen.offer). */
  offer?: string;
}

export interface OpenedSession {
  sessionId: string;
  robotPeer: string;
}

export type OpenOutcome =
  | ({ ok: true; delivered: boolean } & OpenedSession)
  | { ok: false; code: 'forbidden' | 'session_limit' | 'robot_offline'; message: string };

/**
 * The sessions of this instance's peers and the rules around them, for every path that opens or ends one: the
 * WebSocket handlers, the routed-message handlers and WHEP.
 */
export class SessionService {
  private readonly table = new SessionTable();

  constructor(
    private readonly o: {
      router: Pick<Router, 'lookupEndpoint' | 'instanceId'>;
      deliver: Deliver;
      maxSessionsPerApp: number;
      metrics: Pick<SignalingMetrics, 'errors'>;
    },
  ) {}

  get size(): number {
    return this.table.size;
  }

  get(peerId: string, sessionId: string): SessionEntry | undefined {
    return this.table.get(peerId, sessionId);
  }

  add(peerId: string, entry: SessionEntry): void {
    this.table.add(peerId, entry);
  }

  remove(peerId: string, sessionId: string): SessionEntry | undefined {
    return this.table.remove(peerId, sessionId);
  }

  /**
   * An app asks for a session with a robot endpoint: grant, per-app limit, the endpoint's peer; then the pending
   * entry, then the request to the robot. `created` runs between the two, so that the caller can answer its client
   * (or get ready for the robot's reply) before the robot can possibly answer.
   */
  async open(req: OpenRequest, created?: (s: OpenedSession) => void): Promise<OpenOutcome> {
    const { claims, robotId, endpoint } = req;
    // Every session needs view; what more the token allows travels with the request, for the robot to enforce.
    if (!appMayReach(claims, robotId))
      return { ok: false, code: 'forbidden', message: notGranted(robotId, 'view') };
    const limit = this.o.maxSessionsPerApp;
    if (this.table.appSessions(claims.sub) >= limit)
      return { ok: false, code: 'session_limit', message: `at most ${limit} open sessions per app` };
    const robotPeer = await this.o.router.lookupEndpoint(robotId, endpoint);
    if (!robotPeer)
      return {
        ok: false,
        code: 'robot_offline',
        message: `robot ${robotId} has no ${endpoint} endpoint online`,
      };
    const sessionId = newSessionId(this.o.router.instanceId);
    this.table.add(req.peerId, {
      sessionId,
      remote: robotPeer,
      side: 'app',
      robotId,
      endpoint,
      appSubject: claims.sub,
      state: 'pending',
      // Kept until the robot accepts, in case its instance cannot hand it over (relayOpeningOffer).
      heldOffer: req.offer,
      offerInRequest: false,
    });
    created?.({ sessionId, robotPeer });
    const delivered = await this.o.deliver(robotPeer, {
      kind: 'session_request',
      sessionId,
      from: req.peerId,
      app: { subject: claims.sub, grants: grantListOn(claims.grants, robotId) },
      robotId,
      endpoint,
      ...(req.meta ? { meta: req.meta } : {}),
      ...(req.offer !== undefined ? { offer: req.offer } : {}),
    });
    return { ok: true, sessionId, robotPeer, delivered };
  }

  /**
   * App side, on `session_accepted`: the offer the app opened with is no longer held here. When the robot's instance
   * did not hand it to the robot (an older version), it goes now as an ordinary relayed offer, ahead of anything
   * the app sends after learning of the acceptance. False when the robot's instance cannot be reached.
   */
  async relayOpeningOffer(peerId: string, s: SessionEntry, handed: boolean): Promise<boolean> {
    const sdp = s.heldOffer;
    s.heldOffer = undefined;
    if (sdp === undefined || handed) return true;
    return this.o.deliver(s.remote, {
      kind: 'relay',
      sessionId: s.sessionId,
      from: peerId,
      msg: { type: 'offer', sessionId: s.sessionId, sdp },
    });
  }

  /** Ends a peer's side of a session and tells the other side; undefined when the peer had no such session. */
  async close(
    peerId: string,
    sessionId: string,
    reason: string,
    by: 'peer' | 'service' = 'peer',
  ): Promise<SessionEntry | undefined> {
    const s = this.table.remove(peerId, sessionId);
    if (s) await this.o.deliver(s.remote, { kind: 'session_closed', sessionId, from: peerId, reason, by });
    return s;
  }

  /**
   * A connection ended: each of its sessions ends, and each other side is told. One that cannot be told (Redis is
   * away) does not keep the others from being told; it learns that its session is gone at its next message.
   * `by` 'service' (the connection dropped) lets a robot keep an answered session running unsignaled; 'peer' (the
   * app left) ends it.
   */
  async closePeer(peerId: string, reason: string, by: 'peer' | 'service' = 'service'): Promise<void> {
    await Promise.allSettled(
      this.table.removePeer(peerId).map((s) =>
        this.o.deliver(s.remote, {
          kind: 'session_closed',
          sessionId: s.sessionId,
          from: peerId,
          reason,
          by,
        }),
      ),
    );
  }

  /** Ends this side of a session whose other side cannot be reached, and tells this side's client. */
  endLocally(
    peer: { peerId: string; send(m: ServerMessage): void },
    sessionId: string,
    reason: string,
  ): void {
    if (!this.table.remove(peer.peerId, sessionId)) return;
    this.o.metrics.errors.inc({ code: 'peer_gone' });
    peer.send({ type: 'session_closed', sessionId, reason, by: 'service' });
  }
}
