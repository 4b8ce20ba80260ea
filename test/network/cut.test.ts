// Scenario 4 (docs/networks.md): nothing passes the robot's link for 5 s, then the path returns. The picture
// must come back in the same media session, without the page reloading or opening a new one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../support/netlab/scenario.js';
import { scenario } from '../support/netlab/scenarios.js';
import { robostream } from './support.js';

test('5 s cut: frames resume after the path returns, in the same session', async () => {
  const r = await runScenario(scenario('cut-5s'), { full: false, baseline: false });
  const f = robostream(r);
  assert.ok(
    f.recovered,
    `frames flowing again within the 10 s observed after the cut (recover ${f.recoverMs} ms)`,
  );
  assert.equal(f.sessionsOpened, 1, 'the same media session');
  // The cut itself is a freeze of about 5 s; more than 5 s beyond it means the picture stalled after the return.
  assert.ok(f.freezeMs < 10_000, `frozen ${f.freezeMs} ms in all`);
});
