// Scenario 5 (docs/networks.md): the robot's link disappears and one with a new address comes up (a Wi-Fi to
// LTE hand-over). The operator's page must get the picture back by itself: no reload, the same media session
// (the web app's MediaSession restarts ICE when its connection stays disconnected; the robot asks for a restart
// when its viewer goes quiet).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../support/netlab/scenario.js';
import { scenario } from '../support/netlab/scenarios.js';
import { robostream } from './support.js';

test('address change: frames resume from the new address without a reload, in the same session', async () => {
  const r = await runScenario(scenario('address-change'), { full: false, baseline: false });
  const f = robostream(r);
  assert.ok(f.recovered, `frames flowing again within 15 s of the hand-over (recover ${f.recoverMs} ms)`);
  assert.equal(f.sessionsOpened, 1, 'the same media session');
});
