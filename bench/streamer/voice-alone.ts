// Voice bench without the call: the robot's voice pipeline alone (the simulated room, webrtcechoprobe, webrtcdsp),
// the far-end signal pushed into its speaker appsrc in 20 ms chunks as decoded Opus arrives, and webrtcdsp's
// output read straight from an appsink. No Opus, no Chromium: this is the canceller's own echo reduction, without
// the codec and the browser's playout and recording that the call-level bench (voice.ts) measures through, and
// it runs in seconds, so several runs per setting give a spread.
// For each echo-suppression level, RUNS runs with the room's near-end talker silent (what the canceller removes
// alone) and talking (double talk: echo reduction and how much of the talker is lost).
// Ends with one line: voice_alone high_erle_db=.. high_near_db=.. moderate_erle_db=.. moderate_near_db=..
// Run: npm run bench -- streamer/voice-alone (LEVELS=low RUNS=5: one level, five runs)
import { loadConfig, type StreamerConfig } from '../../services/streamer/src/config.js';
import {
  parseLaunch,
  type GstAppSink,
  type GstAppSrc,
} from '../../services/streamer/src/media/gst-native.js';
import {
  SPEAKER_APPSRC,
  voicePipelineDescription,
} from '../../services/streamer/src/media/voice-pipeline.js';
import { ROOM_SOURCE } from '../../services/streamer/test/support/voice-room.js';
import {
  ANALYSIS_RATE,
  farEndSignal,
  levels,
  type Levels,
} from '../../services/streamer/test/support/voice-signals.js';

const RUNS = Number(process.env.RUNS ?? 3);
const SETTLE_S = 6;
const SECONDS = Number(process.env.SECONDS ?? 10);
const CHUNK_MS = 20;
/**
 * STALL_MS=200 STALL_EVERY_MS=1500: hold the far end back for STALL_MS every STALL_EVERY_MS and then push what is
 * due at once, as a talker's audio arrives when the machine is loaded (the speaker plays silence meanwhile).
 */
const STALL_MS = Number(process.env.STALL_MS ?? 0);
const STALL_EVERY_MS = Number(process.env.STALL_EVERY_MS ?? 1500);
/** Which suppression levels to run (LEVELS=low,moderate), all three by default. */
const LEVELS = (process.env.LEVELS ?? 'high,moderate,low').split(',') as ('high' | 'moderate' | 'low')[];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

let serial = 0;

async function run(overrides: Partial<StreamerConfig>, nearEndVolume?: number): Promise<Levels> {
  const config = loadConfig(
    {},
    {
      videoSources: [],
      audioSource: nearEndVolume === undefined ? ROOM_SOURCE : { ...ROOM_SOURCE, nearEndVolume },
      audioSink: 'counting',
      videoSink: 'counting',
      ...overrides,
    },
  );
  serial++;
  const description = voicePipelineDescription(
    config,
    { probe: `aloneprobe${serial}`, channel: `alonechannel${serial}` },
    `audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=${ANALYSIS_RATE},channels=1 ! ` +
      'appsink name=out sync=false',
  );
  if (!description) throw new Error('no voice pipeline');
  const pipeline = parseLaunch(description);
  const speaker = pipeline.findChild(SPEAKER_APPSRC) as GstAppSrc;
  const out = pipeline.findChild('out') as GstAppSink;
  const far = farEndSignal(8);
  const pcm = Buffer.alloc(far.length * 2);
  for (let i = 0; i < far.length; i++) pcm.writeInt16LE(Math.round((far[i] ?? 0) * 32767), i * 2);
  const chunk = 48 * CHUNK_MS * 2;
  let pos = 0;
  let pushed = 0;
  pipeline.play();
  const t0 = performance.now();
  // Pushes by wall time, catching up after a late timer, as the talkers' sink pipelines hand decoded audio over.
  const timer = setInterval(() => {
    const elapsed = performance.now() - t0;
    if (STALL_MS > 0 && elapsed % STALL_EVERY_MS < STALL_MS) return;
    const due = Math.floor(elapsed / CHUNK_MS);
    for (; pushed < due; pushed++) {
      if (pos + chunk > pcm.length) pos = 0;
      speaker.push(Buffer.from(pcm.subarray(pos, pos + chunk)));
      pos += chunk;
    }
  }, CHUNK_MS);
  const got: number[] = [];
  const startAt = t0 + SETTLE_S * 1000;
  await new Promise<void>((resolve) => {
    const pull = (): void =>
      out.pull((buf) => {
        if (!buf) return resolve();
        if (performance.now() >= startAt) {
          for (let i = 0; i + 3 < buf.length; i += 4) got.push(buf.readFloatLE(i));
          if (got.length >= SECONDS * ANALYSIS_RATE) return resolve();
        }
        pull();
      });
    pull();
  });
  clearInterval(timer);
  pipeline.stop();
  return levels(Float32Array.from(got));
}

async function main(): Promise<void> {
  const off = await run({ echoCancel: false });
  const offQuiet = await run({ echoCancel: false }, 0);
  console.log(
    `no canceller: echo ${off.farEndDb.toFixed(1)} dBFS, near end ${off.nearEndDb.toFixed(1)} dBFS ` +
      `(echo ${offQuiet.farEndDb.toFixed(1)} dBFS with the talker silent)`,
  );
  const summary: string[] = [];
  for (const level of LEVELS) {
    const single: number[] = [];
    const erle: number[] = [];
    const near: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const quiet = await run({ echoCancel: true, echoSuppression: level }, 0);
      single.push(offQuiet.farEndDb - quiet.farEndDb);
      const both = await run({ echoCancel: true, echoSuppression: level });
      erle.push(off.farEndDb - both.farEndDb);
      near.push(both.nearEndDb - off.nearEndDb);
    }
    const f = (xs: number[]): string =>
      `median ${median(xs).toFixed(1)} (${xs.map((x) => x.toFixed(1)).join(', ')})`;
    console.log(`${level.padEnd(8)} talker silent: echo reduction ${f(single)} dB`);
    console.log(`${level.padEnd(8)} double talk:   echo reduction ${f(erle)} dB, near end ${f(near)} dB`);
    summary.push(`${level}_erle_db=${median(erle).toFixed(1)} ${level}_near_db=${median(near).toFixed(1)}`);
  }
  console.log(`voice_alone ${summary.join(' ')}`);
}

await main();
process.exit(0);
