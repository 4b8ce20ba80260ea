// One measured call through the simulated room (STREAMER_AUDIO_SOURCE kind `room`): a Chromium page whose fake
// microphone plays the far-end WAV talks to a StreamerCore; the robot's speaker output comes back into its
// microphone; the page records what it sent and what it got back, sample-aligned, and the levels are read.
// Shared by the echo test and the voice bench.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Page } from 'playwright-core';
import { loadConfig, type StreamerConfig } from '../../src/config.js';
import { StreamerCore } from '../../src/core/streamer-core.js';
import type { EncoderDetection } from '../../src/media/encoders.js';
import { AppPage, connectApp, launchAppBrowser, waitFor, type AppBrowser } from './chromium-app.js';
import {
  ANALYSIS_RATE,
  NEAR_END_FREQUENCY,
  echoCorrelation,
  envelope,
  farEndLines,
  farEndSignal,
  levels,
  writeWav,
  type Levels,
} from './voice-signals.js';

/** Chromium whose fake microphone loops the far-end signal. */
export async function launchFarEndBrowser(): Promise<AppBrowser> {
  const wav = join(mkdtempSync(join(tmpdir(), 'robostream-voice-')), 'far-end.wav');
  writeWav(wav, farEndSignal(8));
  return launchAppBrowser({}, [
    `--use-file-for-fake-audio-capture=${wav}`,
    '--autoplay-policy=no-user-gesture-required',
  ]);
}

/** What the page sent and received over `seconds`, at ANALYSIS_RATE, from one AudioContext (sample-aligned). */
async function record(page: Page, seconds: number): Promise<{ sent: Float32Array; received: Float32Array }> {
  const r = await page.evaluate(
    async ({ secs, rate }) => {
      const tr = window.__pc.getTransceivers().find((t) => t.receiver.track.kind === 'audio');
      const local = tr?.sender.track;
      const remote = tr?.receiver.track;
      if (!local || !remote) throw new Error('no audio both ways');
      // Chromium feeds a remote track to WebAudio only while a media element plays it too.
      const el = new Audio();
      el.muted = true;
      el.srcObject = new MediaStream([remote]);
      await el.play().catch(() => undefined);
      const ctx = new AudioContext({ sampleRate: 48000 });
      await ctx.resume();
      const merger = ctx.createChannelMerger(2);
      ctx.createMediaStreamSource(new MediaStream([local])).connect(merger, 0, 0);
      ctx.createMediaStreamSource(new MediaStream([remote])).connect(merger, 0, 1);
      const proc = ctx.createScriptProcessor(4096, 2, 1);
      const step = 48000 / rate;
      const sent: number[] = [];
      const received: number[] = [];
      await new Promise<void>((resolve) => {
        proc.onaudioprocess = (e) => {
          const a = e.inputBuffer.getChannelData(0);
          const b = e.inputBuffer.getChannelData(1);
          for (let i = 0; i < a.length; i += step) {
            sent.push(a[i] ?? 0);
            received.push(b[i] ?? 0);
          }
          if (sent.length >= secs * rate) resolve();
        };
        merger.connect(proc);
        proc.connect(ctx.destination);
      });
      proc.disconnect();
      await ctx.close();
      el.srcObject = null;
      return { sent, received };
    },
    { secs: seconds, rate: ANALYSIS_RATE },
  );
  return { sent: Float32Array.from(r.sent), received: Float32Array.from(r.received) };
}

export interface CallResult {
  sent: Levels;
  received: Levels;
  /**
   * How alike the envelopes of the sent audio and of the far end's lines in the received audio are, at the best
   * delay (the whole round trip, the page's playout and recording included).
   */
  echo: { lagMs: number; coefficient: number };
  /** Microphone buffers the robot decoded from the page, and voice-activity decisions it made. */
  robotDecoded: number;
  voiceChanges: number;
  /** The streamer process's CPU (all threads, GStreamer's included) over the recording, percent of one core. */
  cpuPct: number;
  /** What was analysed, at ANALYSIS_RATE. */
  samples: { sent: Float32Array; received: Float32Array };
}

export const ROOM_SOURCE = { kind: 'room', nearEndFrequency: NEAR_END_FREQUENCY } as const;

/**
 * One call: the page connects, the canceller gets `settleS` to converge, then `seconds` are recorded.
 * `overrides` sets the voice settings under test.
 */
export async function measureCall(o: {
  browser: AppBrowser;
  encoders: EncoderDetection;
  log: Logger;
  overrides: Partial<StreamerConfig>;
  settleS?: number;
  seconds?: number;
}): Promise<CallResult> {
  const config = loadConfig(
    {},
    {
      videoSources: [],
      audioSource: ROOM_SOURCE,
      audioSink: 'counting',
      videoSink: 'counting',
      lingerMs: 200,
      ...o.overrides,
    },
  );
  const core = await StreamerCore.start(config, { log: o.log, encoders: o.encoders });
  const page = await AppPage.open(o.browser);
  try {
    await connectApp(core, page, { cameras: 0, mic: true, rawMic: true });
    await waitFor(
      () => core.introspect().sinks.find((s) => s.kind === 'audio')?.decodedBuffers ?? 0,
      (n) => n > 25,
      "the page's microphone decoded on the robot",
    );
    await waitFor(
      () => page.stats(),
      (s) => s.audioPacketsReceived > 25,
      'robot audio at the page',
    );
    await new Promise((r) => setTimeout(r, (o.settleS ?? 6) * 1000));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { sent, received } = await record(page.page, o.seconds ?? 10);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    const snap = core.introspect();
    return {
      sent: levels(sent),
      received: levels(received),
      echo: echoCorrelation(envelope(sent), envelope(farEndLines(received))),
      robotDecoded: snap.sinks.find((s) => s.kind === 'audio')?.decodedBuffers ?? 0,
      voiceChanges: snap.voice.changes,
      cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      samples: { sent, received },
    };
  } finally {
    await page.close();
    await core.close();
  }
}
