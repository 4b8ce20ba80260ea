/**
 * A signaling service in a test's hands: a WebSocket stand-in that a real SignalingClient connects through. It
 * answers authenticate, register and session_accept like the service does, records every frame the client sends,
 * and lets the test push frames to the client or drop the connection.
 */
import type { ServerMessage } from '../../src/index.js';
import type { WebSocketCtor, WebSocketLike } from '../../src/client/index.js';

export type Sent = { type: string; [k: string]: unknown };

export class FakeSignaling {
  readonly sent: Sent[] = [];
  private socket: FakeSocket | null = null;
  private waiters: Array<() => void> = [];
  readonly WebSocket: WebSocketCtor;

  constructor() {
    this.WebSocket = socketClassFor(this);
  }

  /** Pushes a frame to the client. */
  push(msg: ServerMessage): void {
    const s = this.socket;
    if (!s) throw new Error('no connection');
    setImmediate(() => s.onmessage?.({ data: JSON.stringify(msg) }));
  }

  /** The connection breaks (no close frame): the client reconnects. */
  drop(): void {
    const s = this.socket;
    this.socket = null;
    s?.terminate();
  }

  /** Frames of one type the client sent, in order. */
  of(type: string): Sent[] {
    return this.sent.filter((m) => m.type === type);
  }

  /** Resolves once the client has sent a frame matching `pred`. */
  async until(pred: (m: Sent) => boolean, what: string, timeoutMs = 2_000): Promise<Sent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.sent.find(pred);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; sent: ${JSON.stringify(this.sent)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  /** @internal */
  attach(s: FakeSocket): void {
    this.socket = s;
    setImmediate(() => {
      (s as { readyState: number }).readyState = 1;
      s.onopen?.({});
    });
  }

  /** @internal a frame from the client */
  receive(s: FakeSocket, raw: string): void {
    const m = JSON.parse(raw) as Sent;
    this.sent.push(m);
    for (const w of this.waiters.splice(0)) w();
    const ref = typeof m['ref'] === 'string' ? { ref: m['ref'] } : {};
    if (s !== this.socket) return;
    if (m.type === 'authenticate')
      this.push({
        type: 'welcome',
        protocol: 1,
        peerId: 'p1',
        instanceId: 'i1',
        role: 'robot',
        subject: 'robot-1',
        iceServers: [{ urls: 'stun:stun.example:3478' }],
        iceServersExpireAt: null,
        tokenExpiresAt: Date.now() + 3_600_000,
        limits: { maxMessageBytes: 65_536, messagesPerSecond: 100, burst: 100, maxSessions: 16 },
      });
    else if (m.type === 'register')
      this.push({ type: 'registered', ...ref, robotId: 'robot-1', endpoint: String(m['endpoint']) });
    else if (m.type === 'session_accept')
      this.push({ type: 'session_accepted', ...ref, sessionId: String(m['sessionId']) });
  }
}

class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;

  constructor(
    readonly url: string,
    private readonly service: FakeSignaling,
  ) {
    service.attach(this);
  }

  send(data: string): void {
    if (this.readyState === 1) this.service.receive(this, data);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setImmediate(() => this.onclose?.({ code, reason }));
  }

  terminate(): void {
    this.close(1006, 'dropped');
  }
}

function socketClassFor(service: FakeSignaling): WebSocketCtor {
  return class extends FakeSocket {
    constructor(url: string) {
      super(url, service);
    }
  };
}
