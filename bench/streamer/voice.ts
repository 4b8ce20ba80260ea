// Voice bench: what the robot's voice processor (webrtcdsp + webrtcechoprobe) costs and what it does.
//  1. Three calls through the simulated room (services/streamer/test/support/voice-room.ts), Chromium's fake
//     microphone sending the voice-like far-end signal: no processing at all; the canceller on (the defaults for a
//     generated source: noise suppression and gain control off, voice activity on); everything on. Each gives the
//     echo and near-end levels in what the page got back, and the streamer process's CPU over the recording.
//     A fourth call with the room's echo path muted (echoGain 0, no canceller) gives the measurement's floor:
//     what the far end's lines hold when none of the operator comes back (the near-end talker's and Opus's
//     spill into those lines), so no echo reduction beyond "echo off minus floor" can be read here.
//  2. Added CPU, in-process: the processor's own cost, without the call around it (whose CPU varies by more).
//  3. Added latency, in-process: one live tick source split in two, straight to one appsink and through the
//     voice processor (paired with a silent speaker, all features on) to another; the difference in when each
//     tick's onset is pulled.
// Ends with one line: voice aec_erle_db=.. near_end_change_db=.. floor_headroom_db=.. cpu_pct=.. latency_ms=..
// Run: npm run bench -- streamer/voice (LATENCY_ONLY=1: parts 2 and 3 alone)
import { pino } from 'pino';
import { detectEncoders } from '../../services/streamer/src/media/encoders.js';
import { parseLaunch, type GstAppSink } from '../../services/streamer/src/media/gst-native.js';
import {
  echoPairFragment,
  echoPairNames,
  VOICE_PCM_CAPS,
} from '../../services/streamer/src/media/voice-pipeline.js';
import {
  launchFarEndBrowser,
  measureCall,
  ROOM_SOURCE,
} from '../../services/streamer/test/support/voice-room.js';

const SECONDS = Number(process.env.SECONDS ?? 10);
const TICKS = Number(process.env.TICKS ?? 12);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

/** Pull times of each tick onset (first buffer over a threshold after a quiet one) at one appsink. */
function onsets(sink: GstAppSink, count: number, out: number[], done: () => void): void {
  let quiet = true;
  const pull = (): void =>
    sink.pull((buf) => {
      if (!buf) return done();
      const at = performance.now();
      let peak = 0;
      for (let i = 0; i + 1 < buf.length; i += 2) peak = Math.max(peak, Math.abs(buf.readInt16LE(i)));
      if (quiet && peak > 3000) out.push(at);
      quiet = peak < 300;
      if (out.length >= count) return done();
      pull();
    });
  pull();
}

/** The processor with every feature on, as both measurements below run it. */
const processorAllOn = (probe: string): string =>
  `webrtcdsp probe=${probe} delay-agnostic=true noise-suppression=true gain-control=true voice-detection=true`;

async function latencyMs(): Promise<number> {
  const probe = 'benchprobe';
  const pair = echoPairNames(probe);
  // 100 ms bursts of 1 kHz every 500 ms, in 10 ms buffers (the processor's own block size), through the
  // microphone path as the streamer builds it: paired with the speaker (silent here) by timestamp, then webrtcdsp
  // with every feature on.
  const pipeline = parseLaunch(
    `audiotestsrc is-live=true wave=silence samplesperbuffer=480 ! ${VOICE_PCM_CAPS} ! ${pair.reference} ` +
      `audiotestsrc is-live=true wave=ticks freq=1000 tick-interval=500000000 sine-periods-per-tick=100 ` +
      `volume=0.5 samplesperbuffer=480 ! ${VOICE_PCM_CAPS} ! tee name=t ` +
      `t. ! queue ! appsink name=direct sync=false ` +
      `t. ! queue ! ${pair.microphone} ` +
      echoPairFragment(probe, `${processorAllOn(probe)} ! appsink name=processed sync=false`),
  );
  const direct: number[] = [];
  const processed: number[] = [];
  let pending = 2;
  const finished = new Promise<void>((resolve) => {
    const done = (): void => {
      if (--pending === 0) resolve();
    };
    pipeline.play();
    onsets(pipeline.findChild('direct') as GstAppSink, TICKS + 2, direct, done);
    onsets(pipeline.findChild('processed') as GstAppSink, TICKS, processed, done);
  });
  await finished;
  pipeline.stop();
  // Each processed onset against the last direct onset before it (ticks are 500 ms apart; the processor may
  // swallow the first ones while it starts, so counting them off one to one would pair different ticks).
  const diffs: number[] = [];
  for (const p of processed) {
    const before = direct.filter((d) => d <= p).pop();
    if (before !== undefined && p - before < 250) diffs.push(p - before);
  }
  return median(diffs);
}

/**
 * CPU of the processor alone, in this process: a speaker signal through a probe and a microphone signal, for
 * CPU_WINDOW_MS each, without and then with webrtcdsp (every feature on). Percent of one core, the difference.
 */
async function processorCpuPct(): Promise<number> {
  const windowMs = Number(process.env.CPU_WINDOW_MS ?? 8000);
  const run = async (dsp: boolean): Promise<number> => {
    const processor = dsp ? `${processorAllOn('cpuprobe')} ! ` : '';
    const pipeline = parseLaunch(
      `audiotestsrc is-live=true wave=pink-noise volume=0.2 ! ${VOICE_PCM_CAPS} ! webrtcechoprobe name=cpuprobe ! ` +
        `fakesink sync=false audiotestsrc is-live=true wave=ticks freq=1000 ! ${VOICE_PCM_CAPS} ! ${processor}` +
        `fakesink sync=false`,
    );
    pipeline.play();
    await new Promise((r) => setTimeout(r, 1000));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const cpu = process.cpuUsage(cpu0);
    const pct = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
    pipeline.stop();
    return pct;
  };
  const without = await run(false);
  const withDsp = await run(true);
  console.log(
    `processor alone: ${without.toFixed(1)}% of one core without, ${withDsp.toFixed(1)}% with webrtcdsp (all on)`,
  );
  return withDsp - without;
}

async function main(): Promise<void> {
  if (process.env.LATENCY_ONLY === '1') {
    console.log(
      `voice latency_ms=${(await latencyMs()).toFixed(1)} cpu_pct=${(await processorCpuPct()).toFixed(1)}`,
    );
    return;
  }
  const log = pino({ level: 'warn' });
  const encoders = await detectEncoders('auto');
  const browser = await launchFarEndBrowser();
  const none = {
    echoCancel: false,
    noiseSuppression: 'off',
    gainControl: 'off',
    voiceActivity: false,
  } as const;
  try {
    const off = await measureCall({ browser, encoders, log, overrides: none, seconds: SECONDS });
    const on = await measureCall({
      browser,
      encoders,
      log,
      overrides: { echoCancel: true, voiceActivity: true },
      seconds: SECONDS,
    });
    const full = await measureCall({
      browser,
      encoders,
      log,
      overrides: { echoCancel: true, voiceActivity: true, noiseSuppression: 'on', gainControl: 'on' },
      seconds: SECONDS,
    });
    const floor = await measureCall({
      browser,
      encoders,
      log,
      overrides: { ...none, audioSource: { ...ROOM_SOURCE, echoGain: 0 } },
      seconds: SECONDS,
    });
    const row = (name: string, r: typeof off): void =>
      console.log(
        `${name.padEnd(28)} echo ${r.received.farEndDb.toFixed(1)} dBFS, near end ${r.received.nearEndDb.toFixed(1)} dBFS, ` +
          `correlation ${r.echo.coefficient.toFixed(2)} at ${r.echo.lagMs.toFixed(0)} ms, streamer CPU ${r.cpuPct.toFixed(1)}%`,
      );
    console.log(`sent: far end ${off.sent.farEndDb.toFixed(1)} dBFS`);
    row('no processing', off);
    row('canceller on (defaults)', on);
    row('canceller + NS + AGC + VAD', full);
    row('floor (echo path muted)', floor);
    const latency = await latencyMs();
    const cpuPct = await processorCpuPct();
    const erle = off.received.farEndDb - on.received.farEndDb;
    const erleFull = off.received.farEndDb - full.received.farEndDb;
    const nearChange = on.received.nearEndDb - off.received.nearEndDb;
    const headroom = off.received.farEndDb - floor.received.farEndDb;
    console.log(
      `added latency of the voice processor (median over ${TICKS - 1} ticks): ${latency.toFixed(1)} ms`,
    );
    console.log(
      `voice aec_erle_db=${erle.toFixed(1)} aec_erle_full_db=${erleFull.toFixed(1)} ` +
        `near_end_change_db=${nearChange.toFixed(1)} floor_headroom_db=${headroom.toFixed(1)} ` +
        `cpu_pct=${cpuPct.toFixed(1)} ` +
        `latency_ms=${latency.toFixed(1)}`,
    );
  } finally {
    await browser.close();
  }
}

await main();
process.exit(0);
