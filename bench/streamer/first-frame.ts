// Streamer benchmark (direct SDP/ICE between Chromium and the core, no signaling server):
//  1. time from the session request (the page starts building its offer) to the first decoded frame in Chromium,
//     p50/p90 over RUNS runs (default 10); each run is a fresh page, the source pipeline lingering between runs
//     as it would for a robot that had a viewer a moment ago, plus one cold run measured separately;
//  2. streamer process CPU (process.cpuUsage: x264, GStreamer threads and werift together) at 720p30 with
//     1, 2 and 4 viewers over a fixed window.
// Run: UV_THREADPOOL_SIZE=32 node --import tsx bench/streamer/first-frame.ts
// Ends with one summary line: streamer-first-frame cold_ms=… warm_p50_ms=… warm_p90_ms=… cpu_pct_1=… cpu_pct_2=…
// cpu_pct_4=… cpu_4_vs_1_x=… cpu_pct_2_cameras=… (CPU in % of one core; 4 viewers against 1, same run)
import { pino } from 'pino';
import { loadConfig } from '../../services/streamer/src/config.js';
import { StreamerCore } from '../../services/streamer/src/core/streamer-core.js';
import { detectEncoders } from '../../services/streamer/src/media/encoders.js';
import {
  AppPage,
  connectApp,
  launchAppBrowser,
  waitFor,
} from '../../services/streamer/test/support/chromium-app.js';
import { percentileOf } from '../support/stats.js';

const RUNS = Number(process.env.RUNS ?? 10);
const CPU_WINDOW_MS = Number(process.env.CPU_WINDOW_MS ?? 10_000);

async function main(): Promise<void> {
  const log = pino({ level: 'warn' });
  const encoders = await detectEncoders('auto');
  // Bitrate pinned (min = max) so CPU at 1/2/4 viewers compares equal streams: with adaptation on, the page
  // decoders competing for this machine's 2 cores make Chromium's REMB pull the shared encoder down.
  const fixedKbps = Number(process.env.BITRATE_KBPS ?? 2000);
  const config = loadConfig(
    {},
    {
      audioSink: 'counting',
      videoSink: 'none',
      lingerMs: 30_000,
      bitrateMinKbps: fixedKbps,
      bitrateMaxKbps: fixedKbps,
      bitrateStartKbps: fixedKbps,
    },
  );
  const core = await StreamerCore.start(config, { log, encoders });
  const app = await launchAppBrowser();
  try {
    const firstFrame = async (): Promise<number> => {
      const page = await AppPage.open(app);
      const t0 = performance.now();
      const viewer = await connectApp(core, page, { cameras: 1, mic: true });
      await waitFor(
        () => page.stats(),
        (s) => (s.video[0]?.framesDecoded ?? 0) > 0,
        'first frame',
        15_000,
      );
      const ms = performance.now() - t0;
      await viewer.close();
      await page.close();
      return ms;
    };

    const cold = await firstFrame();
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) warm.push(await firstFrame());
    console.log(
      `encoder: ${encoders.h264.element}; 1280x720@30, start bitrate ${config.bitrateStartKbps} kbps`,
    );
    console.log(`first decoded frame, cold pipeline: ${cold.toFixed(0)} ms`);
    console.log(
      `first decoded frame, warm pipeline, ${RUNS} runs: p50 ${percentileOf(warm, 50).toFixed(0)} ms, ` +
        `p90 ${percentileOf(warm, 90).toFixed(0)} ms, min ${Math.min(...warm).toFixed(0)}, max ${Math.max(...warm).toFixed(0)}`,
    );

    const cpuPct = new Map<number, number>();
    for (const viewers of [1, 2, 4]) {
      const pages: AppPage[] = [];
      for (let i = 0; i < viewers; i++) {
        const page = await AppPage.open(app);
        await connectApp(core, page, { cameras: 1, mic: false });
        pages.push(page);
      }
      for (const p of pages)
        await waitFor(
          () => p.stats(),
          (s) => (s.video[0]?.framesDecoded ?? 0) > 30,
          'decoding',
        );
      const before = await Promise.all(pages.map((p) => p.stats()));
      for (const v of core.viewers()) await v.stats(); // resets the per-viewer rate window
      const packetsBefore =
        core.introspect().pipelines.find((p) => p.kind === 'video' && p.running)?.packetsOut ?? 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
      const cpu = process.cpuUsage(cpu0);
      const seconds = (performance.now() - t0) / 1000;
      const after = await Promise.all(pages.map((p) => p.stats()));
      const fps = after.map(
        (s, i) => ((s.video[0]?.framesDecoded ?? 0) - (before[i]?.video[0]?.framesDecoded ?? 0)) / seconds,
      );
      const lost = after.map((s) => s.video[0]?.packetsLost ?? 0);
      const snapshot = core.introspect();
      const video = snapshot.pipelines.find((p) => p.kind === 'video' && p.running);
      const sent = await Promise.all(core.viewers().map((v) => v.stats()));
      const kbps = sent.map((st) => st.send.find((x) => x.kind === 'video')?.bitrateKbps ?? 0);
      const packets = (video?.packetsOut ?? 0) - packetsBefore;
      cpuPct.set(viewers, ((cpu.user + cpu.system) / 1e6 / seconds) * 100);
      console.log(
        `${viewers} viewer(s): streamer CPU ${cpuPct.get(viewers)!.toFixed(1)}% of one core ` +
          `(user ${((cpu.user / 1e6 / seconds) * 100).toFixed(1)}%, sys ${((cpu.system / 1e6 / seconds) * 100).toFixed(1)}%); ` +
          `video encoders running: ${snapshot.runningVideoEncoders}; decoded fps per viewer: ${fps.map((f) => f.toFixed(1)).join(', ')}; ` +
          `packets lost: ${lost.join(', ')}; encoder ${video?.bitrateKbps ?? '?'} kbps, ${(packets / seconds).toFixed(0)} RTP packets/s ` +
          `fanned out to each viewer; sent kbps per viewer: ${kbps.map((k) => k.toFixed(0)).join(', ')}`,
      );
      for (const v of core.viewers()) await v.close();
      for (const p of pages) await p.close();
    }
    await core.close();

    // The reference robot has two cameras: one viewer watching both (two encoders), same window.
    const twoCameras = await StreamerCore.start(
      loadConfig(
        {},
        {
          ...config,
          videoSources: [
            { id: 'front', kind: 'test', pattern: 'ball', width: 1280, height: 720, framerate: 30 },
            { id: 'rear', kind: 'test', pattern: 'smpte', width: 1280, height: 720, framerate: 30 },
          ],
        },
      ),
      { log, encoders },
    );
    const page = await AppPage.open(app);
    try {
      await connectApp(twoCameras, page, { cameras: 2, mic: false });
      await waitFor(
        () => page.stats(),
        (s) => s.video.length === 2 && s.video.every((v) => v.framesDecoded > 30),
        'both cameras decoding',
      );
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
      const cpu = process.cpuUsage(cpu0);
      const seconds = (performance.now() - t0) / 1000;
      const twoCamerasPct = ((cpu.user + cpu.system) / 1e6 / seconds) * 100;
      console.log(
        `1 viewer, 2 cameras: streamer CPU ${twoCamerasPct.toFixed(1)}% of one core; ` +
          `video encoders running: ${twoCameras.introspect().runningVideoEncoders}`,
      );
      const pct = (n: number) => cpuPct.get(n)!.toFixed(1);
      console.log(
        `streamer-first-frame cold_ms=${cold.toFixed(0)} warm_p50_ms=${percentileOf(warm, 50).toFixed(0)} ` +
          `warm_p90_ms=${percentileOf(warm, 90).toFixed(0)} cpu_pct_1=${pct(1)} cpu_pct_2=${pct(2)} ` +
          `cpu_pct_4=${pct(4)} cpu_4_vs_1_x=${(cpuPct.get(4)! / cpuPct.get(1)!).toFixed(2)} ` +
          `cpu_pct_2_cameras=${twoCamerasPct.toFixed(1)}`,
      );
    } finally {
      await page.close();
      await twoCameras.close();
    }
  } finally {
    await core.close();
    await app.close();
  }
}

await main();
