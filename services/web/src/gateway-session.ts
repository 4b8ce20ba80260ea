/**
 * The gateway session (endpoint `gateway`): two data channels created before the offer — `gateway-reliable`
 * (ordered) and `gateway-lossy` (unordered, no retransmits) — and no media. The first message on the reliable
 * channel is the gateway `auth` with the app token: the gateway verifies it with the public key itself.
 * While this link holds the control lock it pings at a third of the deadman window.
 * Messages above 16 KiB travel as chunks (docs/gateway.md, "Large messages"): joined here before the model sees
 * them; a big command leaves as paced chunks on the reliable channel, behind e-stop, lock and velocity.
 */
import { TypedEmitter, type SignalingClient } from '@robostream/protocol/client';
import { consoleId } from './console-id.js';
import {
  GATEWAY_ENVELOPE_VERSION as v,
  LargeMessageLink,
  gatewayToApp,
  type AppToGateway,
  type GatewayToApp,
} from '@robostream/protocol/gateway';
import { OfferingPeer } from './offering-peer.js';
import { GatewayModel } from './gateway-model.js';

export type GatewayState =
  'opening' | 'connecting' | 'authenticating' | 'ready' | 'reconnecting' | 'failed' | 'closed';

export interface GatewaySessionEvents {
  state: { state: GatewayState; detail: string };
  /** The model changed (after every message). */
  change: GatewayToApp;
}

/** The reliable channel's low-water mark: chunks of a big command go only below it, so commands stay quick. */
const LOW_WATER_BYTES = 16 * 1024;

export class GatewaySession extends TypedEmitter<GatewaySessionEvents> {
  readonly model = new GatewayModel();
  private pc: RTCPeerConnection | null = null;
  private peer: OfferingPeer | null = null;
  private reliable: RTCDataChannel | null = null;
  private lossy: RTCDataChannel | null = null;
  private velocitySeq = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private nextId = 1;
  private closed = false;
  private _state: GatewayState = 'opening';
  /** Chunked messages both ways on the reliable channel. */
  private readonly large = new LargeMessageLink({
    sink: {
      send: (frame) => this.reliable?.send(frame),
      bufferedAmount: () => this.reliable?.bufferedAmount ?? 0,
      isOpen: () => this.reliable?.readyState === 'open',
    },
    lowWaterBytes: LOW_WATER_BYTES,
    onDropped: (id, code, message) => console.warn(`gateway message ${id} dropped: ${code} ${message}`),
  });

  constructor(
    private readonly client: SignalingClient,
    private readonly robotId: string,
    private readonly token: string,
  ) {
    super();
  }

  get state(): GatewayState {
    return this._state;
  }

  async start(): Promise<void> {
    this.set('opening', 'asking the robot for a gateway session');
    // The peer connection and its offer come first: the offer goes with the session request.
    const pc = new RTCPeerConnection({
      iceServers: this.client.iceServers as RTCIceServer[],
      bundlePolicy: 'max-bundle',
    });
    this.pc = pc;
    const reliable = pc.createDataChannel('gateway-reliable', { ordered: true });
    const lossy = pc.createDataChannel('gateway-lossy', { ordered: false, maxRetransmits: 0 });
    this.reliable = reliable;
    this.lossy = lossy;
    reliable.addEventListener('open', () => {
      this.set('authenticating', 'data channel open');
      reliable.send(JSON.stringify({ v, type: 'auth', token: this.token } satisfies AppToGateway));
    });
    reliable.addEventListener('close', () => {
      this.large.reset();
      if (!this.closed) this.set('failed', 'the gateway closed the data channel');
    });
    reliable.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    reliable.addEventListener('bufferedamountlow', () => this.large.pump());
    for (const ch of [reliable, lossy]) ch.addEventListener('message', (e) => this.onFrame(e.data));
    pc.addEventListener('connectionstatechange', () => {
      if (this.closed) return;
      const s = pc.connectionState;
      if (s === 'disconnected') this.set('reconnecting', 'connection interrupted');
      else if (s === 'failed') void this.restart('connection failed');
      else if (s === 'connected' && this._state === 'reconnecting')
        this.set(this.model.link ? 'ready' : 'authenticating', 'back');
    });
    const peer = new OfferingPeer(this.client, pc, {
      onIceRestartNeeded: (why) => void this.restart(why),
      onSessionClosed: (reason, by) => {
        if (by === 'peer' || this._state !== 'ready') this.close(`session closed: ${reason}`);
      },
    });
    this.peer = peer;
    try {
      await peer.open(this.robotId, 'gateway', { console: consoleId() });
    } catch (err) {
      if (!this.closed) this.set('failed', err instanceof Error ? err.message : String(err));
      return;
    }
    // The data channel may be open already (the robot answers as it accepts): keep the more advanced state.
    if (!this.closed && this._state === 'opening') this.set('connecting', 'the robot accepted; connecting');
  }

  command(service: string, payload: unknown): string | null {
    const id = `c${this.nextId++}`;
    return this.send({ v, type: 'command', id, service, payload }) ? id : null;
  }

  takeLock(): boolean {
    return this.send({ v, type: 'lock.take', id: `l${this.nextId++}` });
  }
  releaseLock(): boolean {
    return this.send({ v, type: 'lock.release', id: `l${this.nextId++}` });
  }
  takeoverLock(): boolean {
    return this.send({ v, type: 'lock.takeover', id: `l${this.nextId++}` });
  }
  /** Open to every authenticated link, operator or not. False when the gateway link is not up. */
  estop(reason: string): boolean {
    return this.send({ v, type: 'estop', id: `e${this.nextId++}`, reason });
  }

  /**
   * One velocity command on the lossy lane (a late one is worse than a lost one), numbered and timed for the
   * robot's stale and out-of-order checks. False when the link is not up.
   */
  velocity(service: string, linear: number, angular: number): { seq: number; sentAt: number } | null {
    const ch = this.lossy?.readyState === 'open' ? this.lossy : this.reliable;
    if (!ch || ch.readyState !== 'open' || !this.model.link) return null;
    const msg = {
      v,
      type: 'velocity',
      service,
      seq: this.velocitySeq++,
      sentAt: Date.now(),
      linear,
      angular,
    } as const;
    ch.send(JSON.stringify(msg satisfies AppToGateway));
    return { seq: msg.seq, sentAt: msg.sentAt };
  }

  /** Sends on the reliable channel; a large command as chunks under its id. False when the link is not up. */
  send(msg: AppToGateway): boolean {
    const ch = this.reliable;
    if (!ch || ch.readyState !== 'open' || !this.model.link) return false;
    const frame = JSON.stringify(msg);
    const sent =
      msg.type === 'command' ? this.large.send(frame, msg.id, msg.service) : this.large.send(frame);
    return sent !== false;
  }

  close(reason = 'closed by the operator'): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.peer?.dispose(reason);
    this.large.reset();
    this.pc?.close();
    this.set('closed', reason);
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    // One message carries one frame or a batch of them.
    for (const r of gatewayToApp.decodeBatch(data)) {
      if (!r.ok) continue; // unknown types: a newer gateway
      if (r.msg.type !== 'chunk') {
        this.onMessage(r.msg);
        continue;
      }
      const whole = this.large.receive(r.msg);
      const d = whole === null ? null : gatewayToApp.decode(whole);
      // A whole message is never itself a chunk.
      if (d?.ok && d.msg.type !== 'chunk') this.onMessage(d.msg);
    }
  }

  private onMessage(m: GatewayToApp): void {
    // The gateway refused one of our transfers: stop sending the rest of it.
    if (m.type === 'error' && m.ref !== undefined) this.large.cancel(m.ref);
    this.model.apply(m);
    if (m.type === 'welcome') this.set('ready', `link ${m.link}`);
    // Before the welcome these refuse the token; after it, `forbidden` refuses one action (not granted).
    if (
      m.type === 'error' &&
      (m.code === 'token_expired' ||
        m.code === 'token_invalid' ||
        (m.code === 'forbidden' && !this.model.link))
    ) {
      this.set('failed', `the gateway refused the token: ${m.code}`);
    }
    if (m.type === 'welcome' || m.type === 'lock.state') this.updateHeartbeat();
    this.emit('change', m);
  }

  private updateHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (!this.model.iHoldLock) return;
    const every = Math.max(50, Math.floor(this.model.deadmanMs / 3));
    this.heartbeat = setInterval(() => this.send({ v, type: 'ping' }), every);
  }

  private async restart(why: string): Promise<void> {
    if (this.closed || !this.peer) return;
    this.set('reconnecting', `${why}: ICE restart`);
    if (!(await this.peer.negotiate(true))) this.set('failed', `${why}; signaling is not connected`);
  }

  private set(state: GatewayState, detail: string): void {
    this._state = state;
    this.emit('state', { state, detail });
  }
}
