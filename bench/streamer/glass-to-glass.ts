// Glass-to-glass latency: the robot switches its picture between dark and bright at a moment it stamps on the
// machine clock; Chromium, on the same machine, swaps the first composited frame showing the change (the swap
// time comes from the DevTools screencast, test/support/screen-watch.ts; requestVideoFrameCallback's
// expectedDisplayTime is printed too, but it reads one vsync late for this stream). The difference covers what a
// camera-to-screen latency covers after the sensor: waiting for the next captured frame (up to one frame
// interval, 33 ms at 30 fps), encode, packetize, werift, the network (loopback here), Chromium's jitter buffer,
// decode and compositing. Direct mode, host candidates, 1280x720@30, H.264 (x264) and VP8, FLIPS flips each
// (default 60). Baseline in the same process: the same flips seen at the source's own output (the flash source
// ! appsink, no encode, no network): a flip shows in the next captured frame, 0-33 ms later, as with a camera.
// What the product adds is the difference of the two medians. Both carry that uniform 0-33 ms wait, so a median of
// 40 flips moves by a few ms from run to run on its own: the baseline takes 3 x FLIPS flips (it needs only short
// gaps) and the stream FLIPS, at gaps just long enough for the slowest frame to reach the screen, spread over
// SEGMENTS sessions (default 4) so that they fall on several phases of the display's refresh (see SEGMENTS).
// Run: npm run bench -- streamer/glass-to-glass (STREAMER_PLAYOUT_DELAY_MAX_MS=100 or -1 to compare bounds)
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadConfig } from '../../services/streamer/src/config.js';
import { detectEncoders } from '../../services/streamer/src/media/encoders.js';
import type { GstAppSink } from '../../services/streamer/src/media/gst-native.js';
import { parseLaunch } from '../../services/streamer/src/media/gst-native.js';
import { FLASH_ELEMENT, setFlash, videoSourceFragment } from '../../services/streamer/src/media/sources.js';
import { loadServiceConfig } from '../../services/streamer/src/service-config.js';
import { startStreamerService } from '../../services/streamer/src/streamer-service.js';
import { loopbackServiceEnv } from '../../services/streamer/test/support/service-env.js';
import { freeUdpPort } from '../../test/support/coturn.js';
import { MediaAppPage, launchMediaAppBrowser } from '../../services/streamer/test/support/signaling-page.js';
import { eventually } from '../../test/support/signaling.js';
import { ScreenWatch, medianLuma } from '../../test/support/screen-watch.js';
import { TestKeys } from '../../test/support/tokens.js';
import { summarize } from '../support/stats.js';

const FLIPS = Number(process.env.FLIPS ?? 60);
const ROBOT = 'bench-robot';
const FLASH_SOURCE = {
  id: 'front',
  kind: 'test',
  pattern: 'flash',
  width: 1280,
  height: 720,
  framerate: 30,
} as const;

/** Irregular gaps, so the flips do not lock to the 30 fps capture clock; longer than the slowest flip's way. */
const gap = (): Promise<void> => sleep(250 + Math.random() * 200);
/** The source alone shows a flip within one frame interval. */
const baselineGap = (): Promise<void> => sleep(100 + Math.random() * 100);
const BASELINE_FLIPS = 3 * FLIPS;
/**
 * The stream's flips in this many sessions, each with a new capture pipeline: the capture clock and Chromium's
 * 60 Hz compositor keep one phase for a pipeline's life, so one pipeline's flips all wait about as long for the
 * swap (per run, last packet -> swap p50 was anywhere from 5 to 17 ms). Segments average over phases.
 */
const SEGMENTS = Number(process.env.SEGMENTS ?? 4);
const FLIPS_PER_SEGMENT = Math.ceil(FLIPS / SEGMENTS);

/** Flip -> first frame out of the source fragment itself, BASELINE_FLIPS times. */
async function sourceBaseline(): Promise<number[]> {
  const pipeline = parseLaunch(`${videoSourceFragment(FLASH_SOURCE)} ! appsink name=out sync=false`);
  pipeline.play();
  const element = pipeline.findChild(FLASH_ELEMENT);
  const sink = pipeline.findChild('out') as GstAppSink;
  let pending: { bright: boolean; at: number; resolve: (ms: number) => void } | null = null;
  let running = true;
  const pull = (): void =>
    sink.pull((buf) => {
      if (!buf || !running) return;
      // I420: the first byte is the top-left pixel's luma.
      if (pending && buf[0]! > 128 === pending.bright) {
        pending.resolve(performance.now() - pending.at);
        pending = null;
      }
      pull();
    });
  pull();
  const out: number[] = [];
  await sleep(500);
  for (let i = 0; i < BASELINE_FLIPS; i++) {
    const bright = i % 2 === 0;
    const seen = new Promise<number>((resolve) => (pending = { bright, at: performance.now(), resolve }));
    setFlash(element, bright);
    out.push(await seen);
    await baselineGap();
  }
  running = false;
  pipeline.stop();
  return out;
}

const describe = (latencies: number[]): string => {
  const s = summarize(latencies);
  return `p50 ${s.p50.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms, min ${Math.min(...latencies).toFixed(1)}, max ${s.max.toFixed(1)} (n=${s.n})`;
};

async function main(): Promise<void> {
  const keys = new TestKeys();
  const directPort = await freeUdpPort();
  const streamer = await startStreamerService(
    loadServiceConfig(await loopbackServiceEnv(keys, ROBOT, { directPort })),
    loadConfig(
      // The one setting that changes Chromium's display path (docs/streamer.md, Playout delay), to compare.
      { STREAMER_PLAYOUT_DELAY_MAX_MS: process.env.STREAMER_PLAYOUT_DELAY_MAX_MS },
      {
        videoSources: [
          { id: 'front', kind: 'test', pattern: 'flash', width: 1280, height: 720, framerate: 30 },
        ],
        audioSource: { kind: 'none' },
        audioSink: 'none',
        videoSink: 'none',
        iceIncludeLoopback: true,
        // Each segment's pipeline stops with its viewer (see SEGMENTS).
        lingerMs: 0,
      },
    ),
    { log: pino({ level: 'warn' }), encoders: await detectEncoders('auto'), defaultMetrics: false },
  );
  const app = await launchMediaAppBrowser();
  const token = await keys.app('bench-app', [ROBOT]);
  try {
    const sourceOnly = await sourceBaseline();
    const baseline = summarize(sourceOnly).p50;
    console.log(`baseline, the flash source alone (no encode, no network): ${describe(sourceOnly)}`);
    const added: Partial<Record<'h264' | 'vp8', number>> = {};
    for (const codec of ['h264', 'vp8'] as const) {
      const latencies: number[] = [];
      const estimated: number[] = [];
      // Where the time goes: flip -> encoded frame out of the pipeline (source, encode), -> its last packet in
      // Chromium (werift, network), -> due on screen (jitter buffer, decode, compositing), and decode alone.
      const toEncoded: number[] = [];
      const toReceive: number[] = [];
      const toDisplay: number[] = [];
      const decode: number[] = [];
      const jitter: number[] = [];
      for (let segment = 0; segment < SEGMENTS; segment++) {
        const page = await MediaAppPage.open(app);
        await page.connect(`ws://127.0.0.1:${directPort}/v1/ws`, token);
        await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: false, videoCodec: codec });
        await eventually(async () => (await page.stats()).framesDecoded > 30, 15_000, 'video playing');
        const used = (await page.stats()).videoCodec;
        if (used !== `video/${codec}`) throw new Error(`asked for ${codec}, got ${used}`);
        await page.startLumaProbe();
        const source = streamer.core.sourcePipelines().find((p) => p.key === `video/front/${codec}`);
        const element = source?.element(FLASH_ELEMENT);
        if (!source || !setFlash(element, false)) throw new Error('no flash source running');
        // The flash pattern's frames are a few bytes (one solid colour) except the first frame after a flip: the
        // end of each frame over 1 kB is when the encoded flip left the pipeline for werift.
        const bigFramesOut: number[] = [];
        let frameBytes = 0;
        const unsubscribe = source.subscribe((packet) => {
          frameBytes += packet.length;
          if ((packet[1]! & 0x80) === 0) return;
          if (frameBytes > 1000) bigFramesOut.push(performance.timeOrigin + performance.now());
          frameBytes = 0;
        });
        const screen = await ScreenWatch.start(page.page, 'video[data-probe="luma"]');
        await sleep(1000);
        const flips: { bright: boolean; atEpochMs: number }[] = [];
        for (let i = 0; i < FLIPS_PER_SEGMENT; i++) {
          const bright = i % 2 === 0;
          flips.push({ bright, atEpochMs: performance.timeOrigin + performance.now() });
          setFlash(element, bright);
          await gap();
        }
        await sleep(300);
        unsubscribe();
        const seen = await page.lumaTransitions();
        const swapped = await screen.stop();
        for (const [i, flip] of flips.entries()) {
          const until = flips[i + 1]?.atEpochMs ?? Infinity;
          const shown = swapped.find(
            (f) =>
              f.atEpochMs > flip.atEpochMs &&
              f.atEpochMs < until &&
              (medianLuma(f) ?? 0) > 128 === flip.bright,
          );
          if (shown) latencies.push(shown.atEpochMs - flip.atEpochMs);
          const hit = seen.find(
            (t) => t.bright === flip.bright && t.atEpochMs > flip.atEpochMs && t.atEpochMs < until,
          );
          if (!hit) continue;
          estimated.push(hit.atEpochMs - flip.atEpochMs);
          const encoded = bigFramesOut.find((t) => t > flip.atEpochMs && t < until);
          if (encoded !== undefined) toEncoded.push(encoded - flip.atEpochMs);
          if (hit.receivedEpochMs !== null) {
            if (encoded !== undefined) toReceive.push(hit.receivedEpochMs - encoded);
            if (shown) toDisplay.push(shown.atEpochMs - hit.receivedEpochMs);
          }
          if (hit.decodeMs !== null) decode.push(hit.decodeMs);
        }
        jitter.push((await page.stats()).videoJitterBufferMs ?? NaN);
        await page.close();
        // The next segment gets a new capture pipeline, whose frames fall on another phase of the display's vsync.
        await eventually(() => !source.running, 10_000, 'the source pipeline stopped');
      }
      const p50 = summarize(latencies).p50;
      added[codec] = p50 - baseline;
      const median = (xs: number[]): string => (xs.length ? summarize(xs).p50.toFixed(1) : '-');
      console.log(
        `glass-to-glass ${codec} 1280x720@30 direct, ${latencies.length}/${FLIPS_PER_SEGMENT * SEGMENTS} flips seen in ${SEGMENTS} sessions: ${describe(latencies)}; ` +
          `added to the source's own: p50 ${(p50 - baseline).toFixed(1)} ms; ` +
          `split (p50): flip->encoded ${median(toEncoded)} ms (source + encode), ` +
          `encoded->received ${median(toReceive)} ms (werift + network), ` +
          `received->swapped ${median(toDisplay)} ms (jitter buffer + decode + compositing), decode ${median(decode)} ms, ` +
          `jitter buffer mean ${jitter.map((j) => j.toFixed(1)).join(' / ')} ms per segment; ` +
          `Chromium's own estimate (expectedDisplayTime) p50 ${median(estimated)} ms`,
      );
    }
    const fmt = (ms: number | undefined): string => (ms === undefined ? '-' : ms.toFixed(1));
    console.log(
      `glass-to-glass h264_added_ms=${fmt(added.h264)} vp8_added_ms=${fmt(added.vp8)} ` +
        `source_p50_ms=${baseline.toFixed(1)} flips=${FLIPS_PER_SEGMENT * SEGMENTS} segments=${SEGMENTS} ` +
        `baseline_flips=${BASELINE_FLIPS}`,
    );
  } finally {
    await app.close();
    await streamer.close();
  }
}

await main();
process.exit(0);
