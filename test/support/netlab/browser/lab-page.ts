// Runs IN CHROMIUM (bundled by esbuild, see ../lab-browser.ts). The app end of the lab:
// - viewRobot(): the web app's own MediaSession (services/web/src) on the cloud signaling service, replaced by a
//   new session when it fails or closes, as the robot view does (so the page never reloads);
// - a baseline: a Chromium sender (a canvas with the same flash) and a Chromium receiver, with Chromium's own
//   congestion control, negotiated through the controller (so the baseline's signaling is not on the path);
// - a sampler: getStats every 250 ms for the inbound video, and requestVideoFrameCallback on every displayed frame
//   (its expected display time, and the flash level it shows, for freezes; glass-to-glass is timed outside the
//   page, by the compositor's swap: ../../screen-watch.ts).
import { SignalingClient } from '@robostream/protocol/client';
import { MediaSession } from '@robostream/web/media-session';
import { FLASH_LEVELS_LUMA, flashCss, flashLevel } from '../flash-levels.js';

export interface StatsSample {
  atEpochMs: number;
  /** Which peer connection of this page (a new session or baseline restart makes a new one). */
  pc: number;
  connectionState: string;
  framesDecoded: number;
  framesPerSecond: number;
  bytesReceived: number;
  totalFreezesDuration: number;
  freezeCount: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  nackCount: number;
  pliCount: number;
  packetsLost: number;
  packetsReceived: number;
  rttMs: number | null;
}

export interface FlashSeen {
  level: number;
  atEpochMs: number;
}

export interface Flip {
  level: number;
  atEpochMs: number;
}

export interface PageResults {
  samples: StatsSample[];
  /** Expected display time (epoch ms) of every frame the compositor was about to show. */
  frames: number[];
  /** Each change of level as requestVideoFrameCallback reported it (expectedDisplayTime: Chromium's estimate). */
  seen: FlashSeen[];
  /**
   * Each change of level at the time the compositor swapped it (from the controller's screen watch, filled in
   * outside the page; absent when none ran). Glass-to-glass is measured from this when present.
   */
  shown?: FlashSeen[];
  /** The baseline sender's flips (empty on a receiving page). */
  flips: Flip[];
  /** Media sessions opened (1 = the session survived everything). */
  sessionsOpened: number;
  /** ICE restarts done by this page (MediaSession's or the baseline receiver's). */
  iceRestarts: number;
  states: { atEpochMs: number; state: string; detail: string }[];
  codec: string;
}

export type LabSignal =
  { kind: 'offer' | 'answer'; sdp: string } | { kind: 'candidate'; candidate: RTCIceCandidateInit | null };

declare global {
  interface Window {
    /** Exposed by the controller: carries baseline signaling to the other page. */
    __labSignal(json: string): Promise<void>;
  }
}

const epoch = (): number => performance.timeOrigin + performance.now();

// Every peer connection the page makes, in order: the sampler follows the newest one.
const peers: RTCPeerConnection[] = [];
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = class extends Native {
  constructor(config?: RTCConfiguration) {
    super(config);
    peers.push(this);
  }
} as typeof RTCPeerConnection;

class LabPage {
  private results: PageResults = {
    samples: [],
    frames: [],
    seen: [],
    flips: [],
    sessionsOpened: 0,
    iceRestarts: 0,
    states: [],
    codec: '',
  };
  private video: HTMLVideoElement | null = null;
  private sampler: ReturnType<typeof setInterval> | undefined;
  private session: MediaSession | null = null;
  private reopenAttempts = 0;
  private baselinePc: RTCPeerConnection | null = null;
  private pendingCandidates: RTCIceCandidateInit[] = [];

  /** The robot's picture through the web app's MediaSession, on the cloud signaling service. */
  async viewRobot(signalingUrl: string, token: string, robotId: string): Promise<void> {
    const client = new SignalingClient({
      url: signalingUrl,
      token,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    });
    await client.connect();
    this.openSession(client, robotId);
  }

  private openSession(client: SignalingClient, robotId: string): void {
    this.session?.close('reopening');
    const session = new MediaSession({ client, robotId, cameras: ['front'], offerCamera: false });
    this.session = session;
    this.results.sessionsOpened++;
    session.on('state', ({ state, detail }) => {
      this.results.states.push({ atEpochMs: epoch(), state, detail });
      if (/ICE restart/.test(detail)) this.results.iceRestarts++;
      if (this.session !== session) return;
      if (state === 'connected') this.reopenAttempts = 0;
      // As services/web/src/views/robot-view.ts: a failed or closed session is replaced, 1 s doubling to 15 s.
      else if (state === 'failed' || state === 'closed') {
        const delayMs = Math.min(15_000, 1000 * 2 ** this.reopenAttempts++);
        setTimeout(() => this.session === session && this.openSession(client, robotId), delayMs);
      }
    });
    session.on('video', ({ stream }) => void this.show(stream));
    void session.start();
  }

  /** Baseline receiver: offers recvonly video (H.264 first, as the robot sends H.264), restarts ICE like the app. */
  async baselineOffer(): Promise<string> {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.baselinePc = pc;
    const t = pc.addTransceiver('video', { direction: 'recvonly' });
    const codecs = RTCRtpReceiver.getCapabilities('video')?.codecs ?? [];
    const h264 = codecs.filter((c) => c.mimeType.toLowerCase() === 'video/h264');
    if (h264.length > 0) t.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
    pc.ontrack = (e) => void this.show(new MediaStream([e.track]));
    this.forwardCandidates(pc);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const restart = async (): Promise<void> => {
      this.results.iceRestarts++;
      this.results.states.push({ atEpochMs: epoch(), state: 'reconnecting', detail: 'ICE restart' });
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      await window.__labSignal(JSON.stringify({ kind: 'offer', sdp: pc.localDescription?.sdp ?? '' }));
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      this.results.states.push({ atEpochMs: epoch(), state: s, detail: 'baseline' });
      clearTimeout(timer);
      if (s === 'disconnected') timer = setTimeout(() => void restart(), 2000);
      else if (s === 'failed') void restart();
    };
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription?.sdp ?? '';
  }

  /** Baseline sender: a 1280x720@30 canvas with the flash levels and a textured bar sweeping across. */
  async baselineAnswer(offer: string, maxKbps: number): Promise<string> {
    const canvas = document.createElement('canvas');
    canvas.width = 1280;
    canvas.height = 720;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    // Noise on the moving bar: the encoder must spend bits as on a camera's picture, not on a flat field.
    const bar = ctx.createImageData(320, 720);
    for (let i = 0; i < bar.data.length; i += 4) {
      const v = 128 + Math.floor(Math.random() * 127);
      bar.data[i] = bar.data[i + 1] = bar.data[i + 2] = v;
      bar.data[i + 3] = 255;
    }
    let level = 0;
    // The flips run on their own timer, as the robot agent's do: an event at any moment shows in the next frame
    // drawn (0-33 ms later at 30 fps), as for a camera. Flipping inside the draw would spare the baseline that
    // frame interval (16.7 ms on average) and compare a canvas with a camera.
    const flip = (): void => {
      level = (level + 1) % FLASH_LEVELS_LUMA.length;
      this.results.flips.push({ level, atEpochMs: epoch() });
      setTimeout(flip, 350 + Math.random() * 300);
    };
    setTimeout(flip, 500);
    const start = performance.now();
    setInterval(() => {
      ctx.fillStyle = flashCss(level);
      ctx.fillRect(0, 0, 1280, 720);
      const x = Math.floor(((performance.now() - start) / 1000) * 1280) % 1600;
      ctx.putImageData(bar, x - 320, 0);
    }, 1000 / 30);
    const track = canvas.captureStream(30).getVideoTracks()[0];
    if (!track) throw new Error('no canvas track');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.baselinePc = pc;
    this.forwardCandidates(pc);
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    const t = pc.getTransceivers()[0];
    if (!t) throw new Error('the offer has no video');
    await t.sender.replaceTrack(track);
    t.direction = 'sendonly';
    await pc.setLocalDescription(await pc.createAnswer());
    const params = t.sender.getParameters();
    for (const e of params.encodings) e.maxBitrate = maxKbps * 1000;
    await t.sender.setParameters(params);
    return pc.localDescription?.sdp ?? '';
  }

  /** A baseline message from the other page (through the controller). */
  async onSignal(msg: LabSignal): Promise<void> {
    const pc = this.baselinePc;
    if (!pc) return;
    if (msg.kind === 'candidate') {
      if (!msg.candidate) return;
      if (pc.remoteDescription && pc.signalingState === 'stable') await pc.addIceCandidate(msg.candidate);
      else this.pendingCandidates.push(msg.candidate);
      return;
    }
    await pc.setRemoteDescription({ type: msg.kind, sdp: msg.sdp });
    if (msg.kind === 'offer') {
      await pc.setLocalDescription(await pc.createAnswer());
      await window.__labSignal(JSON.stringify({ kind: 'answer', sdp: pc.localDescription?.sdp ?? '' }));
    }
    for (const c of this.pendingCandidates.splice(0)) await pc.addIceCandidate(c).catch(() => undefined);
  }

  private forwardCandidates(pc: RTCPeerConnection): void {
    pc.onicecandidate = (e) =>
      void window.__labSignal(
        JSON.stringify({ kind: 'candidate', candidate: e.candidate?.toJSON() ?? null }),
      );
  }

  /** Plays a received stream and watches every frame it displays. */
  private async show(stream: MediaStream): Promise<void> {
    let video = this.video;
    if (!video) {
      video = document.createElement('video');
      video.muted = true;
      video.playsInline = true;
      document.body.append(video);
      this.video = video;
      this.watchFrames(video);
    }
    video.srcObject = stream;
    await video.play().catch(() => undefined);
  }

  private watchFrames(video: HTMLVideoElement): void {
    // 5 x 3 points across the picture; the median ignores the moving bar (it covers two columns at most).
    const canvas = document.createElement('canvas');
    canvas.width = 40;
    canvas.height = 24;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d context');
    let last = -1;
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata): void => {
      const at = performance.timeOrigin + meta.expectedDisplayTime;
      this.results.frames.push(at);
      ctx.drawImage(video, 0, 0, 40, 24);
      const px = ctx.getImageData(0, 0, 40, 24).data;
      const lumas: number[] = [];
      for (let j = 0; j < 3; j++)
        for (let i = 0; i < 5; i++) {
          const o = ((j * 8 + 4) * 40 + (i * 8 + 4)) * 4;
          lumas.push(0.299 * (px[o] ?? 0) + 0.587 * (px[o + 1] ?? 0) + 0.114 * (px[o + 2] ?? 0));
        }
      lumas.sort((a, b) => a - b);
      const level = flashLevel(lumas[7] ?? 0);
      if (level !== last) {
        this.results.seen.push({ level, atEpochMs: at });
        last = level;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  startSampler(): void {
    clearInterval(this.sampler);
    this.sampler = setInterval(() => void this.sample(), 250);
  }

  private async sample(): Promise<void> {
    const pc = peers.at(-1);
    if (!pc) return;
    const all: Record<string, unknown>[] = [];
    (await pc.getStats()).forEach((s: Record<string, unknown>) => all.push(s));
    const v = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    if (!v) return;
    const n = (k: string): number => (typeof v[k] === 'number' ? (v[k] as number) : 0);
    const pair = all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
    const codec = all.find((s) => s.id === v.codecId);
    if (codec) this.results.codec = String(codec.mimeType ?? '');
    this.results.samples.push({
      atEpochMs: epoch(),
      pc: peers.indexOf(pc),
      connectionState: pc.connectionState,
      framesDecoded: n('framesDecoded'),
      framesPerSecond: n('framesPerSecond'),
      bytesReceived: n('bytesReceived'),
      totalFreezesDuration: n('totalFreezesDuration'),
      freezeCount: n('freezeCount'),
      jitterBufferDelay: n('jitterBufferDelay'),
      jitterBufferEmittedCount: n('jitterBufferEmittedCount'),
      nackCount: n('nackCount'),
      pliCount: n('pliCount'),
      packetsLost: n('packetsLost'),
      packetsReceived: n('packetsReceived'),
      rttMs: typeof pair?.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null,
    });
  }

  /** What the page recorded so far; `since` drops what came before (epoch ms). */
  collect(since = 0): PageResults {
    const r = this.results;
    return {
      ...r,
      samples: r.samples.filter((s) => s.atEpochMs >= since),
      frames: r.frames.filter((t) => t >= since),
      seen: r.seen,
      flips: r.flips,
    };
  }

  framesSince(atEpochMs: number): number {
    return this.results.frames.filter((t) => t > atEpochMs).length;
  }

  close(): void {
    clearInterval(this.sampler);
    // Detached first: the session's 'closed' state would otherwise schedule a replacement (a viewer that leaves
    // would come back a second later).
    const session = this.session;
    this.session = null;
    session?.close('lab done');
    this.baselinePc?.close();
  }
}

(globalThis as unknown as { lab: LabPage }).lab = new LabPage();
