/**
 * The handlers in-process, with nothing else of the server: the local router, the session service and fake
 * connections that record what they were sent. Routed messages reach the fake connections as the Hub would
 * hand them (RoutedHandlers), so a session can be driven from both sides without a socket.
 */
import { pino } from 'pino';
import type { ClientMessage, ErrorCode, ServerMessage } from '@robostream/protocol';
import { TokenError, type TokenClaims } from '@robostream/protocol/auth';
import type { Limits } from '../../src/config/config.js';
import type { Connection, ConnectionState, HandlerContext } from '../../src/handlers/context.js';
import { MessageHandlers } from '../../src/handlers/message-handlers.js';
import { RoutedHandlers } from '../../src/handlers/routed-handlers.js';
import { SignalingMetrics } from '../../src/http/metrics.js';
import { countedDelivery } from '../../src/routing/delivery.js';
import { LocalRouter } from '../../src/routing/local-router.js';
import type { RoutedMessage } from '../../src/routing/routed-message.js';
import { SessionService } from '../../src/sessions/session-service.js';
import { iceServersFor } from '../../src/turn/ice-servers.js';

const silent = pino({ level: 'silent' });

export const LIMITS: Limits = {
  maxMessageBytes: 65536,
  maxFrameBytes: 1048576,
  messagesPerSecond: 50,
  burst: 200,
  floodCloseAfter: 100,
  connectionsPerIpPerMin: 120,
  maxSessionsPerApp: 16,
  authTimeoutMs: 5000,
};

export class FakeConnection implements Connection {
  state: ConnectionState = 'unauthenticated';
  claims: TokenClaims | undefined;
  readonly endpoints = new Set<string>();
  readonly offerInRequest = new Set<string>();
  presenceSubscribed = false;
  readonly log = silent;
  readonly ip = '192.0.2.1';
  readonly sent: ServerMessage[] = [];
  closedWith: { code: number; reason: string } | undefined;

  constructor(readonly peerId: string) {}

  get role(): 'robot' | 'app' | undefined {
    return this.claims?.role;
  }
  send(msg: ServerMessage): void {
    this.sent.push(msg);
  }
  error(code: ErrorCode, message: string, ref?: string): void {
    this.send({ type: 'error', code, message, ...(ref !== undefined ? { ref } : {}) });
  }
  fail(code: ErrorCode, message: string, closeCode: number, ref?: string): void {
    this.error(code, message, ref);
    this.closedWith = { code: closeCode, reason: code };
    this.state = 'closed';
  }
  authenticated(claims: TokenClaims): void {
    this.claims = claims;
    this.state = 'ready';
  }

  /** Removes and returns every message of this type received so far. */
  take<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    const found = this.sent.filter((m) => m.type === type) as Extract<ServerMessage, { type: T }>[];
    for (const m of found) this.sent.splice(this.sent.indexOf(m), 1);
    return found;
  }
  /** The one message of this type; fails when there is none or more than one. */
  one<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }> {
    const found = this.take(type);
    if (found.length !== 1)
      throw new Error(`expected one ${type}, got ${found.length}; all: ${JSON.stringify(this.sent)}`);
    return found[0]!;
  }
}

/** Tokens are names here: the verifier looks them up, or throws what a real one would. */
export class FakeVerifier {
  readonly tokens = new Map<string, TokenClaims>();
  async verify(token: string): Promise<TokenClaims> {
    const claims = this.tokens.get(token);
    if (token === 'expired') throw new TokenError('token_expired', 'token has expired');
    if (!claims) throw new TokenError('token_invalid', 'token signature or claims are invalid');
    return claims;
  }
}

export class Harness {
  readonly router = new LocalRouter();
  readonly metrics = new SignalingMetrics(false);
  readonly verifier = new FakeVerifier();
  readonly sessions: SessionService;
  readonly handlers: MessageHandlers;
  readonly routed: RoutedHandlers;
  readonly connections = new Map<string, FakeConnection>();
  /** Routed messages addressed to no connection of this harness. */
  readonly unrouted: Array<{ to: string; message: RoutedMessage }> = [];
  draining = false;
  private seq = 0;

  constructor(limits: Partial<Limits> = {}) {
    const deliver = countedDelivery(this.router, this.metrics);
    const all = { ...LIMITS, ...limits };
    this.sessions = new SessionService({
      router: this.router,
      deliver,
      maxSessionsPerApp: all.maxSessionsPerApp,
      metrics: this.metrics,
    });
    const ctx: HandlerContext = {
      router: this.router,
      sessions: this.sessions,
      verifier: this.verifier,
      deliver,
      limits: all,
      metrics: this.metrics,
      iceServersFor: (subject) =>
        iceServersFor({ stunUrls: ['stun:stun.example.org:3478'], turn: undefined }, subject),
      isDraining: () => this.draining,
    };
    this.handlers = new MessageHandlers(ctx);
    this.routed = new RoutedHandlers(ctx);
    this.router.onMessage((to, message) => {
      const c = this.connections.get(to);
      if (c) this.routed.handle(c, message);
      else this.unrouted.push({ to, message });
    });
  }

  /** A connection that is not authenticated yet. */
  connection(): FakeConnection {
    const c = new FakeConnection(`${this.router.instanceId}.${++this.seq}`);
    this.connections.set(c.peerId, c);
    return c;
  }

  /** A connection authenticated with these claims (through the authenticate handler). */
  async authenticated(claims: TokenClaims): Promise<FakeConnection> {
    const token = `token-${claims.role}-${claims.sub}-${this.seq}`;
    this.verifier.tokens.set(token, claims);
    const c = this.connection();
    c.state = 'authenticating';
    await this.handlers.authenticate(c, { type: 'authenticate', token });
    c.take('welcome');
    return c;
  }

  async robot(robotId: string, ...endpoints: string[]): Promise<FakeConnection> {
    const c = await this.authenticated({ role: 'robot', sub: robotId, exp: nowSec() + 600 });
    for (const endpoint of endpoints) await this.send(c, { type: 'register', endpoint });
    c.take('registered');
    return c;
  }

  /** An app whose token grants `view` on these robots. */
  app(sub: string, robots: string[] | '*'): Promise<FakeConnection> {
    const ids = robots === '*' ? ['*'] : robots;
    const grants = Object.fromEntries(ids.map((r) => [r, ['view' as const]]));
    return this.authenticated({ role: 'app', sub, grants, exp: nowSec() + 600 });
  }

  /** Runs one message through the handlers, then lets routed deliveries land. */
  async send(c: FakeConnection, msg: ClientMessage): Promise<void> {
    await this.handlers.handle(c, msg);
    await settle();
  }
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** The local router delivers in a microtask; one macrotask later everything queued has landed. */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
