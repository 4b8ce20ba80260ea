import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_ENVELOPE_VERSION as v, type GatewayToService } from '@robostream/protocol/gateway';
import { startTestGateway, ServiceProbe, RawPeer, until, type TestGateway } from './helpers.js';

const TELEMETRY_QUEUE = 50;
let t: TestGateway;
before(async () => {
  t = await startTestGateway({
    // Small transport window so that queues fill fast; a deep reliable queue so the backlog is queued, not refused.
    limits: { highWaterBytes: 16 * 1024, telemetryQueue: TELEMETRY_QUEUE, reliableQueue: 100_000 },
  });
});
after(() => t.close());

test('an e-stop overtakes a queued command backlog and reaches every service and app', async () => {
  const motors = await RawPeer.open(t.gw.localUrl, 'service');
  motors.send({ v, type: 'hello', service: 'motors' });
  await motors.waitType('welcome');
  const other = await ServiceProbe.start(t.gw.localUrl, 'camera');
  const op = await t.app('olga');
  const watcher = await t.app('will');
  op.client.send({ v, type: 'lock.take' });
  await op.wait('lock.state', (m) => m.holder?.link === op.link);

  // The motors program stops reading: commands pile up in the gateway.
  motors.ws.pause();
  const N = 3000;
  const filler = 'x'.repeat(4000);
  for (let i = 0; i < N; i++) op.client.command('motors', `c${i}`, { i, filler });
  const queued = await until(() => {
    const d = t.gw.stats().serviceQueues['motors'] ?? 0;
    return d >= 200 && d;
  }, 'a backlog of 200 queued commands');

  // A watcher (not the operator) may stop the robot: safety over roles.
  watcher.client.send({ v, type: 'estop', reason: 'person in the way' });
  await other.wait('estop');
  const ann = await op.wait('estop');
  assert.deepEqual(ann.source, { kind: 'app', link: watcher.link, sub: 'will' });
  assert.equal(ann.reason, 'person in the way');

  motors.ws.resume();
  const seen = () => motors.got.filter((m) => m.type === 'command').length;
  await until(() => seen() === N, `all ${N} commands`, 30_000);
  const order: GatewayToService[] = motors.got.filter((m) => m.type === 'command' || m.type === 'estop');
  const at = order.findIndex((m) => m.type === 'estop');
  assert.ok(at >= 0, 'the e-stop arrived');
  const after = order.length - at - 1;
  assert.ok(after >= queued, `${after} commands after the e-stop, at least the ${queued} that were queued`);
  // Every command arrived, in order: the e-stop jumped the queue without disturbing it.
  const ids = order.filter((m) => m.type === 'command').map((m) => (m.type === 'command' ? m.id : ''));
  assert.deepEqual(
    ids,
    Array.from({ length: N }, (_, i) => `c${i}`),
  );
  motors.close();
  other.close();
  op.close();
  watcher.close();
});

test('a telemetry flood to a slow app drops oldest per service, reports the drops, and every reply arrives', async () => {
  const imu = await RawPeer.open(t.gw.localUrl, 'service');
  imu.send({ v, type: 'hello', service: 'imu' });
  await imu.waitType('welcome');
  const gps = await ServiceProbe.start(t.gw.localUrl, 'gps');
  const slow = await t.app('sam');
  const fast = await t.app('fay');
  slow.client.send({ v, type: 'lock.take' });
  await slow.wait('lock.state', (m) => m.holder?.link === slow.link);
  // The IMU service answers every command it receives (a reply travels on the congested link's reliable lane).
  imu.ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { type: string; id?: string; from?: string };
    if (m.type === 'command') imu.send({ v, type: 'reply', ref: m.id, to: m.from, ok: true, payload: m.id });
  });

  const imuSeqs = () =>
    slow
      .all('telemetry')
      .filter((m) => m.service === 'imu')
      .map((m) => (m.payload as { seq: number }).seq);
  const dropped = (svc: string) =>
    slow
      .all('drops')
      .filter((m) => m.service === svc)
      .reduce((s, m) => s + m.dropped, 0);
  slow.client.ws.pause(); // the slow app stops reading
  const N = 20_000;
  const COMMANDS = 200;
  const blob = 'y'.repeat(200);
  for (let i = 0; i < N; i++) {
    imu.send({ v, type: 'telemetry', topic: 'accel', payload: { seq: i, blob } });
    if (i % 100 === 0) slow.client.command('imu', `k${i / 100}`, { i });
    if (i % 1000 === 0) gps.client.telemetry({ fix: i });
  }
  gps.client.telemetry({ fix: 'last' });
  // The app that reads normally keeps its own account (it may drop a few when a burst outruns it).
  const fastSeen = () => fast.all('telemetry').filter((m) => m.service === 'imu').length;
  const fastDropped = () =>
    fast
      .all('drops')
      .filter((m) => m.service === 'imu')
      .reduce((s, m) => s + m.dropped, 0);
  await until(() => fastSeen() + fastDropped() === N, 'fast app: received + dropped == sent', 30_000);

  slow.client.ws.resume();
  await until(() => imuSeqs().length + dropped('imu') === N, 'received + reported dropped == sent', 30_000);
  await until(() => slow.all('reply').length === COMMANDS, 'every reply', 30_000);

  const seqs = imuSeqs();
  assert.ok(dropped('imu') > 0, 'the flood overflowed the queue');
  assert.equal(seqs.at(-1), N - 1, 'the newest telemetry survives (oldest dropped)');
  assert.ok(
    seqs.every((s, i) => i === 0 || s > seqs[i - 1]!),
    'telemetry stays in order',
  );
  const lastDrop = slow
    .all('drops')
    .filter((m) => m.service === 'imu')
    .at(-1)!;
  assert.equal(lastDrop.total, dropped('imu'), 'total counts every drop of the link');
  // Drops are per service: the quiet gps stream was not evicted by the imu flood.
  await until(
    () =>
      slow.find('telemetry', (m) => m.service === 'gps' && JSON.stringify(m.payload) === '{"fix":"last"}'),
    'gps last fix',
  );
  assert.equal(dropped('gps'), 0);
  assert.deepEqual(
    slow.all('reply').map((r) => r.ref),
    Array.from({ length: COMMANDS }, (_, i) => `k${i}`),
    'every command was answered, in order',
  );
  assert.equal(slow.all('error').length, 0);
  const m = await t.gw.metrics.registry.getSingleMetricAsString('gateway_telemetry_dropped_total');
  assert.match(
    m,
    new RegExp(`gateway_telemetry_dropped_total\\{service="imu"\\} ${dropped('imu') + fastDropped()}\\b`),
  );
  imu.close();
  gps.close();
});
