// The lab itself: namespaces come up and go away, and each kind of shaping does to UDP what it claims
// (a cap caps, delay delays, a cut cuts, a hand-over gives the robot a new working address).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../support/netlab/exec.js';
import { Lab } from '../support/netlab/lab.js';
import { spawnTsInNamespace, type NsProcess } from '../support/netlab/ns-process.js';

const PROBE = fileURLToPath(new URL('../support/netlab/udp-probe.ts', import.meta.url));
const PORT = '9999';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe('netlab', () => {
  let lab: Lab;
  let echo: NsProcess;

  const ping = async (count = 10): Promise<number[]> => {
    const p = spawnTsInNamespace(lab.robotNs, PROBE, ['ping', lab.app().address, PORT, String(count)]);
    const line = await p.waitLine((l) => l.startsWith('{'), 30_000, 'ping result');
    return (JSON.parse(line) as { rttMs: number[] }).rttMs;
  };

  before(async () => {
    lab = await Lab.create();
    echo = spawnTsInNamespace(lab.app().ns, PROBE, ['echo', PORT]);
    await echo.waitLine((l) => l === 'ready', 20_000, 'echo ready');
  });

  after(async () => {
    await echo?.kill();
    const names = lab ? [lab.robotNs, lab.routerNs, lab.app().ns] : [];
    await lab?.close();
    const left = await run(['ip', 'netns', 'list']);
    for (const n of names) assert.ok(!left.includes(n), `namespace ${n} removed`);
  });

  it('routes the robot to the app with no impairment', async () => {
    const rtt = await ping();
    assert.ok(rtt.length >= 9, `replies: ${rtt.length}/10`);
    assert.ok(median(rtt) < 20, `median rtt ${median(rtt).toFixed(1)} ms`);
  });

  it('caps the robot uplink with tbf', async () => {
    await lab.setRobotRate({ kbit: 1000, queueMs: 200 });
    const sink = spawnTsInNamespace(lab.app().ns, PROBE, ['sink', '9998', '3500']);
    await sink.waitLine((l) => l === 'ready', 20_000, 'sink ready');
    const blast = spawnTsInNamespace(lab.robotNs, PROBE, [
      'blast',
      lab.app().address,
      '9998',
      '3000',
      '2500',
    ]);
    await blast.exited;
    const got = JSON.parse(await sink.waitLine((l) => l.startsWith('{'), 20_000, 'sink result')) as {
      bytes: number;
    };
    await lab.setRobotRate(null);
    // 2.5 s at 1 Mbit/s plus what the 200 ms queue held: ~2.7 Mbit; unshaped it would be 7.5 Mbit.
    const mbit = (got.bytes * 8) / 1e6;
    assert.ok(mbit > 1.8 && mbit < 3.6, `received ${mbit.toFixed(2)} Mbit of 7.5 sent`);
  });

  it('delays both directions with jitter through the relay', async () => {
    await lab.setDelay(80, 20);
    const rtt = await ping(20);
    await lab.setDelay(0, 0);
    assert.ok(rtt.length >= 18, `replies: ${rtt.length}/20`);
    const m = median(rtt);
    assert.ok(m > 140 && m < 220, `median rtt ${m.toFixed(1)} ms (2 x 80 +- 20)`);
    assert.ok(Math.max(...rtt) - Math.min(...rtt) > 5, 'jitter spreads the rtt');
    const back = median(await ping());
    assert.ok(back < 20, `delay 0 again: median rtt ${back.toFixed(1)} ms`);
  });

  it('drops everything during a cut and passes again after', async () => {
    await lab.cut();
    const during = await ping(5);
    await lab.restore();
    assert.equal(during.length, 0, 'nothing through a cut');
    assert.ok((await ping(5)).length >= 4, 'replies after the cut');
  });

  it('drops about the configured fraction with random loss', async () => {
    await lab.setLoss(0.3);
    const rtt = await ping(60);
    await lab.setLoss(0);
    // Each direction loses 30 %: about half of the round trips survive.
    assert.ok(rtt.length > 15 && rtt.length < 45, `replies ${rtt.length}/60`);
  });

  it('moves the robot to a new address (a hand-over)', async () => {
    const before = lab.robotAddress;
    const now = await lab.moveRobot();
    assert.notEqual(now, before);
    const addrs = await run(['ip', '-4', '-o', 'addr', 'show'], lab.robotNs);
    assert.ok(addrs.includes(now) && !addrs.includes(before), addrs);
    assert.ok((await ping(5)).length >= 4, 'replies from the new address');
  });
});
