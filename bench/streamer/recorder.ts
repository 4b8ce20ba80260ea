// Recorder cost (issue #14): streamer process CPU and disk write rate at 720p30 (x264, 2 Mbit/s pinned) with the
// gateway tapping 1,000 telemetry messages/s, with and without the black box recording everything.
// The gateway and its load run in a child process: process.cpuUsage() here is the streamer's alone.
// Run: npm run bench -- streamer/recorder   (WINDOW_MS, RATE to change the window and the message rate)
// Ends with one summary line: streamer-recorder recorder_cpu_pct=… streaming_cpu_pct=… with_recorder_vs_streaming_x=…
// disk_kb_s=… mb_per_min=… gateway_msgs_s=… gateway_lost=…
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { loadConfig } from '../../services/streamer/src/config.js';
import { StreamerCore } from '../../services/streamer/src/core/streamer-core.js';
import { Recorder } from '../../services/streamer/src/recording/recorder.js';
import { defaultRecordingConfig } from '../../services/streamer/src/recording/recording-config.js';

const WINDOW_MS = Number(process.env.WINDOW_MS ?? 20_000);
const RATE = Number(process.env.RATE ?? 1000);

async function cpuOver(ms: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / (performance.now() - t0);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

async function main(): Promise<void> {
  const log = pino({ level: 'warn' });
  const gw = spawn(process.execPath, ['--import', 'tsx', 'bench/support/gateway-load.ts', String(RATE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: gw.stdout });
  const tapUrl = await new Promise<string>((resolve) => lines.once('line', resolve));
  const kbps = 2000;
  const core = await StreamerCore.start(
    loadConfig(
      {},
      {
        videoSources: [
          { id: 'front', kind: 'test', pattern: 'ball', width: 1280, height: 720, framerate: 30 },
        ],
        audioSource: { kind: 'test', frequency: 440 },
        encoder: 'x264',
        lowLayerEnabled: false,
        bitrateMinKbps: kbps,
        bitrateMaxKbps: kbps,
        bitrateStartKbps: kbps,
      },
    ),
    { log },
  );
  const dir = await mkdtemp(join(tmpdir(), 'rec-bench-'));
  try {
    // Streaming alone: a viewer-like subscriber on the encoders (the RTP leaves the appsink as for a viewer).
    const sources = core.recordingSources();
    let packets = 0;
    const releases = [...sources.cameras.map((c) => c.source), sources.audio]
      .filter((s) => s !== null)
      .map((s) => s.subscribe(() => packets++));
    await sleep(3000);
    const base = await cpuOver(WINDOW_MS);
    const recorder = new Recorder(
      { ...defaultRecordingConfig, dir, blackboxSeconds: 600, gatewayTapUrl: tapUrl },
      'bench-robot',
      sources,
      log,
    );
    await recorder.start();
    await sleep(3000);
    const b0 = await dirBytes(dir);
    const r0 = recorder.status().gateway.records;
    const t0 = performance.now();
    const withRec = await cpuOver(WINDOW_MS);
    const secs = (performance.now() - t0) / 1000;
    const written = (await dirBytes(dir)) - b0;
    const records = recorder.status().gateway.records - r0;
    const status = recorder.status();
    await recorder.close();
    for (const r of releases) r();
    console.log(
      JSON.stringify(
        {
          windowMs: WINDOW_MS,
          video: '1280x720@30 x264 2000 kbit/s + opus',
          gatewayMessagesPerSecond: Math.round(records / secs),
          gatewayRecordsLost: status.gateway.lost,
          streamingCpuPercentOfCore: Number((base * 100).toFixed(1)),
          withRecorderCpuPercentOfCore: Number((withRec * 100).toFixed(1)),
          recorderCpuPercentOfCore: Number(((withRec - base) * 100).toFixed(1)),
          diskWriteKBps: Math.round(written / 1024 / secs),
          mbPerMinute: Number((((written / secs) * 60) / 1024 / 1024).toFixed(1)),
          packetsSeen: packets,
        },
        null,
        2,
      ),
    );
    console.log(
      `streamer-recorder recorder_cpu_pct=${((withRec - base) * 100).toFixed(1)} ` +
        `streaming_cpu_pct=${(base * 100).toFixed(1)} with_recorder_vs_streaming_x=${(withRec / base).toFixed(2)} ` +
        `disk_kb_s=${Math.round(written / 1024 / secs)} mb_per_min=${(((written / secs) * 60) / 1024 / 1024).toFixed(1)} ` +
        `gateway_msgs_s=${Math.round(records / secs)} gateway_lost=${status.gateway.lost}`,
    );
  } finally {
    await core.close();
    gw.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
