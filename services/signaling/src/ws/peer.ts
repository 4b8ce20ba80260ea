import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  CloseCode,
  parseClientMessage,
  type ErrorCode,
  type ServerMessage,
  type ClientMessage,
} from '@robostream/protocol';
import type { TokenClaims } from '@robostream/protocol/auth';
import type { Limits } from '../config/config.js';
import type { Connection, ConnectionState } from '../handlers/context.js';
import type { SignalingMetrics } from '../http/metrics.js';
import type { LogThrottle } from '../logging/log-throttle.js';
import { RouterUnavailableError } from '../routing/router.js';
import { TokenBucket } from './token-bucket.js';

/** A socket whose unsent bytes pass this is too slow to keep up: it is closed rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export interface PeerOptions {
  limits: Pick<
    Limits,
    'messagesPerSecond' | 'burst' | 'floodCloseAfter' | 'maxMessageBytes' | 'authTimeoutMs'
  >;
  metrics: Pick<SignalingMetrics, 'errors' | 'messages'>;
  log: Logger;
  /** Shared by the instance's peers: the outage line is written once per interval, not once per request. */
  unavailableLog: LogThrottle;
  /** Runs a valid message: authenticate while unauthenticated, anything else once ready. */
  dispatch: (peer: Peer, msg: ClientMessage) => Promise<void>;
  /**
   * The socket closed; `wasReady` tells whether it had authenticated; `code` and `reason` are the client's (1006
   * and none when the connection dropped).
   */
  closed: (peer: Peer, wasReady: boolean, code: number, reason: string) => void;
}

/** One WebSocket connection: framing, limits, auth state and the robot endpoints it registered. */
export class Peer implements Connection {
  state: ConnectionState = 'unauthenticated';
  claims: TokenClaims | undefined;
  readonly endpoints = new Set<string>();
  readonly offerInRequest = new Set<string>();
  presenceSubscribed = false;
  log: Logger;
  private readonly bucket: TokenBucket;
  private limited = 0;
  private lastLimitErrorAt = 0;
  private authTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The stream under the WebSocket (undefined when it cannot be corked); see coalesce(). */
  private readonly socket: Duplex | undefined;
  /** This peer holds `socket` corked until the next tick. */
  private corked = false;

  constructor(
    readonly peerId: string,
    private readonly ws: WebSocket,
    readonly ip: string,
    private readonly o: PeerOptions,
  ) {
    this.log = o.log.child({ peerId });
    this.socket = underlyingSocket(ws);
    const l = o.limits;
    this.bucket = new TokenBucket(l.messagesPerSecond, l.burst);
    this.authTimer = setTimeout(() => {
      if (this.state === 'unauthenticated' || this.state === 'authenticating') {
        this.fail('auth_timeout', `no authenticate within ${l.authTimeoutMs} ms`, CloseCode.AuthTimeout);
      }
    }, l.authTimeoutMs);
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on('close', (code, reason) => this.onClosed(code, reason.toString()));
    // Socket errors are logged (rate-limited) by the plugin's error handler, which closes the socket.
  }

  get role(): 'robot' | 'app' | undefined {
    return this.claims?.role;
  }

  send(msg: ServerMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log.warn({ buffered: this.ws.bufferedAmount }, 'closing a slow consumer');
      this.close(1013, 'slow consumer');
      return;
    }
    this.coalesce();
    this.ws.send(JSON.stringify(msg));
  }

  /**
   * Everything sent to this peer within one tick goes to the kernel in one write: `ws` corks and uncorks the socket
   * around each frame, which on its own makes one writev per message (the largest item in the receiving instance's
   * profile when a batch of relayed messages arrives from Redis). An outer cork held until the next tick keeps the
   * frames, in order, in the socket's buffer until then; nothing waits for I/O meanwhile.
   */
  private coalesce(): void {
    const socket = this.socket;
    if (!socket || this.corked) return;
    this.corked = true;
    socket.cork();
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  error(code: ErrorCode, message: string, ref?: string): void {
    this.o.metrics.errors.inc({ code });
    this.send({ type: 'error', code, message, ...(ref !== undefined ? { ref } : {}) });
  }

  /** A typed error, then the close code that tells the client whether reconnecting can help. */
  fail(code: ErrorCode, message: string, closeCode: number, ref?: string): void {
    this.error(code, message, ref);
    this.close(closeCode, code);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING)
      this.ws.close(code, reason);
  }

  authenticated(claims: TokenClaims): void {
    this.claims = claims;
    this.state = 'ready';
    clearTimeout(this.authTimer);
    this.log = this.log.child({ role: claims.role, sub: claims.sub });
    // The connection lives no longer than its token: the client reconnects with a fresh one.
    const ms = claims.exp * 1000 - Date.now();
    this.expiryTimer = setTimeout(
      () => this.fail('token_expired', 'token expired; reconnect with a fresh one', CloseCode.Unauthorized),
      Math.min(Math.max(ms, 0), 2 ** 31 - 1),
    );
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (!this.bucket.take()) {
      this.limited++;
      if (this.limited >= this.o.limits.floodCloseAfter) {
        this.fail('rate_limited', 'message flood', CloseCode.TooManyRequests);
        return;
      }
      // One error per second is enough to tell a flooding client; answering every frame would amplify the flood.
      const now = Date.now();
      if (now - this.lastLimitErrorAt >= 1000) {
        this.lastLimitErrorAt = now;
        this.error(
          'rate_limited',
          `more than ${this.o.limits.messagesPerSecond} messages/s; message dropped`,
        );
      }
      return;
    }
    if (isBinary) return this.error('bad_message', 'binary frames are not part of the protocol');
    if (data.length > this.o.limits.maxMessageBytes) {
      return this.error(
        'frame_too_large',
        `message of ${data.length} bytes exceeds ${this.o.limits.maxMessageBytes}`,
      );
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      const e = parsed.error;
      // A token that is missing, empty or too long is refused as one that does not verify: token_invalid and
      // 4401 at once, rather than a bad_message that leaves the connection waiting for the auth timeout.
      if (e.type === 'authenticate' && e.field === '/token' && this.state === 'unauthenticated') {
        this.log.info({ code: 'token_invalid', ip: this.ip }, 'authentication refused');
        return this.fail('token_invalid', e.message, CloseCode.Unauthorized, e.ref);
      }
      return this.error(e.code, e.message, e.ref);
    }
    this.dispatch(parsed.msg);
  }

  private dispatch(msg: ClientMessage): void {
    this.o.metrics.messages.inc({ type: msg.type });
    if (msg.type === 'authenticate') {
      if (this.state !== 'unauthenticated')
        return this.error('already_authenticated', 'this connection is already authenticated', msg.ref);
      this.state = 'authenticating';
    } else if (this.state !== 'ready') {
      return this.error('unauthenticated', 'send authenticate first', msg.ref);
    }
    this.o.dispatch(this, msg).catch((err: unknown) => {
      if (err instanceof RouterUnavailableError) {
        // Every request that needs Redis fails alike during an outage: one line per ten seconds says so.
        if (this.o.unavailableLog.admit('unavailable') !== undefined)
          this.log.warn({ err: err.message, type: msg.type }, 'request refused: redis unreachable');
        return this.error('unavailable', `${msg.type}: signaling cannot reach Redis; retry shortly`, msg.ref);
      }
      this.log.error(
        { err: err instanceof Error ? err.message : String(err), type: msg.type },
        'handler failed',
      );
      this.error('internal', `could not handle ${msg.type}`, msg.ref);
    });
  }

  private onClosed(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    this.o.closed(this, wasReady, code, reason);
  }
}

/**
 * The stream a `ws` WebSocket writes its frames to. `ws` keeps it in a field it does not document (stable through
 * ws 8); without one that can be corked, sends simply are not coalesced.
 */
function underlyingSocket(ws: WebSocket): Duplex | undefined {
  const s = (ws as unknown as { _socket?: Partial<Duplex> })._socket;
  return s && typeof s.cork === 'function' && typeof s.uncork === 'function' ? (s as Duplex) : undefined;
}
