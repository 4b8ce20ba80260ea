/**
 * Runs IN THE BROWSER (bundled with esbuild, loaded into a Chromium page): an app reaching a robot's gateway
 * exactly as the contract says, with the project's own SignalingClient: open a `gateway` session, create the two
 * data channels before the offer, offer, trickle, then speak the gateway envelope over the channels.
 */
import { SignalingClient } from '@robostream/protocol/client';

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

export class BrowserGatewayApp {
  readonly received: Received[] = [];
  /** Messages that carried a batch (a JSON array) of frames. */
  batches = 0;
  sessionClosed: string | null = null;
  private constructor(
    readonly signaling: SignalingClient,
    readonly sessionId: string,
    readonly pc: RTCPeerConnection,
    readonly reliable: RTCDataChannel,
    readonly lossy: RTCDataChannel,
  ) {}

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
        for (const msg of [parsed].flat()) app.received.push({ label: dc.label, msg });
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

  /** Sends one envelope on the reliable channel (or the lossy one). */
  send(msg: object, lossy = false): void {
    (lossy ? this.lossy : this.reliable).send(JSON.stringify(msg));
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
