import type { Logger } from 'pino';
import type { ErrorCode, ServerMessage } from '@robostream/protocol';
import type { TokenClaims } from '@robostream/protocol/auth';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { Limits } from '../config/config.js';
import type { SignalingMetrics } from '../http/metrics.js';
import type { Deliver } from '../routing/delivery.js';
import type { Router } from '../routing/router.js';
import type { SessionService } from '../sessions/session-service.js';
import type { IceServerGrant } from '../turn/ice-servers.js';

export type ConnectionState = 'unauthenticated' | 'authenticating' | 'ready' | 'closed';

/** What the handlers may do with one client connection (a WebSocket peer, or a fake one in unit tests). */
export interface Connection {
  readonly peerId: string;
  readonly ip: string;
  readonly state: ConnectionState;
  readonly claims: TokenClaims | undefined;
  readonly role: 'robot' | 'app' | undefined;
  /** The robot endpoints this connection registered. */
  readonly endpoints: Set<string>;
  /** Those of its endpoints that take an app's opening offer inside session_request (Register.offerInRequest). */
  readonly offerInRequest: Set<string>;
  presenceSubscribed: boolean;
  readonly log: Logger;
  send(msg: ServerMessage): void;
  error(code: ErrorCode, message: string, ref?: string): void;
  /** A typed error, then the close code that tells the client whether reconnecting can help. */
  fail(code: ErrorCode, message: string, closeCode: number, ref?: string): void;
  authenticated(claims: TokenClaims): void;
}

/** Everything a handler reaches beyond its connection: nothing else of the server. */
export interface HandlerContext {
  readonly router: Router;
  readonly sessions: SessionService;
  readonly verifier: TokenVerifier;
  readonly deliver: Deliver;
  readonly limits: Limits;
  readonly metrics: Pick<SignalingMetrics, 'presenceEndpoints'>;
  /** STUN, and TURN credentials named after the subject. */
  iceServersFor(subject: string): IceServerGrant;
  /** True once the instance drains: no new registrations. */
  isDraining(): boolean;
}
