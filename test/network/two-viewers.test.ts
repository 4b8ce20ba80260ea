// Scenario 6 (docs/networks.md), short: the operator watches on a clean link; a spectator on a 500 kbit/s link
// joins, then leaves. Both must get a moving picture; what the spectator costs the operator (one encoder shared
// by both) is a bench figure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../support/netlab/scenario.js';
import { scenario } from '../support/netlab/scenarios.js';
import { robostream } from './support.js';

test('two viewers: operator and a 500 kbit/s spectator both see a moving picture', async () => {
  const r = await runScenario(scenario('two-viewers'), { full: false, baseline: false });
  const f = robostream(r);
  const spectator = r.runs[0]?.extra.get('spectator')?.figures;
  console.log(`[two-viewers] spectator ${JSON.stringify(spectator)}`);
  assert.equal(f.sessionsOpened, 1, "the operator's session is kept");
  // Relative to the clean stretch of the same run (a shared 2-core machine); the spectator must see a picture.
  assert.ok(f.fps >= 0.5 * f.cleanFps, `operator ${f.fps} fps, ${f.cleanFps} alone`);
  assert.ok(spectator && spectator.fps >= 1, `spectator ${spectator?.fps} fps`);
});
