import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_ENVELOPE_VERSION as v } from '@robostream/protocol/gateway';
import { startTestGateway, ServiceProbe, until, type TestGateway } from './helpers.js';

const DEADMAN_MS = 300;
let t: TestGateway;
before(async () => {
  t = await startTestGateway({ limits: { deadmanMs: DEADMAN_MS } });
});
after(() => t.close());

test('lock take, refused take, takeover and release are announced to every app and service', async () => {
  const svc = await ServiceProbe.start(t.gw.localUrl, 'drive');
  svc.client.onCommand(() => 'ok');
  const a = await t.app('alice');
  const b = await t.app('bob');
  assert.deepEqual(a.client.welcome?.lock, { holder: null, cause: 'current' });

  // A watcher cannot command.
  b.client.command('drive', 'b0', { v: 1 });
  const refused = await b.wait('error', (m) => m.ref === 'b0');
  assert.equal(refused.code, 'not_operator');
  assert.equal(
    svc.find('command', (c) => c.id === 'b0'),
    undefined,
    'a refused command never reaches the service',
  );

  a.client.send({ v, type: 'lock.take', id: 't1' });
  const taken = { holder: { link: a.link, sub: 'alice' }, cause: 'take' };
  for (const p of [a, b])
    assert.deepEqual(await p.wait('lock.state', (m) => m.cause === 'take'), {
      v,
      type: 'lock.state',
      ...taken,
    });
  await svc.wait('lock.state', (m) => m.cause === 'take' && m.holder?.link === a.link);

  b.client.send({ v, type: 'lock.take', id: 't2' });
  assert.equal((await b.wait('error', (m) => m.ref === 't2')).code, 'lock_held');
  b.client.send({ v, type: 'lock.release', id: 'r0' });
  assert.equal((await b.wait('error', (m) => m.ref === 'r0')).code, 'not_operator');

  a.client.command('drive', 'a1', {});
  await a.wait('reply', (m) => m.ref === 'a1');

  b.client.send({ v, type: 'lock.takeover', id: 'to' });
  const over = await a.wait('lock.state', (m) => m.cause === 'takeover');
  assert.deepEqual(over.holder, { link: b.link, sub: 'bob' });
  assert.deepEqual(over.previous, { link: a.link, sub: 'alice' });
  await svc.wait('lock.state', (m) => m.cause === 'takeover');
  a.client.command('drive', 'a2', {});
  assert.equal(
    (await a.wait('error', (m) => m.ref === 'a2')).code,
    'not_operator',
    'the previous operator lost control',
  );
  b.client.command('drive', 'b1', {});
  await b.wait('reply', (m) => m.ref === 'b1');

  b.client.send({ v, type: 'lock.release' });
  const rel = await a.wait('lock.state', (m) => m.cause === 'release');
  assert.equal(rel.holder, null);
  await svc.wait('lock.state', (m) => m.cause === 'release');
  assert.equal(t.gw.stats().lock, null);
  const metrics = await t.gw.metrics.registry.getSingleMetricAsString('gateway_lock_held');
  assert.match(metrics, /gateway_lock_held 0/);
  a.close();
  b.close();
  svc.close();
});

test('deadman trips when the operator goes silent, clears when it speaks, and trips at once when its link drops', async () => {
  const svc = await ServiceProbe.start(t.gw.localUrl, 'wheels');
  const op = await t.app('olivia');
  const watcher = await t.app('walter');
  op.client.send({ v, type: 'lock.take' });
  await op.wait('lock.state', (m) => m.cause === 'take' && m.holder?.link === op.link);

  // The operator says nothing now: the window passes.
  const tripped = await svc.wait('deadman', (m) => m.status === 'tripped');
  assert.deepEqual(tripped.holder, { link: op.link, sub: 'olivia' });
  assert.ok(tripped.silentMs >= DEADMAN_MS, `silentMs ${tripped.silentMs} >= window`);
  await watcher.wait('deadman', (m) => m.status === 'tripped');
  await op.wait('deadman', (m) => m.status === 'tripped');
  assert.equal(t.gw.stats().deadman, 'tripped');

  op.client.send({ v, type: 'ping', id: 'alive' });
  await svc.wait('deadman', (m) => m.status === 'ok');
  await watcher.wait('deadman', (m) => m.status === 'ok');
  await op.wait('pong', (m) => m.ref === 'alive');

  // A watcher's messages do not keep the operator's deadman alive.
  const trips = () => svc.got.filter((m) => m.type === 'deadman' && m.status === 'tripped').length;
  const pinger = setInterval(() => watcher.client.send({ v, type: 'ping' }), 20);
  await until(() => trips() === 2, 'second trip while only the watcher talks');
  clearInterval(pinger);

  // Regular heartbeats keep it clear: no trip during several windows of pings.
  op.client.send({ v, type: 'ping' });
  await until(
    () => svc.got.filter((m) => m.type === 'deadman' && m.status === 'ok').length === 2,
    'clear again',
  );
  const beat = setInterval(() => op.client.send({ v, type: 'ping' }), DEADMAN_MS / 5);
  const pongsBefore = op.all('pong').length;
  await until(() => op.all('pong').length >= pongsBefore + 20, '20 heartbeats (4 windows)');
  clearInterval(beat);
  assert.equal(trips(), 2, 'no trip while the operator sends heartbeats');

  // The operator vanishes: lock freed with cause link_closed and deadman tripped without waiting.
  op.close();
  await watcher.wait('lock.state', (m) => m.cause === 'link_closed');
  await until(() => trips() === 3, 'trip on link loss');
  await watcher.wait('lock.state', (m) => m.cause === 'link_closed' && m.previous?.sub === 'olivia');

  // A new operator taking the lock clears it.
  watcher.client.send({ v, type: 'lock.take' });
  await until(
    () => svc.got.filter((m) => m.type === 'deadman' && m.status === 'ok').length === 3,
    'clear on new take',
  );
  watcher.client.send({ v, type: 'lock.release' });
  await watcher.wait('lock.state', (m) => m.cause === 'release');
  svc.close();
});
