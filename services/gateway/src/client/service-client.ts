/**
 * A small client for robot programs: connects to the gateway's local socket, registers a service name,
 * reconnects (and re-registers) when the gateway restarts, and turns the envelope into callbacks.
 *
 *   const svc = new ServiceClient({ url: 'ws://127.0.0.1:7600/v1/service', service: 'battery' });
 *   svc.onCommand(async (cmd) => ({ level: 0.82 }));     // resolves -> reply ok, throws -> reply not ok
 *   svc.on('estop', () => motors.stop());
 *   svc.on('deadman', (d) => d.status === 'tripped' && motors.stop());
 *
 * A lost gateway is a tripped deadman: when the socket closes, or the gateway stops answering pings for
 * `heartbeatTimeoutMs` (a hung or SIGSTOPped process), the client emits `deadman` {status: 'tripped'} before
 * `disconnected`, so a program that stops on the deadman also stops when nobody can reach its e-stop any more.
 *   setInterval(() => svc.telemetry({ level: read() }), 100);
 *
 * Messages above 16 KiB (a map, a point cloud) travel as chunks both ways (docs/gateway.md, "Large messages"):
 * sent behind the small frames of the same moment, joined before they are emitted.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  gatewayToService,
  LargeMessageLink,
  GATEWAY_ENVELOPE_VERSION as v,
  type DeadmanMessage,
  type ErrorMessage,
  type EstopAnnouncement,
  type LockStateMessage,
  type ServiceCommand,
  type ServiceToGateway,
  type ServiceVelocity,
  type ServiceWelcome,
} from '@robostream/protocol/gateway';
import { backoffDelay, type BackoffOptions } from '@robostream/protocol/client';

/** The gateway is local: come back quickly, without jitter (one program, not a fleet). */
const RECONNECT: BackoffOptions = { initialDelayMs: 100, maxDelayMs: 2_000, factor: 2, jitter: 0 };

export interface ServiceClientOptions {
  /** ws://127.0.0.1:7600/v1/service, or ws+unix:/run/robostream/gateway.sock:/v1/service */
  url: string;
  service: string;
  /** Reconnect after a lost connection (default true); delays grow from 100 ms to 2 s. */
  reconnect?: boolean;
  /** Ping interval while connected (default 250 ms). */
  heartbeatMs?: number;
  /** No frame from the gateway for this long counts as a lost gateway (default 1000 ms). */
  heartbeatTimeoutMs?: number;
  /**
   * The largest message (bytes) this program takes or sends; told to the gateway in hello, which refuses bigger
   * ones (message_too_large) before they arrive. Absent: the gateway's cap for this service.
   */
  maxMessageBytes?: number;
}

export interface ServiceClientEvents {
  welcome: [ServiceWelcome];
  command: [ServiceCommand];
  /** An operator's velocity command (lossy; feed it to a VelocityGuard). */
  velocity: [ServiceVelocity];
  estop: [EstopAnnouncement];
  deadman: [DeadmanMessage];
  lock: [LockStateMessage];
  error: [ErrorMessage];
  disconnected: [];
}

export type CommandHandler = (cmd: ServiceCommand) => unknown;

export class ServiceClient extends EventEmitter<ServiceClientEvents> {
  private ws: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private registered = false;
  private handler: CommandHandler | null = null;
  private waiters: Array<() => void> = [];
  private heartbeat: NodeJS.Timeout | null = null;
  private lastHeardAt = 0;
  private lockHolder: LockStateMessage['holder'] = null;
  private readonly large: LargeMessageLink;

  constructor(private readonly o: ServiceClientOptions) {
    super();
    // An 'error' envelope with no listener must not crash the program (EventEmitter throws on unhandled 'error').
    this.on('error', () => undefined);
    this.large = new LargeMessageLink({
      sink: {
        send: (frame) => this.ws?.send(frame, () => this.large.pump()),
        bufferedAmount: () => this.ws?.bufferedAmount ?? 0,
        isOpen: () => this.ws?.readyState === WebSocket.OPEN,
      },
      ...(this.o.maxMessageBytes ? { maxMessageBytes: this.o.maxMessageBytes } : {}),
      onDropped: (id, code, message) => this.emit('error', { v, type: 'error', code, message, ref: id }),
    });
    this.connect();
  }

  /** Resolves once registered (welcome received). */
  ready(): Promise<void> {
    if (this.registered) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get connected(): boolean {
    return this.registered;
  }

  /** Answers each command with a reply: the handler's result (ok) or its error message (not ok). */
  onCommand(handler: CommandHandler): void {
    this.handler = handler;
  }

  /** Lossy: dropped when disconnected or when an app reads too slowly. Returns false when not connected. */
  telemetry(payload: unknown, opts: { topic?: string; to?: string } = {}): boolean {
    return this.send({ v, type: 'telemetry', payload, ...opts });
  }

  event(payload: unknown, opts: { id?: string; to?: string } = {}): boolean {
    return this.send({ v, type: 'event', payload, ...opts });
  }

  reply(cmd: Pick<ServiceCommand, 'id' | 'from'>, ok: boolean, payload?: unknown): boolean {
    return this.send({
      v,
      type: 'reply',
      ref: cmd.id,
      to: cmd.from,
      ok,
      ...(payload !== undefined ? { payload } : {}),
    });
  }

  estop(reason?: string): boolean {
    return this.send({ v, type: 'estop', ...(reason ? { reason } : {}) });
  }

  /**
   * Sends an already-valid envelope. Returns false when not connected. A large one is queued as chunks (an
   * event's `id` names the transfer, so a refusal comes back with it as ref); sent() tells when it is out.
   */
  send(msg: ServiceToGateway): boolean {
    return this.sendFrame(msg) !== false;
  }

  /** Like send(), resolving once the last byte is handed to the socket (true) or the transfer failed (false). */
  sent(msg: ServiceToGateway): Promise<boolean> {
    return Promise.resolve(this.sendFrame(msg));
  }

  private sendFrame(msg: ServiceToGateway): Promise<boolean> | boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || (!this.registered && msg.type !== 'hello'))
      return false;
    return this.large.send(JSON.stringify(msg), msg.type === 'event' ? msg.id : undefined);
  }

  close(): void {
    this.stopped = true;
    this.stopHeartbeat();
    this.ws?.close(1000, 'bye');
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    const every = this.o.heartbeatMs ?? 250;
    const timeout = this.o.heartbeatTimeoutMs ?? 1000;
    this.lastHeardAt = performance.now();
    this.heartbeat = setInterval(() => {
      if (performance.now() - this.lastHeardAt > timeout) {
        // 'close' follows terminate() and reports the loss as a deadman trip.
        ws.terminate();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ v, type: 'ping' }));
    }, every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private connect(): void {
    const ws = new WebSocket(this.o.url, { perMessageDeflate: false });
    this.ws = ws;
    const max = this.o.maxMessageBytes;
    ws.on('open', () =>
      ws.send(
        JSON.stringify({
          v,
          type: 'hello',
          service: this.o.service,
          ...(max ? { maxMessageBytes: max } : {}),
        }),
      ),
    );
    ws.on('message', (data) => {
      this.lastHeardAt = performance.now();
      this.onFrame(data.toString());
    });
    ws.on('error', () => undefined); // 'close' follows and schedules the reconnect
    ws.on('close', () => {
      if (this.ws === ws) {
        this.stopHeartbeat();
        this.large.reset();
      }
      const was = this.registered;
      this.registered = false;
      if (was && !this.stopped) {
        this.emit('deadman', {
          v,
          type: 'deadman',
          status: 'tripped',
          holder: this.lockHolder,
          silentMs: Math.round(performance.now() - this.lastHeardAt),
        });
      }
      if (was) this.emit('disconnected');
      if (this.stopped || this.o.reconnect === false) return;
      setTimeout(() => this.connect(), backoffDelay(this.attempt++, RECONNECT)).unref();
    });
  }

  private onFrame(frame: string, reassembled = false): void {
    const r = gatewayToService.decode(frame);
    if (!r.ok) return; // a newer gateway may send types this client does not know
    const m = r.msg;
    switch (m.type) {
      case 'welcome':
        this.registered = true;
        this.attempt = 0;
        this.lockHolder = m.lock.holder;
        if (this.ws) this.startHeartbeat(this.ws);
        this.emit('welcome', m);
        for (const w of this.waiters.splice(0)) w();
        return;
      case 'command':
        this.emit('command', m);
        if (this.handler) this.runHandler(this.handler, m);
        return;
      case 'velocity':
        return void this.emit('velocity', m);
      case 'estop':
        return void this.emit('estop', m);
      case 'deadman':
        return void this.emit('deadman', m);
      case 'lock.state':
        this.lockHolder = m.holder;
        return void this.emit('lock', m);
      case 'error':
        // The gateway refused one of our transfers: stop sending the rest of it.
        if (m.ref !== undefined) this.large.cancel(m.ref);
        return void this.emit('error', m);
      case 'pong':
        return;
      case 'chunk': {
        // A whole message is never itself a chunk.
        const whole = reassembled ? null : this.large.receive(m);
        if (whole !== null) this.onFrame(whole, true);
        return;
      }
    }
  }

  private runHandler(handler: CommandHandler, cmd: ServiceCommand): void {
    Promise.resolve()
      .then(() => handler(cmd))
      .then(
        (payload) => this.reply(cmd, true, payload),
        (err: unknown) => this.reply(cmd, false, { error: err instanceof Error ? err.message : String(err) }),
      );
  }
}
