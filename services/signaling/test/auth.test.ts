/** The auth matrix, case by case: who may connect, as what, and reach which robot. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, client, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();
const otherKeys = new TestKeys();

describe('authentication and authorization', () => {
  let s: RunningSignaling;
  before(async () => {
    s = await startSignaling(keys, { AUTH_TIMEOUT_MS: '400' });
  });
  after(() => s.stop());

  async function refused(token: unknown, code: string): Promise<void> {
    const ws = await RawSocket.open(s.url);
    ws.send({ type: 'authenticate', ref: 'a', token });
    const err = await ws.next('error');
    assert.equal(err.code, code);
    assert.equal(err.ref, 'a');
    // The refusal closes the connection itself (the auth timeout would close with 4408).
    assert.equal((await ws.waitClosed()).code, 4401);
  }

  test('a forged token (signed by another key) is refused', async () => {
    await refused(await otherKeys.robot('rover-1'), 'token_invalid');
  });
  test('a tampered token is refused', async () => {
    const t = await keys.app('op', ['rover-1']);
    const [h, p, sig] = t.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload['robots'] = '*';
    await refused(
      `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`,
      'token_invalid',
    );
  });
  test('an expired token is refused', async () => {
    await refused(await keys.robot('rover-1', 60, Math.floor(Date.now() / 1000) - 3600), 'token_expired');
  });
  test('garbage is refused', async () => {
    await refused('not-a-jwt', 'token_invalid');
  });
  test('an empty, missing, non-string or over-long token is refused like a bad signature (4401 at once)', async () => {
    await refused('', 'token_invalid');
    await refused('x'.repeat(8193), 'token_invalid');
    await refused(undefined, 'token_invalid');
    await refused(42, 'token_invalid');
  });
  test('an unsigned (alg none) token is refused', async () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    await refused(
      `${enc({ alg: 'none' })}.${enc({ role: 'app', sub: 'x', robots: '*', exp: now + 60, iss: 'robostream', aud: 'robostream' })}.`,
      'token_invalid',
    );
  });
  test('a token for another audience or issuer is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [
      { iss: 'robostream', aud: 'elsewhere' },
      { iss: 'elsewhere', aud: 'robostream' },
    ]) {
      const t = await new SignJWT({ role: 'robot', ...claims })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject('rover-1')
        .setExpirationTime(now + 60)
        .sign(keys.keys.privateKey);
      await refused(t, 'token_invalid');
    }
  });
  test('a token with a role that does not exist is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const t = await new SignJWT({ role: 'admin', iss: 'robostream', aud: 'robostream' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setSubject('root')
      .setExpirationTime(now + 60)
      .sign(keys.keys.privateKey);
    await refused(t, 'token_invalid');
  });
  test('ES256 deployment keys work as well as EdDSA', async () => {
    const es = new TestKeys('ES256');
    const s2 = await startSignaling(es);
    const ws = await RawSocket.open(s2.url);
    assert.equal((await ws.authenticate(await es.robot('rover-9'))).subject, 'rover-9');
    ws.close();
    await s2.stop();
  });

  test('a connection that does not authenticate in time is closed with auth_timeout', async () => {
    const ws = await RawSocket.open(s.url);
    assert.equal((await ws.next('error')).code, 'auth_timeout');
    assert.equal((await ws.waitClosed()).code, 4408);
  });

  test('messages before authenticate get unauthenticated, and the connection can still authenticate', async () => {
    const ws = await RawSocket.open(s.url);
    ws.send({ type: 'list_robots', ref: 'early' });
    const err = await ws.next('error');
    assert.deepEqual([err.code, err.ref], ['unauthenticated', 'early']);
    await ws.authenticate(await keys.app('op', '*'));
    ws.send({ type: 'authenticate', ref: 'again', token: await keys.app('op', '*') });
    assert.equal((await ws.next('error', (m) => m.ref === 'again')).code, 'already_authenticated');
    ws.close();
  });

  test('a connection ends when its token expires', async () => {
    const ws = await RawSocket.open(s.url);
    await ws.authenticate(await keys.app('op', '*', 1));
    assert.equal((await ws.next('error', () => true, 8000)).code, 'token_expired');
    assert.equal((await ws.waitClosed()).code, 4401);
  });

  test('roles: apps cannot register, robots cannot list or open sessions', async () => {
    const app = await RawSocket.open(s.url);
    await app.authenticate(await keys.app('op', '*'));
    app.send({ type: 'register', ref: 'r', endpoint: 'media' });
    assert.equal((await app.next('error', (m) => m.ref === 'r')).code, 'wrong_role');
    const robot = await RawSocket.open(s.url);
    await robot.authenticate(await keys.robot('rover-1'));
    for (const msg of [
      { type: 'list_robots', ref: 'l' },
      { type: 'subscribe_presence', ref: 'p' },
      { type: 'session_open', ref: 'o', robotId: 'rover-1', endpoint: 'media' },
    ]) {
      robot.send(msg);
      assert.equal((await robot.next('error', (m) => m.ref === msg.ref)).code, 'wrong_role');
    }
    app.close();
    robot.close();
  });

  test('a robot cannot register as another robot: identity comes from the token only', async () => {
    const robot = await RawSocket.open(s.url);
    await robot.authenticate(await keys.robot('rover-1'));
    robot.send({ type: 'register', ref: 'x', endpoint: 'media', robotId: 'rover-2' });
    const err = await robot.next('error', (m) => m.ref === 'x');
    assert.equal(err.code, 'bad_message');
    robot.send({ type: 'register', ref: 'y', endpoint: 'media' });
    assert.equal((await robot.next('registered', (m) => m.ref === 'y')).robotId, 'rover-1');
    robot.close();
  });

  test('an app reaches only the robots its token grants, in lists, presence and sessions', async () => {
    const r1 = client(s.url, await keys.robot('granted-1'), { endpoints: [{ name: 'media' }] });
    const r2 = client(s.url, await keys.robot('hidden-2'), { endpoints: [{ name: 'media' }] });
    await r1.connect();
    await r2.connect();
    const app = await RawSocket.open(s.url);
    await app.authenticate(await keys.app('op', ['granted-1']));
    app.send({ type: 'subscribe_presence', ref: 's' });
    const sub = await app.next('subscribed');
    assert.deepEqual(
      sub.robots.map((r) => r.robotId),
      ['granted-1'],
    );
    app.send({ type: 'session_open', ref: 'o', robotId: 'hidden-2', endpoint: 'media' });
    assert.equal((await app.next('error', (m) => m.ref === 'o')).code, 'forbidden');
    // Presence of an ungranted robot never reaches this app.
    r2.close();
    r1.close();
    const offline = await app.next('presence', (m) => !m.online);
    assert.equal(offline.robotId, 'granted-1');
    assert.equal(app.received.filter((m) => m.type === 'presence' && m.robotId === 'hidden-2').length, 0);
    app.close();
  });

  test('a peer cannot speak for a session it does not hold', async () => {
    const robot = client(s.url, await keys.robot('rover-7'), { endpoints: [{ name: 'media' }] });
    robot.on('session_request', (m) => void robot.acceptSession(m.sessionId));
    await robot.connect();
    const owner = client(s.url, await keys.app('owner', '*'));
    await owner.connect();
    const sessionId = await owner.openSession('rover-7', 'media');
    const intruder = await RawSocket.open(s.url);
    await intruder.authenticate(await keys.app('intruder', '*'));
    intruder.send({ type: 'offer', ref: 'i', sessionId, sdp: 'v=0' });
    assert.equal((await intruder.next('error', (m) => m.ref === 'i')).code, 'unknown_session');
    intruder.send({ type: 'session_close', ref: 'c', sessionId, reason: 'x' });
    assert.equal((await intruder.next('error', (m) => m.ref === 'c')).code, 'unknown_session');
    // Another robot cannot accept it either.
    const other = await RawSocket.open(s.url);
    await other.authenticate(await keys.robot('rover-8'));
    other.send({ type: 'session_accept', ref: 'a', sessionId });
    assert.equal((await other.next('error', (m) => m.ref === 'a')).code, 'unknown_session');
    intruder.close();
    other.close();
    owner.close();
    robot.close();
  });

  test('a client with a static token that is refused stops instead of retrying', async () => {
    const c = client(s.url, await otherKeys.app('op', '*'));
    await assert.rejects(c.connect(), /connection refused/);
    assert.equal(c.state, 'closed');
  });
});
