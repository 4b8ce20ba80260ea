import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_ENVELOPE_VERSION as v } from '@robostream/protocol/gateway';
import { startTestGateway, ServiceProbe, RawPeer, until, type TestGateway } from './helpers.js';

let t: TestGateway;
before(async () => {
  // Services on a unix socket here (the other tests use loopback TCP), apps over wss with a real certificate.
  t = await startTestGateway({ unixSocket: true, tls: true });
});
after(() => t.close());

test('app -> service command and service -> app reply, telemetry to all links and to one, events', async () => {
  const arm = await ServiceProbe.start(t.gw.localUrl, 'arm');
  arm.client.onCommand((cmd) => ({ echo: cmd.payload, by: cmd.sub }));
  const op = await t.app('alice');
  const watcher = await t.app('bob');
  assert.deepEqual(op.client.welcome?.services, [{ service: 'arm', up: true }]);
  assert.equal(op.client.welcome?.robot, 'r1');

  op.client.send({ v, type: 'lock.take', id: 'l1' });
  await op.wait('lock.state', (m) => m.holder?.link === op.link);
  op.client.command('arm', 'c1', { joint: 3, angle: 0.5 });
  const reply = await op.wait('reply', (m) => m.ref === 'c1');
  assert.deepEqual(reply, {
    v,
    type: 'reply',
    service: 'arm',
    ref: 'c1',
    ok: true,
    payload: { echo: { joint: 3, angle: 0.5 }, by: 'alice' },
  });
  const cmd = arm.find('command', (c) => c.id === 'c1');
  assert.equal(cmd?.from, op.link, 'the gateway stamps the sender link');
  assert.equal(watcher.find('reply'), undefined, 'a reply goes to its sender only');

  arm.client.telemetry({ seq: 1 }, { topic: 'joints' });
  await op.wait('telemetry', (m) => m.service === 'arm');
  const w = await watcher.wait('telemetry', (m) => m.service === 'arm');
  assert.deepEqual(w, { v, type: 'telemetry', service: 'arm', topic: 'joints', payload: { seq: 1 } });

  arm.client.telemetry({ only: 'bob' }, { to: watcher.link });
  arm.client.event({ kind: 'calibrated' });
  await watcher.wait('telemetry', (m) => JSON.stringify(m.payload) === '{"only":"bob"}');
  await op.wait('event', (m) => m.service === 'arm');
  await watcher.wait('event', (m) => m.service === 'arm');
  assert.equal(
    op.find('telemetry', (m) => JSON.stringify(m.payload) === '{"only":"bob"}'),
    undefined,
  );

  // A handler that throws produces a reply that is not ok.
  arm.client.onCommand(() => {
    throw new Error('joint limit');
  });
  op.client.command('arm', 'c2', { joint: 9 });
  const bad = await op.wait('reply', (m) => m.ref === 'c2');
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.payload, { error: 'joint limit' });
  arm.close();
  await op.wait('service.down', (m) => m.service === 'arm');
});

test('unknown service and unknown link get typed errors', async () => {
  const op = await t.app('carol');
  op.client.send({ v, type: 'lock.takeover', id: 'tk' });
  await op.wait('lock.state', (m) => m.holder?.link === op.link);
  op.client.command('nosuch', 'c9', {});
  const err = await op.wait('error', (m) => m.ref === 'c9');
  assert.equal(err.code, 'unknown_service');
  assert.equal(err.service, 'nosuch');

  const svc = await RawPeer.open(t.gw.localUrl, 'service');
  svc.send({ v, type: 'hello', service: 'lidar' });
  await svc.waitType('welcome');
  svc.send({ v, type: 'reply', ref: 'zz', to: 'gone-link', ok: true });
  assert.equal((await svc.waitError('unknown_link')).ref, 'zz');
  svc.send({ v, type: 'telemetry', payload: 1, to: 'gone-link' });
  await until(
    () => svc.errors().filter((e) => e.code === 'unknown_link').length === 2,
    'second unknown_link',
  );
  svc.close();
});

test('a service that disconnects is announced, commands get service_down, and it resumes on reconnect', async () => {
  const op = await t.app('dave');
  op.client.send({ v, type: 'lock.takeover' });
  await op.wait('lock.state', (m) => m.holder?.link === op.link);
  const base = await ServiceProbe.start(t.gw.localUrl, 'base');
  base.client.onCommand(() => 'moved');
  await op.wait('service.up', (m) => m.service === 'base');

  // A second program cannot take a name that is in use.
  const dup = await RawPeer.open(t.gw.localUrl, 'service');
  dup.send({ v, type: 'hello', service: 'base' });
  await dup.waitError('service_taken');
  dup.close();

  base.close();
  await op.wait('service.down', (m) => m.service === 'base');
  op.client.command('base', 'while-down', {});
  assert.equal((await op.wait('error', (m) => m.ref === 'while-down')).code, 'service_down');

  const restarted = await ServiceProbe.start(t.gw.localUrl, 'base');
  restarted.client.onCommand(() => 'moved again');
  await until(
    () => op.all('service.up').filter((m) => m.service === 'base').length === 2,
    'second service.up',
  );
  op.client.command('base', 'after-restart', {});
  assert.equal((await op.wait('reply', (m) => m.ref === 'after-restart')).payload, 'moved again');
  // A later app sees the service as up in its welcome.
  const late = await t.app('erin');
  assert.ok(late.client.welcome?.services.some((s) => s.service === 'base' && s.up));
  restarted.close();
});

test('the Node service client reconnects by itself when its socket drops', async () => {
  const op = await t.app('frank');
  const svc = await ServiceProbe.start(t.gw.localUrl, 'battery');
  // Cut the client's socket from underneath it, as a gateway restart would.
  (svc.client as unknown as { ws: { terminate(): void } }).ws.terminate();
  await op.wait('service.down', (m) => m.service === 'battery');
  // service.up after the service.down: the client re-registered by itself.
  await until(() => {
    const down = op.got.findIndex((m) => m.type === 'service.down' && m.service === 'battery');
    return op.got.some((m, i) => i > down && m.type === 'service.up' && m.service === 'battery');
  }, 'battery back up');
  await svc.client.ready();
  svc.client.telemetry({ level: 0.8 });
  await op.wait('telemetry', (m) => m.service === 'battery');
  svc.close();
});
