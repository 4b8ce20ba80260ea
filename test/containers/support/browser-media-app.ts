/**
 * Runs IN THE BROWSER (bundled by esbuild, loaded into a Chromium page): an app watching a robot's `media`
 * endpoint exactly as the contract says, with the project's own SignalingClient: open a session, offer
 * (recvonly camera, sendrecv microphone), trickle, answer ICE restarts. The signaling client reconnects by
 * itself; the peer connection does not depend on it once connected.
 */
import { SignalingClient } from '@robostream/protocol/client';

export interface MediaAppOptions {
  /** ws://host:port/v1/ws */
  signalingUrl: string;
  token: string;
  robotId: string;
  /** iceTransportPolicy 'relay': every packet goes through TURN. */
  relayOnly: boolean;
}

export interface MediaAppStats {
  framesDecoded: number;
  frameWidth: number;
  audioPacketsReceived: number;
  connectionState: string;
  /** Candidate types of the selected pair, e.g. 'relay/host'. */
  candidatePair: string;
  signalingState: string;
  /** instanceId of every welcome received, in order (one per (re)connect). */
  welcomes: string[];
  sessionClosed: string | null;
}

export class MediaApp {
  private readonly welcomes: string[] = [];
  private sessionClosed: string | null = null;
  private pc: RTCPeerConnection | null = null;
  private sessionId = '';

  private constructor(
    private readonly signaling: SignalingClient,
    private readonly o: MediaAppOptions,
  ) {}

  static async start(o: MediaAppOptions): Promise<MediaApp> {
    const signaling = new SignalingClient({
      url: o.signalingUrl,
      token: o.token,
      // Reconnect quickly: the failover test waits for it.
      reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
      requestTimeoutMs: 10_000,
    });
    const app = new MediaApp(signaling, o);
    signaling.on('welcome', (w) => app.welcomes.push(w.instanceId));
    const first = await signaling.connect();
    if (app.welcomes.length === 0) app.welcomes.push(first.instanceId);
    await app.open();
    return app;
  }

  private async open(): Promise<void> {
    const { signaling, o } = this;
    const sessionId = await signaling.openSession(o.robotId, 'media', { cameras: 'front' });
    this.sessionId = sessionId;
    const pc = new RTCPeerConnection({
      iceServers: signaling.iceServers,
      bundlePolicy: 'max-bundle',
      iceTransportPolicy: o.relayOnly ? 'relay' : 'all',
    });
    this.pc = pc;
    const pending: RTCIceCandidateInit[] = [];
    pc.onicecandidate = (e) => {
      if (e.candidate) {
        const c = e.candidate.toJSON();
        signaling.sendCandidate(sessionId, {
          candidate: c.candidate ?? '',
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
        });
      } else {
        signaling.sendEndOfCandidates(sessionId);
      }
    };
    signaling.on('answer', (m) => {
      if (m.sessionId !== sessionId) return;
      void pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }).then(async () => {
        for (const c of pending.splice(0)) await pc.addIceCandidate(c);
      });
    });
    signaling.on('candidate', (m) => {
      if (m.sessionId !== sessionId) return;
      const init: RTCIceCandidateInit = {
        candidate: m.candidate.candidate,
        sdpMid: m.candidate.sdpMid ?? null,
        sdpMLineIndex: m.candidate.sdpMLineIndex ?? null,
      };
      if (pc.remoteDescription) void pc.addIceCandidate(init).catch(() => undefined);
      else pending.push(init);
    });
    signaling.on('ice_restart', (m) => {
      if (m.sessionId !== sessionId) return;
      void pc
        .createOffer({ iceRestart: true })
        .then((offer) => pc.setLocalDescription(offer))
        .then(() => signaling.sendOffer(sessionId, pc.localDescription?.sdp ?? ''));
    });
    signaling.on('session_closed', (m) => {
      if (m.sessionId === sessionId) this.sessionClosed = m.reason ?? 'closed';
    });

    pc.addTransceiver('video', { direction: 'recvonly' });
    // The fake microphone (--use-fake-device-for-media-stream): a beep the robot decodes.
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    const track = mic.getAudioTracks()[0];
    if (!track) throw new Error('no fake microphone');
    pc.addTransceiver(track, { direction: 'sendrecv', streams: [mic] });
    await pc.setLocalDescription(await pc.createOffer());
    signaling.sendOffer(sessionId, pc.localDescription?.sdp ?? '');
  }

  async stats(): Promise<MediaAppStats> {
    const pc = this.pc;
    const all: Record<string, unknown>[] = [];
    if (pc) (await pc.getStats()).forEach((s: Record<string, unknown>) => all.push(s));
    const video = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    const audio = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
    const transport = all.find((s) => s.type === 'transport');
    const pair = all.find((s) => s.id === transport?.selectedCandidatePairId);
    const local = all.find((s) => s.id === pair?.localCandidateId);
    const remote = all.find((s) => s.id === pair?.remoteCandidateId);
    return {
      framesDecoded: Number(video?.framesDecoded ?? 0),
      frameWidth: Number(video?.frameWidth ?? 0),
      audioPacketsReceived: Number(audio?.packetsReceived ?? 0),
      connectionState: pc?.connectionState ?? 'none',
      candidatePair: `${String(local?.candidateType ?? '?')}/${String(remote?.candidateType ?? '?')}`,
      signalingState: this.signaling.state,
      welcomes: [...this.welcomes],
      sessionClosed: this.sessionClosed,
    };
  }

  close(): void {
    this.signaling.closeSession(this.sessionId, 'done');
    this.pc?.close();
    this.signaling.close();
  }
}

declare global {
  interface Window {
    MediaApp: typeof MediaApp;
    mediaApp: MediaApp | undefined;
  }
}
window.MediaApp = MediaApp;
