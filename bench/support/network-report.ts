// The network benches' common part: run scenarios full length with the baseline, print what each one did, write
// its timeline PNG under bench-results/network/, and print last one summary line per scenario:
//   network scenario=<name> freeze_ms=<n> fps=<n> g2g_p50_ms=<n> g2g_p95_ms=<n> recover_ms=<n>
//     baseline_freeze_ms=<n> baseline_g2g_p95_ms=<n>
// ("-" where a figure does not apply). NETLAB_SHORT=1 runs the tests' short durations (a quick look);
// NETLAB_BASELINE=0 leaves the Chromium baseline out (a quicker look at robostream alone).
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { writeTimelinePng } from '../../test/support/netlab/chart.js';
import { runGatewayScenario, type GatewayFigures } from '../../test/support/netlab/gateway-scenario.js';
import { removeStaleLabs } from '../../test/support/netlab/lab.js';
import { runScenario, type ModeResult, type ScenarioResult } from '../../test/support/netlab/scenario.js';
import { scenario } from '../../test/support/netlab/scenarios.js';
import type { Analysis } from '../../test/support/netlab/timeline.js';

const RESULTS_DIR = 'bench-results/network';
const COLOURS = { robostream: '#1f5fbf', baseline: '#d9822b' } as const;

const fmt = (n: number | null | undefined): string =>
  n === null || n === undefined ? '-' : String(Math.round(n));

function describe(label: string, a: Analysis): string {
  const f = a.figures;
  return (
    `  ${label}: freeze ${f.freezeMs} ms (${f.freezeCount}), ${f.fps} fps, g2g p50 ${fmt(f.g2gP50)} / p95 ${fmt(f.g2gP95)} ms ` +
    `(n=${f.g2gSamples}; Chromium's estimate p50 ${fmt(f.g2gEstimatedP50)}), ${f.recoverMs === null ? 'recovery n/a' : f.recovered ? `recovered in ${f.recoverMs} ms` : `NOT recovered within ${f.recoverMs} ms`}, ` +
    `clean ${f.cleanKbps} kbit/s ${f.cleanFps} fps, impaired ${f.impairedKbps} kbit/s, ` +
    `nack ${f.nackCount} pli ${f.pliCount} lost ${f.packetsLost}, sessions ${f.sessionsOpened}, ice restarts ${f.iceRestarts}, ` +
    `jitter buffer clean ${fmt(f.jitterBufferCleanMs)} / impaired ${fmt(f.jitterBufferImpairedMs)} ms`
  );
}

export function summaryLine(r: ScenarioResult): string {
  const ours = r.runs.find((x) => x.mode === 'robostream')?.main.figures;
  const base = r.runs.find((x) => x.mode === 'baseline')?.main.figures;
  return (
    `network scenario=${r.scenario.name} freeze_ms=${fmt(ours?.freezeMs)} fps=${fmt(ours?.fps)} ` +
    `g2g_p50_ms=${fmt(ours?.g2gP50)} g2g_p95_ms=${fmt(ours?.g2gP95)} recover_ms=${fmt(ours?.recoverMs)} ` +
    `baseline_freeze_ms=${fmt(base?.freezeMs)} baseline_g2g_p95_ms=${fmt(base?.g2gP95)}`
  );
}

async function chart(r: ScenarioResult): Promise<string> {
  const path = join(RESULTS_DIR, `${r.scenario.name}.png`);
  const first = r.runs[0] as ModeResult;
  const rel = (m: ModeResult, t: number): number => (t - m.window.startMs) / 1000;
  await writeTimelinePng(path, {
    title: `${r.scenario.name}: ${r.scenario.what}`,
    durationS: Math.max(...r.runs.map((m) => rel(m, m.window.endMs))),
    impairments: [
      {
        fromS: rel(first, first.window.impairStartMs),
        toS: Math.max(rel(first, first.window.impairEndMs), rel(first, first.window.impairStartMs) + 0.3),
        label: r.scenario.name,
      },
    ],
    runs: r.runs.flatMap((m) => [
      { label: m.mode, colour: COLOURS[m.mode], series: m.main.series },
      ...[...m.extra].map(([app, a]) => ({
        label: `${m.mode} ${app}`,
        colour: m.mode === 'robostream' ? '#6fa8ff' : '#f2b77a',
        series: a.series,
      })),
    ]),
  });
  return path;
}

/** Scenario 7: the gateway has no picture, so only recover_ms (telemetry back after the cut) applies. */
async function benchGateway(full: boolean): Promise<string> {
  console.log(
    '[network] gateway: commands every 50 ms (reliable lane), telemetry at 50 Hz (lossy lane); ' +
      `clean -> 10 % loss -> 80 +- 20 ms -> 5 s cut -> clean${full ? '' : ' (short)'}`,
  );
  const g: GatewayFigures = await runGatewayScenario({ full });
  for (const p of g.phases)
    console.log(
      `  ${p.name} (${p.seconds} s): ${p.commands} commands, round trip p50 ${fmt(p.rttP50)} / p99 ${fmt(p.rttP99)} ms, ` +
        `telemetry ${p.telemetryPerS}/s`,
    );
  console.log(
    `  replies out of order ${g.outOfOrder}, unanswered ${g.unanswered}; deadman (${g.deadmanMs} ms) tripped ` +
      `${fmt(g.deadmanTripMs)} ms after the cut began, cleared ${fmt(g.deadmanClearMs)} ms after the path returned; ` +
      `telemetry back after ${fmt(g.telemetryBackMs)} ms, new commands answered after ${fmt(g.commandsBackMs)} ms`,
  );
  return (
    `network scenario=gateway freeze_ms=- fps=- g2g_p50_ms=- g2g_p95_ms=- recover_ms=${fmt(g.telemetryBackMs)} ` +
    `baseline_freeze_ms=- baseline_g2g_p95_ms=-`
  );
}

/** Runs the named scenarios one after the other (`gateway` too) and prints the summary lines last. */
export async function benchScenarios(names: string[]): Promise<void> {
  const full = process.env.NETLAB_SHORT !== '1';
  await removeStaleLabs();
  const lines: string[] = [];
  for (const name of names) {
    if (name === 'gateway') {
      lines.push(await benchGateway(full));
      continue;
    }
    const scn = scenario(name);
    console.log(`[network] ${name}: ${scn.what}${full ? '' : ' (short)'}`);
    const r = await runScenario(scn, { full, baseline: process.env.NETLAB_BASELINE !== '0' });
    // Two cores shared with whatever else runs: a busy machine drops frames even on the clean path.
    console.log(`  machine load (1 min average) at the end: ${loadavg()[0]?.toFixed(1)} on 2 cores`);
    for (const m of r.runs) {
      console.log(describe(m.mode, m.main));
      for (const [app, a] of m.extra) console.log(describe(`${m.mode} ${app}`, a));
    }
    console.log(`  timeline: ${await chart(r)}`);
    lines.push(summaryLine(r));
  }
  for (const l of lines) console.log(l);
}
