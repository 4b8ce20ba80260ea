// Scenario 7 (docs/networks.md), short: the gateway's data channels over the lab's path. Commands on the reliable
// lane all arrive, in order, through loss, delay and a 5 s cut; telemetry on the lossy lane flows; the robot's
// deadman trips on time when the cut silences the operator, and clears once the path returns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runGatewayScenario } from '../support/netlab/gateway-scenario.js';

test('gateway: ordered commands, flowing telemetry, the deadman trips on a cut and clears after', async () => {
  const g = await runGatewayScenario({ full: false });
  console.log(`[gateway] ${JSON.stringify(g)}`);
  assert.equal(g.outOfOrder, 0, 'replies in the order the commands were sent');
  assert.equal(g.unanswered, 0, 'every command answered (reliable lane)');
  const clean = g.phases.find((p) => p.name === 'clean');
  assert.ok(clean && clean.telemetryPerS > 25, `telemetry on a clean path: ${clean?.telemetryPerS}/s of 50`);
  const loss = g.phases.find((p) => p.name === 'loss-10pct');
  assert.ok(loss && loss.telemetryPerS > 15, `telemetry under 10 % loss: ${loss?.telemetryPerS}/s`);
  // The watchdog re-arms lazily: it trips between one and two windows after the operator's last frame.
  assert.ok(g.deadmanTripMs !== null, 'the deadman tripped during the cut');
  assert.ok(
    g.deadmanTripMs >= g.deadmanMs - 100 && g.deadmanTripMs <= 2 * g.deadmanMs + 300,
    `tripped ${g.deadmanTripMs} ms after the cut began (window ${g.deadmanMs} ms)`,
  );
  assert.ok(g.deadmanClearMs !== null, 'the deadman cleared after the path returned');
  assert.ok(g.telemetryBackMs !== null, 'telemetry flows again after the cut');
  const after = g.phases.find((p) => p.name === 'after');
  assert.ok(after && after.telemetryPerS > 15, `telemetry after the cut: ${after?.telemetryPerS}/s`);
});
