// What every network test checks about a robostream run before its own assertions, with the figures in the
// message so that a failure says what the picture did.
import assert from 'node:assert/strict';
import type { ScenarioResult } from '../support/netlab/scenario.js';
import type { Figures } from '../support/netlab/timeline.js';

export function robostream(r: ScenarioResult): Figures {
  const run = r.runs.find((m) => m.mode === 'robostream');
  assert.ok(run, 'a robostream run');
  const f = run.main.figures;
  console.log(`[${r.scenario.name}] ${JSON.stringify(f)}`);
  return f;
}

/** Impairment length in seconds. */
export function impairedSeconds(r: ScenarioResult): number {
  const w = r.runs[0]!.window;
  return (w.impairEndMs - w.impairStartMs) / 1000;
}
