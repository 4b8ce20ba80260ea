// A real Chromium page acting as the app: it offers (recvonly cameras, sendrecv audio with its fake microphone),
// and SDP/ICE go straight between the page and the StreamerCore, with no signaling server in between.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { StreamerCore, ViewerOptions } from '../../src/core/streamer-core.js';
import type { ViewerSession } from '../../src/core/viewer-session.js';
import type { IceCandidateInit } from '../../src/transport/peer-session.js';
import { launchChromiumApp, type PageAssets } from '../../../../test/support/chromium.js';

export interface AppBrowser {
  browser: Browser;
  context: BrowserContext;
  origin: string;
  close(): Promise<void>;
}

export type { PageAssets };

/** Chromium with a fresh profile, and a loopback HTTP origin (getUserMedia needs a secure context). */
export async function launchAppBrowser(
  assets: PageAssets = {},
  extraArgs: string[] = [],
): Promise<AppBrowser> {
  const app = await launchChromiumApp({
    html: '<!doctype html><title>robostream test app</title>',
    assets,
    extraArgs,
  });
  return {
    browser: app.context.browser() as Browser,
    context: app.context,
    origin: app.origin,
    close: () => app.close(),
  };
}

export interface OfferShape {
  /** How many robot cameras the app asks for (recvonly video transceivers). */
  cameras: number;
  /** Send the fake microphone (sendrecv audio); else recvonly audio. */
  mic: boolean;
  /** Offer VP8 only (how an app that prefers VP8 asks for it). */
  preferVp8?: boolean;
  /** The microphone without the browser's own echo cancellation, noise suppression and gain control. */
  rawMic?: boolean;
}

export interface InboundVideo {
  mid: string;
  framesDecoded: number;
  /** Seconds summed over emitted frames (divide by jitterBufferEmittedCount). */
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  frameWidth: number;
  frameHeight: number;
  keyFramesDecoded: number;
  pliCount: number;
  packetsLost: number;
  codec: string;
}

export interface PageStats {
  video: InboundVideo[];
  audioPacketsReceived: number;
  audioCodec: string;
  connectionState: string;
}

declare global {
  interface Window {
    __pc: RTCPeerConnection;
    __pending: RTCIceCandidateInit[];
    __candidateOut(c: string): void;
  }
}

export class AppPage {
  private constructor(
    readonly page: Page,
    private readonly outgoing: IceCandidateInit[],
    private sink: ((c: IceCandidateInit) => void) | null,
  ) {}

  static async open(app: AppBrowser): Promise<AppPage> {
    const page = await app.context.newPage();
    await page.goto(app.origin);
    const outgoing: IceCandidateInit[] = [];
    const appPage = new AppPage(page, outgoing, null);
    await page.exposeFunction('__candidateOut', (json: string) => {
      const c = JSON.parse(json) as IceCandidateInit;
      if (appPage.sink) appPage.sink(c);
      else outgoing.push(c);
    });
    return appPage;
  }

  /** Builds the app's peer connection and returns its offer. */
  async offer(shape: OfferShape): Promise<string> {
    return this.page.evaluate(async (s) => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: [] });
      window.__pc = pc;
      window.__pending = [];
      pc.onicecandidate = (e) => {
        if (e.candidate) window.__candidateOut(JSON.stringify(e.candidate.toJSON()));
      };
      for (let i = 0; i < s.cameras; i++) {
        const t = pc.addTransceiver('video', { direction: 'recvonly' });
        if (s.preferVp8) {
          const codecs = RTCRtpReceiver.getCapabilities('video')?.codecs ?? [];
          t.setCodecPreferences(codecs.filter((c) => c.mimeType === 'video/VP8'));
        }
      }
      if (s.mic) {
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: s.rawMic
            ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false }
            : true,
        });
        const track = stream.getAudioTracks()[0];
        if (!track) throw new Error('no fake microphone');
        pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
      } else {
        pc.addTransceiver('audio', { direction: 'recvonly' });
      }
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription?.sdp ?? '';
    }, shape);
  }

  async acceptAnswer(sdp: string): Promise<void> {
    await this.page.evaluate(async (answer) => {
      await window.__pc.setRemoteDescription({ type: 'answer', sdp: answer });
      for (const c of window.__pending.splice(0)) await window.__pc.addIceCandidate(c);
    }, sdp);
  }

  async addCandidate(c: IceCandidateInit | null): Promise<void> {
    if (!c) return;
    await this.page.evaluate(async (cand) => {
      const init = {
        candidate: cand.candidate,
        sdpMid: cand.sdpMid ?? null,
        sdpMLineIndex: cand.sdpMLineIndex ?? null,
      };
      if (window.__pc.remoteDescription) await window.__pc.addIceCandidate(init);
      else window.__pending.push(init);
    }, c);
  }

  /** Sends the page's candidates (queued and future) to `sink`. */
  forwardCandidates(sink: (c: IceCandidateInit) => void): void {
    this.sink = sink;
    for (const c of this.outgoing.splice(0)) sink(c);
  }

  async stats(): Promise<PageStats> {
    return this.page.evaluate(async () => {
      const report = await window.__pc.getStats();
      const all: Record<string, unknown>[] = [];
      report.forEach((s: Record<string, unknown>) => all.push(s));
      // No named helper functions in here: tsx's esbuild wraps them in a __name() call the page does not have.
      const video = all
        .filter((s) => s.type === 'inbound-rtp' && s.kind === 'video')
        .map((s) => ({
          mid: String(s.mid ?? ''),
          framesDecoded: Number(s.framesDecoded ?? 0),
          frameWidth: Number(s.frameWidth ?? 0),
          frameHeight: Number(s.frameHeight ?? 0),
          keyFramesDecoded: Number(s.keyFramesDecoded ?? 0),
          pliCount: Number(s.pliCount ?? 0),
          packetsLost: Number(s.packetsLost ?? 0),
          jitterBufferDelay: Number(s.jitterBufferDelay ?? 0),
          jitterBufferEmittedCount: Number(s.jitterBufferEmittedCount ?? 0),
          codec: String(all.find((c) => c.id === s.codecId)?.mimeType ?? '').toLowerCase(),
        }));
      const audio = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio');
      return {
        video,
        audioPacketsReceived: Number(audio?.packetsReceived ?? 0),
        audioCodec: String(all.find((c) => c.id === audio?.codecId)?.mimeType ?? '').toLowerCase(),
        connectionState: window.__pc.connectionState,
      };
    });
  }

  async closePeer(): Promise<void> {
    await this.page.evaluate(() => window.__pc?.close());
  }

  async close(): Promise<void> {
    await this.page.close();
  }
}

/** The whole exchange a signaling layer would carry: offer -> openViewer -> answer, candidates both ways. */
export async function connectApp(
  core: StreamerCore,
  app: AppPage,
  shape: OfferShape,
  options: Omit<ViewerOptions, 'onIceCandidate'> = {},
): Promise<ViewerSession> {
  const offer = await app.offer(shape);
  const viewer = await core.openViewer(offer, {
    ...options,
    onIceCandidate: (c) => void app.addCandidate(c).catch(() => undefined),
  });
  app.forwardCandidates((c) => void viewer.addRemoteCandidate(c).catch(() => undefined));
  await app.acceptAnswer(viewer.answerSdp);
  return viewer;
}

/** Polls `probe` until `done` holds; fails with the last value after `timeoutMs` (a liveness bound, not a speed test). */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  done: (v: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await probe();
  }
  return last;
}
