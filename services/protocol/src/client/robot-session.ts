/**
 * What RobotEndpointHost (robot-endpoint.ts) asks of one service's session, and what it gives the session: the
 * seam between the signaling rules every robot endpoint shares and what a session carries (media, data).
 */
import type { Grant } from '../auth/grants.js';
import type { IceCandidate, IceServer, RobotMeta } from '../messages/common.js';

export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** A candidate as signaling carries it; null ends the candidates. */
export type MaybeCandidate = IceCandidate | null;

/** Why the host ends a session: the service maps it (e.g. to a link close code). */
export interface SessionEnd {
  reason: string;
  cause: 'app' | 'signaling' | 'shutdown' | 'failed';
}

/** One service's session, as the host drives it. */
export interface RobotSession {
  /**
   * Answers an offer: the first one, or a later one (`restart`: the app's ICE restart). Returns the answer SDP.
   * Local candidates reported meanwhile are held by the host and sent after the answer. An offer that cannot be
   * answered rejects with BadOfferError (./offer-check.ts): the host ends the session with its message as reason.
   */
  answer(offerSdp: string, restart: boolean): Promise<string>;
  /** A remote candidate (never an empty one), or null at the end of them. Errors are logged, not fatal. */
  addRemoteCandidate(candidate: MaybeCandidate): Promise<void>;
  /** Now, for the restart timer's second look. */
  readonly connectionState: PeerState;
  /** False: never ask the app for an ICE restart (a WHEP player cannot renegotiate). */
  readonly restartable: boolean;
  /** Rewrites a local candidate as it leaves, after the answer (the streamer tags it with the BUNDLE mid). */
  outgoingCandidate?(candidate: IceCandidate): IceCandidate;
  /** Ends the session; the host has already forgotten it. Resolves once its resources are released. */
  close(end: SessionEnd): Promise<void>;
}

/** What a new session is told, and how it talks back to the host. */
export interface SessionContext {
  sessionId: string;
  /** The app's token subject. */
  app: string;
  /** What the app's token grants on this robot, as signaling verified it (the session enforces its part). */
  grants: readonly Grant[];
  meta: RobotMeta | undefined;
  /** Names the signaling connection (logs, ids). */
  label: string;
  /** The connection's ICE servers (TURN REST credentials when the service hands them out). */
  iceServers: IceServer[];
  log: EndpointLog;
  /** A local candidate, or null once gathering is complete. */
  localCandidate(candidate: MaybeCandidate): void;
  /** The peer connection's state changes (drive the ICE restart and dead-path timers). */
  connectionState(state: PeerState): void;
  /**
   * The session ended by itself (its peer connection closed): the host forgets it and tells the app. `byApp`: the
   * app closed its end (its own session_close is most likely on its way), so it is told only if signaling has
   * not said the session closed within a short grace.
   */
  ended(reason: string, byApp?: boolean): void;
}

/** Return a reason to reject the session (the app hears it), or the session. */
export type SessionFactory<S extends RobotSession> = (ctx: SessionContext) => S | { reject: string };

/** The slice of a pino logger the host writes to. */
export interface EndpointLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): EndpointLog;
}
