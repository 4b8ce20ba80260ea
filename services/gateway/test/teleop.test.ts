/**
 * Teleop through a real gateway: velocity commands from an app link to a robot program with a VelocityGuard,
 * the grants and lock they need, out-of-order and stale ones dropped, and the robot's own stop when they stop.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_ENVELOPE_VERSION as v, type ServiceVelocity } from '@robostream/protocol/gateway';
import { ServiceClient, VelocityGuard, type Velocity } from '../src/client/index.js';
import { RawPeer, until, type TestGateway, startTestGateway, ROBOT } from './helpers.js';

let t: TestGateway;
before(async () => {
  t = await startTestGateway();
});
after(() => t.close());

async function operator(sub: string, grants: Record<string, Array<'view' | 'drive'>>): Promise<RawPeer> {
  const p = await RawPeer.open(t.gw.lanUrl!, 'app');
  p.send({ v, type: 'auth', token: await t.token({ sub, grants }) });
  await p.waitType('welcome');
  return p;
}

/** A robot program: the guard's applied speeds with their times. */
async function robot(timeoutMs = 250) {
  const applied: Array<{ at: number; vel: Velocity; why: string }> = [];
  const got: ServiceVelocity[] = [];
  const guard = new VelocityGuard({
    timeoutMs,
    apply: (vel, why) => applied.push({ at: Date.now(), vel, why }),
  });
  const svc = new ServiceClient({ url: t.gw.localUrl, service: 'base' });
  svc.on('velocity', (m) => {
    got.push(m);
    guard.accept(m);
  });
  svc.on('estop', () => guard.stop('estop'));
  await svc.ready();
  return {
    applied,
    got,
    guard,
    close() {
      guard.close();
      svc.close();
    },
  };
}

const vel = (seq: number, linear: number, sentAt = Date.now()) => ({
  v,
  type: 'velocity',
  service: 'base',
  seq,
  sentAt,
  linear,
  angular: 0,
});

test('velocity needs drive and the lock; the robot obeys in order and stops within its bound when they stop', async () => {
  const r = await robot();
  const viewer = await operator('watcher', { [ROBOT]: ['view'] });
  const driver = await operator('driver', { [ROBOT]: ['drive'] });
  try {
    viewer.send(vel(1, 1));
    assert.equal((await viewer.waitError('forbidden')).ref, 'v1');
    driver.send(vel(1, 1));
    assert.equal((await driver.waitError('not_operator')).ref, 'v1');
    assert.equal(r.got.length, 0, 'nothing refused reached the robot program');

    driver.send({ v, type: 'lock.take' });
    await until(() => t.gw.stats().lock?.sub === 'driver', 'driver holds the lock');
    // 20 Hz for half a second.
    // When the last command left (not after the pause that follows it): the robot's 250 ms count from there.
    let lastSent = 0;
    for (let seq = 10; seq < 20; seq++) {
      driver.send(vel(seq, 0.5));
      lastSent = Date.now();
      await new Promise((res) => setTimeout(res, 50));
    }
    await until(() => r.applied.some((a) => a.why === 'timeout'), 'the robot stops by itself');
    const stop = r.applied.find((a) => a.why === 'timeout')!;
    const stopMs = stop.at - lastSent;
    assert.deepEqual(stop.vel, { linear: 0, angular: 0 });
    assert.ok(stopMs >= 200 && stopMs < 400, `stopped ${stopMs} ms after the last command (bound 250 ms)`);
    assert.deepEqual(
      r.got.map((m) => m.seq),
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    );
    assert.equal(r.got[0]!.sub, 'driver', 'the gateway stamps who sent it');
    assert.equal(r.guard.counts.applied, 10);

    // Out of order: an older seq after a newer one is dropped; so is one far later than the link's quickest.
    driver.send(vel(30, 0.2));
    driver.send(vel(25, 0.9));
    driver.send(vel(31, 0.9, Date.now() - 2_000));
    await until(() => r.got.length === 13, 'three more arrive');
    assert.equal(r.guard.counts.outOfOrder, 1);
    assert.equal(r.guard.counts.stale, 1);
    assert.equal(r.guard.last?.seq, 30, 'the robot kept obeying seq 30 only');

    // An e-stop halts it; nothing moves it until the program resumes.
    driver.send({ v, type: 'estop' });
    await until(() => r.applied.some((a) => a.why === 'estop'), 'e-stop applied');
    driver.send(vel(40, 1));
    await until(() => r.got.length === 14, 'arrives');
    assert.equal(r.guard.last?.seq, 30, 'ignored while e-stopped');
  } finally {
    viewer.close();
    driver.close();
    r.close();
  }
});

test('a new link starts its own sequence (another operator, a reloaded console)', async () => {
  const r = await robot(1_000);
  const a = await operator('a', { [ROBOT]: ['drive'] });
  try {
    a.send({ v, type: 'lock.take' });
    await until(() => t.gw.stats().lock?.sub === 'a', 'a holds the lock');
    a.send(vel(500, 0.3));
    await until(() => r.guard.last?.seq === 500, 'applied');
    a.close();
    await until(() => t.gw.stats().lock === null, 'lock freed');
    const b = await operator('b', { [ROBOT]: ['drive'] });
    b.send({ v, type: 'lock.take' });
    await until(() => t.gw.stats().lock?.sub === 'b', 'b holds the lock');
    b.send(vel(0, 0.4));
    await until(() => r.guard.last?.seq === 0, 'b seq 0 applied despite a lower number');
    assert.equal(r.guard.last?.sub, 'b');
    b.close();
  } finally {
    r.close();
  }
});
