/**
 * Runs IN THE BROWSER (bundled with esbuild, loaded into a Chromium page): an app reaching a robot's gateway
 * exactly as the contract says, with the project's own SignalingClient: open a `gateway` session, create the two
 * data channels before the offer, offer, trickle, then speak the gateway envelope over the channels. Large
 * messages go through the protocol's LargeMessageLink, as in the console: chunks joined on arrival, big
 * commands sent as paced chunks on the reliable channel.
 */
import { SignalingClient } from '@robostream/protocol/client';
import { LargeMessageLink, type ChunkFrame } from '@robostream/protocol/gateway';

export interface BrowserAppOptions {
  signalingUrl: string;
  /** App token for signaling (and, by default, for the gateway's auth). */
  token: string;
  robotId: string;
  /** iceTransportPolicy 'relay': TURN only. */
  relayOnly?: boolean;
}

export interface Received {
  label: string;
  msg: { type: string; [k: string]: unknown };
}

/** One command round trip timed in the page while driving (`at`: when the reply came, page clock). */
export interface RoundTripSample {
  at: number;
  ms: number;
}

export class BrowserGatewayApp {
  readonly received: Received[] = [];
  /** Messages that carried a batch (a JSON array) of frames. */
  batches = 0;
  /** Chunk frames received (of large messages). */
  chunksIn = 0;
  /** Large messages the link could not join. */
  readonly dropped: string[] = [];
  sessionClosed: string | null = null;
  readonly large: LargeMessageLink;
  /** Command round trips while driving (see drive()). */
  readonly roundTrips: RoundTripSample[] = [];
  private driving: ReturnType<typeof setInterval> | undefined;
  private readonly commandSentAt = new Map<string, number>();
  private constructor(
    readonly signaling: SignalingClient,
    readonly sessionId: string,
    readonly pc: RTCPeerConnection,
    readonly reliable: RTCDataChannel,
    readonly lossy: RTCDataChannel,
  ) {
    this.large = new LargeMessageLink({
      sink: {
        send: (frame) => reliable.send(frame),
        bufferedAmount: () => reliable.bufferedAmount,
        isOpen: () => reliable.readyState === 'open',
      },
      onDropped: (id, code, message) => this.dropped.push(`${id} ${code} ${message}`),
    });
    reliable.bufferedAmountLowThreshold = 16 * 1024;
    reliable.addEventListener('bufferedamountlow', () => this.large.pump());
  }

  static async open(o: BrowserAppOptions): Promise<BrowserGatewayApp> {
    const signaling = new SignalingClient({
      url: o.signalingUrl,
      token: o.token,
      reconnect: false,
      requestTimeoutMs: 10_000,
    });
    await signaling.connect();
    const sessionId = await signaling.openSession(o.robotId, 'gateway');
    const pc = new RTCPeerConnection({
      iceServers: signaling.iceServers,
      bundlePolicy: 'max-bundle',
      iceTransportPolicy: o.relayOnly ? 'relay' : 'all',
    });
    // Both channels before createOffer (the contract): one SCTP association, one application m-line.
    const reliable = pc.createDataChannel('gateway-reliable', { ordered: true });
    const lossy = pc.createDataChannel('gateway-lossy', { ordered: false, maxRetransmits: 0 });
    const app = new BrowserGatewayApp(signaling, sessionId, pc, reliable, lossy);
    for (const dc of [reliable, lossy]) {
      // A message is one frame or a batch (a JSON array) of them.
      dc.onmessage = (ev: MessageEvent) => {
        const parsed = JSON.parse(String(ev.data)) as Received['msg'] | Received['msg'][];
        if (Array.isArray(parsed)) app.batches++;
        for (const msg of [parsed].flat()) {
          if (msg.type !== 'chunk') {
            app.take({ label: dc.label, msg });
            continue;
          }
          app.chunksIn++;
          const whole = app.large.receive(msg as unknown as ChunkFrame);
          if (whole !== null) app.take({ label: dc.label, msg: JSON.parse(whole) as Received['msg'] });
        }
      };
    }

    const pending: RTCIceCandidateInit[] = [];
    let haveAnswer = false;
    pc.onicecandidate = (ev) => {
      if (ev.candidate) {
        const c = ev.candidate.toJSON();
        signaling.sendCandidate(sessionId, {
          candidate: c.candidate ?? '',
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
        });
      } else signaling.sendEndOfCandidates(sessionId);
    };
    signaling.on('answer', (m) => {
      if (m.sessionId !== sessionId) return;
      void pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).then(async () => {
        haveAnswer = true;
        for (const c of pending.splice(0)) await pc.addIceCandidate(c);
      });
    });
    signaling.on('candidate', (m) => {
      if (m.sessionId !== sessionId) return;
      const c: RTCIceCandidateInit = {
        candidate: m.candidate.candidate,
        sdpMid: m.candidate.sdpMid ?? null,
        sdpMLineIndex: m.candidate.sdpMLineIndex ?? null,
      };
      if (haveAnswer) void pc.addIceCandidate(c);
      else pending.push(c);
    });
    signaling.on('session_closed', (m) => {
      if (m.sessionId === sessionId) app.sessionClosed = m.reason;
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    signaling.sendOffer(sessionId, pc.localDescription?.sdp ?? offer.sdp ?? '');
    await Promise.all([opened(reliable), opened(lossy)]);
    return app;
  }

  private take(r: Received): void {
    this.received.push(r);
    const m = r.msg;
    // The gateway refused one of our transfers: stop sending the rest of it.
    if (m.type === 'error' && typeof m['ref'] === 'string') this.large.cancel(m['ref']);
    if (m.type === 'reply' && typeof m['ref'] === 'string') {
      const at = this.commandSentAt.get(m['ref']);
      if (at !== undefined) this.roundTrips.push({ at: performance.now(), ms: performance.now() - at });
    }
  }

  /**
   * Operates `service` at 20 Hz as the console does: a command (reliable; its round trip is timed) and a
   * velocity (lossy) every 50 ms, until stopDriving().
   */
  drive(service: string): void {
    let seq = 0;
    this.driving = setInterval(() => {
      const id = `d${seq}`;
      this.commandSentAt.set(id, performance.now());
      this.send({ v: 1, type: 'command', id, service, payload: { seq } });
      this.send({ v: 1, type: 'velocity', service, seq, sentAt: Date.now(), linear: 0.3, angular: 0 }, true);
      seq++;
    }, 50);
  }

  stopDriving(): void {
    clearInterval(this.driving);
  }

  /** SHA-256 of a value's JSON text, hex (compared with the Node side's). */
  static async digest(value: unknown): Promise<string> {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    return Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  /** Sends one envelope on the reliable channel (or the lossy one). */
  send(msg: object, lossy = false): void {
    (lossy ? this.lossy : this.reliable).send(JSON.stringify(msg));
  }

  /** Authenticates the link with an app token (the first frame on the reliable channel); resolves with `welcome`. */
  authenticate(token: string): Promise<Received> {
    this.send({ v: 1, type: 'auth', token });
    return this.next('welcome');
  }

  /** Sends a command of any size on the reliable channel: a large one as paced chunks. Resolves once sent. */
  async sendCommand(msg: { id: string; service: string; [k: string]: unknown }): Promise<boolean> {
    return this.large.send(JSON.stringify(msg), msg.id, msg.service);
  }

  /** The first received message of `type` matching all of `fields`, waiting for it. */
  async next(type: string, fields: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.received.find(
        (x) => x.msg.type === type && Object.entries(fields).every(([k, v]) => x.msg[k] === v),
      );
      if (r) return r;
      if (Date.now() > deadline)
        throw new Error(
          `no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.received).slice(0, 600)}`,
        );
      await new Promise((res) => setTimeout(res, 10));
    }
  }

  /** Candidate types of the selected pair, from Chromium's own stats. */
  async selectedPair(): Promise<{ local: string; remote: string; localProtocol: string } | null> {
    const stats = await this.pc.getStats();
    let pairId: string | undefined;
    stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    if (!pairId) return null;
    const pair = stats.get(pairId) as { localCandidateId: string; remoteCandidateId: string };
    const local = stats.get(pair.localCandidateId) as { candidateType: string; relayProtocol?: string };
    const remote = stats.get(pair.remoteCandidateId) as { candidateType: string };
    return {
      local: local.candidateType,
      remote: remote.candidateType,
      localProtocol: local.relayProtocol ?? '',
    };
  }

  close(): void {
    this.reliable.close();
    this.lossy.close();
    this.pc.close();
    this.signaling.closeSession(this.sessionId, 'bye');
    this.signaling.close();
  }
}

function opened(dc: RTCDataChannel): Promise<void> {
  if (dc.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    dc.addEventListener('open', () => resolve(), { once: true });
    dc.addEventListener('close', () => reject(new Error(`${dc.label} closed before opening`)), {
      once: true,
    });
  });
}

declare global {
  interface Window {
    BrowserGatewayApp: typeof BrowserGatewayApp;
    apps: Record<string, BrowserGatewayApp>;
  }
}
window.BrowserGatewayApp = BrowserGatewayApp;
window.apps = {};
