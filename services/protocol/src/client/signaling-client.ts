// Above 400 lines on purpose: the connection lifecycle, pending requests, keepalive and ICE refresh share one socket
// and its timers; split into modules they would hand that state back and forth. Backoff, errors and the emitter
// already live apart (backoff.ts, signaling-error.ts, typed-emitter.ts).
import { CloseCode } from '../errors.js';
import type { IceCandidate, IceServer, RobotMeta, RobotPresence } from '../messages/common.js';
import type { ClientMessage, ClientMessageOf, ClientMessageType } from '../messages/client-messages.js';
import type { ServerMessage, ServerMessageOf } from '../messages/server-messages.js';
import { parseServerMessage } from '../validate.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
import { SignalingError } from './signaling-error.js';
import { TypedEmitter } from './typed-emitter.js';

/** The subset of the WebSocket API the client needs; browsers' WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

export type ClientState = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'reconnecting' | 'closed';

export interface EndpointRegistration {
  name: string;
  meta?: RobotMeta;
  /** Its session requests may carry the app's opening offer (see Register.offerInRequest). */
  offerInRequest?: boolean;
}

export interface SignalingClientOptions {
  /** ws(s)://host:port/v1/ws */
  url: string;
  /** A token, or a function that returns a fresh one (called before every connect). */
  token: string | (() => string | Promise<string>);
  /** Defaults to globalThis.WebSocket (browsers, Node >= 22); pass the `ws` package's WebSocket on Node 20. */
  WebSocket?: WebSocketCtor;
  /** Robot endpoints to register after every (re)connect. */
  endpoints?: EndpointRegistration[];
  reconnect?: Partial<BackoffOptions> | false;
  requestTimeoutMs?: number;
  /** Application keepalive; a connection that answers nothing for two intervals is dropped and reconnected. */
  pingIntervalMs?: number;
  clientName?: string;
}

type Sessioned<T extends string> = ServerMessageOf<Extract<ServerMessage['type'], T>>;

export interface SignalingClientEvents {
  state: ClientState;
  welcome: ServerMessageOf<'welcome'>;
  presence: ServerMessageOf<'presence'>;
  session_request: ServerMessageOf<'session_request'>;
  session_accepted: ServerMessageOf<'session_accepted'>;
  session_rejected: ServerMessageOf<'session_rejected'>;
  offer: Sessioned<'offer'>;
  answer: Sessioned<'answer'>;
  candidate: Sessioned<'candidate'>;
  end_of_candidates: Sessioned<'end_of_candidates'>;
  ice_restart: Sessioned<'ice_restart'>;
  session_closed: ServerMessageOf<'session_closed'>;
  ice_servers: ServerMessageOf<'ice_servers'>;
  goaway: ServerMessageOf<'goaway'>;
  /** Errors the service sent that answer no pending request (and invalid frames from the service). */
  error: SignalingError;
  /** The service closed the connection for a reason a reconnect cannot fix (forged token, replaced...). */
  fatal: { code: number; reason: string };
}

interface Pending {
  resolve: (m: ServerMessage) => void;
  reject: (e: SignalingError) => void;
  timer: ReturnType<typeof setTimeout>;
  expect: ReadonlySet<string>;
}

const OPEN = 1;

/**
 * The one signaling client, used by robot services, the web app and the tests. It authenticates, keeps the
 * connection alive, reconnects with backoff and jitter, and after every reconnect re-registers the robot's
 * endpoints and re-subscribes to presence. Sessions are bound to a connection: after a reconnect an open
 * peer connection keeps its media, and a new session is needed for further signaling.
 */
export class SignalingClient extends TypedEmitter<SignalingClientEvents> {
  private ws: WebSocketLike | undefined;
  private readonly WS: WebSocketCtor;
  private readonly backoff: BackoffOptions | false;
  private readonly requestTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly endpoints = new Map<string, EndpointRegistration>();
  /** This connection's service refused `offerInRequest` (an older version). */
  private offerInRequestRefused = false;
  private wantPresence = false;
  private nextRef = 1;
  private readonly pending = new Map<string, Pending>();
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private iceTimer: ReturnType<typeof setTimeout> | undefined;
  private lastHeard = 0;
  private stopped = false;
  private _state: ClientState = 'idle';
  private _welcome: ServerMessageOf<'welcome'> | undefined;
  private _iceServers: IceServer[] = [];

  constructor(private readonly opts: SignalingClientOptions) {
    super();
    const ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!ctor) throw new Error('no WebSocket implementation: pass options.WebSocket (e.g. the ws package)');
    this.WS = ctor;
    this.backoff = opts.reconnect === false ? false : { ...DEFAULT_BACKOFF, ...opts.reconnect };
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.pingIntervalMs = opts.pingIntervalMs ?? 15_000;
    for (const e of opts.endpoints ?? []) this.endpoints.set(e.name, e);
  }

  get state(): ClientState {
    return this._state;
  }
  get welcome(): ServerMessageOf<'welcome'> | undefined {
    return this._welcome;
  }
  /** The current ICE servers (TURN credentials refreshed before they expire). */
  get iceServers(): IceServer[] {
    return this._iceServers;
  }

  /** Connects and resolves with the first welcome; rejects if the first attempt is refused fatally. */
  connect(): Promise<ServerMessageOf<'welcome'>> {
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const offWelcome = this.once('welcome', (w) => {
        offFatal();
        offState();
        resolve(w);
      });
      const offFatal = this.once('fatal', (f) => {
        offWelcome();
        offState();
        reject(new SignalingError('closed', `connection refused: ${f.reason || f.code}`));
      });
      const offState = this.on('state', (s) => {
        if (s === 'closed') {
          offWelcome();
          offFatal();
          offState();
          reject(new SignalingError('closed', 'client closed before it was ready'));
        }
      });
      void this.open();
    });
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.teardownTimers();
    this.failPending(new SignalingError('closed', 'client closed'));
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.close(CloseCode.Normal, 'client closed');
    }
    this.setState('closed');
  }

  // --- robot side ---------------------------------------------------------------------------

  async register(name: string, meta?: RobotMeta, options: { offerInRequest?: boolean } = {}): Promise<void> {
    const e: EndpointRegistration = { name, ...(meta ? { meta } : {}), ...options };
    this.endpoints.set(name, e);
    if (this._state === 'ready') await this.sendRegister(e);
  }

  /**
   * A service of an older version refuses `offerInRequest` (bad_message naming the field): the endpoint is then
   * registered without it on this connection, and its apps' offers come after its acceptance, as before.
   */
  private async sendRegister(e: EndpointRegistration): Promise<void> {
    const base = { type: 'register' as const, endpoint: e.name, ...(e.meta ? { meta: e.meta } : {}) };
    if (!e.offerInRequest || this.offerInRequestRefused) {
      await this.request(base, ['registered']);
      return;
    }
    try {
      await this.request({ ...base, offerInRequest: true }, ['registered']);
    } catch (err) {
      if (!(
        err instanceof SignalingError &&
        err.code === 'bad_message' &&
        /\/offerInRequest\b/.test(err.message)
      ))
        throw err;
      this.offerInRequestRefused = true;
      await this.request(base, ['registered']);
    }
  }

  async unregister(name: string): Promise<void> {
    this.endpoints.delete(name);
    if (this._state === 'ready') await this.request({ type: 'unregister', endpoint: name }, ['unregistered']);
  }

  acceptSession(sessionId: string): Promise<ServerMessage> {
    return this.request({ type: 'session_accept', sessionId }, ['session_accepted']);
  }

  rejectSession(sessionId: string, reason: string): void {
    this.send({ type: 'session_reject', sessionId, reason });
  }

  // --- app side -----------------------------------------------------------------------------

  async listRobots(): Promise<RobotPresence[]> {
    const m = await this.request({ type: 'list_robots' }, ['robots']);
    return m.type === 'robots' ? m.robots : [];
  }

  /** Subscribes to presence (kept across reconnects) and resolves with the current robots. */
  async subscribePresence(): Promise<RobotPresence[]> {
    this.wantPresence = true;
    const m = await this.request({ type: 'subscribe_presence' }, ['subscribed']);
    return m.type === 'subscribed' ? m.robots : [];
  }

  async unsubscribePresence(): Promise<void> {
    this.wantPresence = false;
    await this.request({ type: 'unsubscribe_presence' }, ['unsubscribed']);
  }

  /**
   * Opens a session to a robot endpoint; resolves once the robot accepted it. With `offer`, the app's first offer
   * goes with the request and reaches the robot as it accepts (one round trip sooner than sending it after the
   * acceptance); the robot's answer may then follow the acceptance at once, so `onCreated` gives the session id as
   * soon as signaling assigns it, for the caller to recognize that answer.
   */
  async openSession(
    robotId: string,
    endpoint: string,
    meta?: RobotMeta,
    opening?: { offer: string; onCreated?: (sessionId: string) => void },
  ): Promise<string> {
    const created = await this.request(
      {
        type: 'session_open',
        robotId,
        endpoint,
        ...(meta ? { meta } : {}),
        ...(opening ? { offer: opening.offer } : {}),
      },
      ['session_created'],
    );
    if (created.type !== 'session_created') throw new SignalingError('internal', 'unexpected reply');
    const { sessionId } = created;
    opening?.onCreated?.(sessionId);
    return new Promise<string>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        offA();
        offR();
        offC();
      };
      const timer = setTimeout(() => {
        cleanup();
        this.send({ type: 'session_close', sessionId, reason: 'accept timeout' });
        reject(new SignalingError('timeout', `robot did not answer session ${sessionId}`));
      }, this.requestTimeoutMs);
      const offA = this.on('session_accepted', (m) => {
        if (m.sessionId !== sessionId) return;
        cleanup();
        resolve(sessionId);
      });
      const offR = this.on('session_rejected', (m) => {
        if (m.sessionId !== sessionId) return;
        cleanup();
        reject(new SignalingError('forbidden', `robot rejected the session: ${m.reason}`));
      });
      const offC = this.on('session_closed', (m) => {
        if (m.sessionId !== sessionId) return;
        cleanup();
        reject(new SignalingError('peer_gone', `session closed before it was accepted: ${m.reason}`));
      });
    });
  }

  // --- both sides ---------------------------------------------------------------------------

  sendOffer(sessionId: string, sdp: string): boolean {
    return this.send({ type: 'offer', sessionId, sdp });
  }
  sendAnswer(sessionId: string, sdp: string): boolean {
    return this.send({ type: 'answer', sessionId, sdp });
  }
  sendCandidate(sessionId: string, candidate: IceCandidate): boolean {
    return this.send({ type: 'candidate', sessionId, candidate });
  }
  sendEndOfCandidates(sessionId: string): boolean {
    return this.send({ type: 'end_of_candidates', sessionId });
  }
  requestIceRestart(sessionId: string, reason?: string): boolean {
    return this.send({ type: 'ice_restart', sessionId, ...(reason ? { reason } : {}) });
  }
  closeSession(sessionId: string, reason: string): boolean {
    return this.send({ type: 'session_close', sessionId, reason });
  }

  async refreshIceServers(): Promise<IceServer[]> {
    const m = await this.request({ type: 'refresh_ice_servers' }, ['ice_servers']);
    if (m.type === 'ice_servers') {
      this.applyIceServers(m.iceServers, m.iceServersExpireAt);
      this.emit('ice_servers', m);
    }
    return this._iceServers;
  }

  /** Sends a message; false when the connection is not ready (nothing is queued: signaling is live or lost). */
  send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || (this._state !== 'ready' && msg.type !== 'authenticate'))
      return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  /** Sends a request with a fresh ref and resolves with the reply of one of the expected types, or rejects with its error. */
  request<T extends ClientMessageType>(msg: ClientMessageOf<T>, expect: string[]): Promise<ServerMessage> {
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...msg, ref } as ClientMessage)) {
        reject(new SignalingError('not_connected', `cannot send ${msg.type}: not connected`));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new SignalingError('timeout', `${msg.type} timed out`, ref));
      }, this.requestTimeoutMs);
      this.pending.set(ref, { resolve, reject, timer, expect: new Set(expect) });
    });
  }

  // --- connection lifecycle -------------------------------------------------------------------

  private setState(s: ClientState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit('state', s);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let token: string;
    try {
      token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    } catch (err) {
      this.emit('error', new SignalingError('token_invalid', `token provider failed: ${String(err)}`));
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const ws = new this.WS(this.opts.url);
    this.ws = ws;
    ws.onopen = () => {
      this.setState('authenticating');
      this.lastHeard = Date.now();
      ws.send(
        JSON.stringify({
          type: 'authenticate',
          token,
          ...(this.opts.clientName ? { client: this.opts.clientName } : {}),
        }),
      );
    };
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onerror = () => {
      /* onclose follows and decides */
    };
    ws.onclose = (ev) => this.onClose(ws, ev.code, ev.reason);
  }

  private onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.teardownTimers();
    this.failPending(new SignalingError('not_connected', `connection closed (${code})`));
    const tokenIsStatic = typeof this.opts.token === 'string';
    const fatal =
      code === CloseCode.Forbidden ||
      code === CloseCode.Replaced ||
      (code === CloseCode.Unauthorized && tokenIsStatic);
    if (fatal) {
      this.emit('fatal', { code, reason });
      this.stopped = true;
      this.setState('closed');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(delayOverrideMs?: number): void {
    if (this.stopped || this.backoff === false) {
      this.setState('closed');
      return;
    }
    this.setState('reconnecting');
    const delay = delayOverrideMs ?? backoffDelay(this.attempt, this.backoff);
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  private onFrame(data: unknown): void {
    this.lastHeard = Date.now();
    const parsed = parseServerMessage(typeof data === 'string' ? data : String(data));
    if (!parsed.ok) {
      this.emit(
        'error',
        new SignalingError(parsed.error.code, `invalid frame from the service: ${parsed.error.message}`),
      );
      return;
    }
    const msg = parsed.msg;
    const ref = 'ref' in msg ? msg.ref : undefined;
    if (ref !== undefined) {
      const p = this.pending.get(ref);
      if (p && (msg.type === 'error' || p.expect.has(msg.type))) {
        this.pending.delete(ref);
        clearTimeout(p.timer);
        if (msg.type === 'error') p.reject(new SignalingError(msg.code, msg.message, ref));
        else p.resolve(msg);
        if (msg.type !== 'session_created' && msg.type !== 'session_accepted') return;
      }
    }
    this.dispatch(msg);
  }

  private dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome':
        void this.onWelcome(msg);
        return;
      case 'error':
        this.emit('error', new SignalingError(msg.code, msg.message, msg.ref));
        return;
      case 'goaway':
        this.emit('goaway', msg);
        // Reconnect (to another instance behind the load balancer) after the service's delay.
        this.ws?.close(CloseCode.Reconnecting, 'goaway');
        this.attempt = 0;
        this.scheduleReconnect(msg.reconnectInMs + Math.round(Math.random() * 250));
        return;
      case 'ice_servers':
        this.applyIceServers(msg.iceServers, msg.iceServersExpireAt);
        this.emit('ice_servers', msg);
        return;
      case 'presence':
      case 'session_request':
      case 'session_accepted':
      case 'session_rejected':
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'end_of_candidates':
      case 'ice_restart':
      case 'session_closed':
        this.emit(msg.type, msg as never);
        return;
      default:
        return; // replies whose request already timed out
    }
  }

  private async onWelcome(w: ServerMessageOf<'welcome'>): Promise<void> {
    this._welcome = w;
    // A reconnect may reach another instance, of another version.
    this.offerInRequestRefused = false;
    this.attempt = 0;
    this.applyIceServers(w.iceServers, w.iceServersExpireAt);
    this.setState('ready');
    this.startKeepalive();
    try {
      for (const e of this.endpoints.values()) await this.sendRegister(e);
      if (this.wantPresence) await this.request({ type: 'subscribe_presence' }, ['subscribed']);
    } catch (err) {
      this.emit('error', err instanceof SignalingError ? err : new SignalingError('internal', String(err)));
    }
    this.emit('welcome', w);
  }

  private applyIceServers(servers: IceServer[], expiresAt: number | null): void {
    this._iceServers = servers;
    clearTimeout(this.iceTimer);
    if (expiresAt === null) return;
    // Ask for fresh TURN credentials at three quarters of their remaining life.
    const inMs = Math.max(1_000, (expiresAt - Date.now()) * 0.75);
    this.iceTimer = setTimeout(() => {
      this.refreshIceServers().catch((err: unknown) =>
        this.emit('error', err instanceof SignalingError ? err : new SignalingError('internal', String(err))),
      );
    }, inMs);
  }

  private startKeepalive(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > this.pingIntervalMs * 2) {
        // Half-open TCP (a robot's Wi-Fi roam): drop it and reconnect.
        this.ws?.close(CloseCode.Reconnecting, 'keepalive timeout');
        if (this.ws) this.onClose(this.ws, CloseCode.Reconnecting, 'keepalive timeout');
        return;
      }
      this.send({ type: 'ping', t: Date.now() });
    }, this.pingIntervalMs);
  }

  private teardownTimers(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.iceTimer);
  }

  private failPending(err: SignalingError): void {
    for (const [ref, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new SignalingError(err.code, err.message, ref));
    }
    this.pending.clear();
  }
}
