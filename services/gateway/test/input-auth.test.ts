import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { GATEWAY_ENVELOPE_VERSION as v, GatewayCloseCode } from '@robostream/protocol/gateway';
import { generateSigningKeys } from '@robostream/protocol/auth/keys';
import { DirectAppClient, GatewayError } from '../src/client/index.js';
import { startTestGateway, ServiceProbe, RawPeer, until, type TestGateway } from './helpers.js';

const MAX_FRAME = 4096;
let t: TestGateway;
before(async () => {
  t = await startTestGateway({ tls: true, limits: { maxFrameBytes: MAX_FRAME, authTimeoutMs: 400 } });
});
after(() => t.close());

async function rawApp(): Promise<RawPeer> {
  return RawPeer.open(t.gw.lanUrl!, 'app', t.tls!.cert);
}

test('the LAN listener is wss with the configured certificate', () => {
  assert.match(t.gw.lanUrl!, /^wss:\/\/127\.0\.0\.1:\d+\/v1\/app$/);
});

test('refused tokens get typed errors; the link may retry, other links keep working', async () => {
  const svc = await ServiceProbe.start(t.gw.localUrl, 'echo');
  svc.client.onCommand((c) => c.payload);
  const good = await t.app('alice');
  good.client.send({ v, type: 'lock.take' });
  await good.wait('lock.state', (m) => m.holder?.link === good.link);

  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, Promise<string> | string, string]> = [
    ['expired', t.token({ nowSec: now - 3600, ttlSec: 60 }), 'token_expired'],
    ['forged', t.token({ keys: generateSigningKeys('EdDSA') }), 'token_invalid'],
    ['garbage', 'not.a.jwt', 'token_invalid'],
    ['robot token', t.token({ role: 'robot', sub: 'r1' }), 'wrong_role'],
    ['ungranted robot', t.token({ robots: ['r2', 'r3'] }), 'forbidden'],
  ];
  for (const [what, token, code] of cases) {
    const p = await rawApp();
    p.send({ v, type: 'auth', token: await token });
    const err = await p.waitError(code);
    assert.equal(err.code, code, what);
    assert.ok(!err.message.includes('eyJ'), 'no token material echoed back');
    // Still open: the same connection can retry with a valid token.
    p.send({ v, type: 'auth', token: await t.token({ sub: 'retry' }) });
    const welcome = await p.waitType('welcome');
    assert.equal(welcome.type === 'welcome' && 'sub' in welcome && welcome.sub, 'retry', what);
    p.send({ v, type: 'auth', token: await t.token() });
    await p.waitError('already_authenticated');
    p.close();
  }

  // Missing token: anything before auth is refused, by name.
  const anon = await rawApp();
  anon.send({ v, type: 'command', id: 'x1', service: 'echo', payload: 1 });
  const e = await anon.waitError('unauthenticated');
  assert.equal(e.ref, 'x1');
  assert.equal(
    svc.find('command', (c) => c.id === 'x1'),
    undefined,
  );

  // Three refusals close the connection as unauthorized.
  const bad = await rawApp();
  for (let i = 0; i < 3; i++) bad.send({ v, type: 'auth', token: 'nope' });
  await until(() => bad.closed, 'close after 3 refusals');
  assert.equal(bad.closed?.code, GatewayCloseCode.Unauthorized);

  // The client helper surfaces the refusal as a typed error.
  await assert.rejects(
    DirectAppClient.connect({
      url: t.gw.lanUrl!,
      token: await t.token({ robots: ['elsewhere'] }),
      ca: t.tls!.cert,
    }),
    (err: unknown) => err instanceof GatewayError && err.error.code === 'forbidden',
  );

  // The authenticated operator was never disturbed.
  good.client.command('echo', 'still-fine', 42);
  assert.equal((await good.wait('reply', (m) => m.ref === 'still-fine')).payload, 42);
  anon.close();
  svc.close();
});

test('a link that never authenticates is closed after the deadline with auth_timeout', async () => {
  const p = await rawApp();
  await p.waitError('auth_timeout');
  await until(() => p.closed, 'closed');
  assert.equal(p.closed?.code, GatewayCloseCode.AuthTimeout);
});

test('malformed, mistyped and oversized app frames get typed errors and the link keeps working', async () => {
  const svc = await ServiceProbe.start(t.gw.localUrl, 'probe');
  svc.client.onCommand(() => 'pong');
  const p = await rawApp();
  p.send({ v, type: 'auth', token: await t.token({ sub: 'mallory' }) });
  await p.waitType('welcome');
  p.send({ v, type: 'lock.takeover' });
  await p.waitType('lock.state');

  const bad: Array<[unknown, string, string | undefined]> = [
    ['{not json', 'bad_json', undefined],
    ['[1,2]', 'bad_message', undefined],
    [{ type: 'command', id: 'nv', service: 'probe', payload: 1 }, 'bad_message', 'nv'],
    [{ v: 2, type: 'ping', id: 'v2' }, 'bad_message', 'v2'],
    [{ v, type: 'teleport', id: 'tt' }, 'unknown_type', 'tt'],
    [{ v, type: 'command', id: 'ty', service: 42, payload: 1 }, 'bad_message', 'ty'],
    [{ v, type: 'command', id: 'up', service: 'Probe!', payload: 1 }, 'bad_message', 'up'],
    [{ v, type: 'command', id: 'np', service: 'probe' }, 'bad_message', 'np'],
    [{ v, type: 'command', id: 'ex', service: 'probe', payload: 1, from: 'spoofed' }, 'bad_message', 'ex'],
    [{ v, type: 'hello', service: 'probe' }, 'unknown_type', undefined],
    [
      { v, type: 'command', id: 'big', service: 'probe', payload: 'z'.repeat(MAX_FRAME) },
      'frame_too_large',
      undefined,
    ],
  ];
  for (const [frame, code, ref] of bad) {
    const before = p.errors().length;
    p.send(frame);
    const err = await until(() => p.errors()[before], `error for ${JSON.stringify(frame).slice(0, 60)}`);
    assert.equal(err.code, code, JSON.stringify(frame).slice(0, 80));
    assert.equal(err.ref, ref);
    assert.ok(err.message.length > 0);
  }
  const ty = p.errors().find((e) => e.ref === 'ty');
  assert.match(ty!.message, /\/service/, 'the error names the offending field');
  // A binary frame is not JSON text.
  p.ws.send(Buffer.from([0xff, 0x00, 0x01]));
  await until(() => p.errors().filter((e) => e.code === 'bad_json').length === 2, 'binary garbage');

  // Far beyond the limit (8x) the socket itself is closed by ws (1009); the gateway and others go on.
  const huge = await rawApp();
  huge.send('h'.repeat(MAX_FRAME * 8 + 1));
  await until(() => huge.closed, 'huge frame closes the socket');
  assert.equal(huge.closed?.code, 1009);

  p.send({ v, type: 'command', id: 'after', service: 'probe', payload: null });
  const reply = await until(
    () => p.got.find((m) => m.type === 'reply' && m.ref === 'after'),
    'reply after bad input',
  );
  assert.equal(reply.type === 'reply' && reply.payload, 'pong');
  assert.equal(
    svc.got.filter((m) => m.type === 'command').length,
    1,
    'no malformed frame reached the service',
  );
  p.close();
  svc.close();
});

test('malformed service frames get typed errors and the service keeps working', async () => {
  const app = await t.app('ann');
  const s = await RawPeer.open(t.gw.localUrl, 'service');
  s.send({ v, type: 'telemetry', payload: 1 });
  await s.waitError('hello_required');
  s.send({ v, type: 'hello', service: 'Bad Name' });
  await s.waitError('bad_message');
  s.send('{oops');
  await s.waitError('bad_json');
  s.send({ v, type: 'hello', service: 'sensor' });
  await s.waitType('welcome');
  s.send({ v, type: 'hello', service: 'other' });
  await s.waitError('already_registered');
  s.send({ v, type: 'command', id: 'c', service: 'x', payload: 1 });
  await s.waitError('unknown_type');
  s.send({ v, type: 'reply', ref: 'r', ok: true });
  await until(() => s.errors().filter((e) => e.code === 'bad_message').length === 2, 'reply without to');
  s.send({ v, type: 'telemetry', payload: 'q'.repeat(MAX_FRAME) });
  await s.waitError('frame_too_large');
  s.send({ v, type: 'telemetry', payload: { ok: true } });
  await app.wait('telemetry', (m) => m.service === 'sensor');
  s.close();
});
