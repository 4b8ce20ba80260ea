/** Logs, metrics and health as an operator sees them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, eventually, spawnSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();
const otherKeys = new TestKeys();
const SECRET = 'never-log-this-secret-0123456789';

test('logs at trace level never contain tokens, TURN secrets or credentials; /metrics and /healthz answer', async () => {
  const s = await spawnSignaling(keys, {
    LOG_LEVEL: 'trace',
    TURN_URLS: 'turn:127.0.0.1:3478',
    TURN_SECRET: SECRET,
  });
  try {
    const goodRobot = await keys.robot('rover-1');
    const goodApp = await keys.app('op', '*');
    const forged = await otherKeys.app('evil', '*');

    const robot = await RawSocket.open(s.url);
    const w = await robot.authenticate(goodRobot);
    robot.send({ type: 'register', endpoint: 'media' });
    await robot.next('registered');
    const app = await RawSocket.open(s.url);
    await app.authenticate(goodApp);
    app.send({ type: 'session_open', ref: 'o', robotId: 'rover-1', endpoint: 'media' });
    await robot.next('session_request');
    const bad = await RawSocket.open(s.url);
    bad.send({ type: 'authenticate', token: forged });
    await bad.waitClosed();
    app.send({ type: 'authenticate', token: goodApp });
    await app.next('error');

    const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
    assert.match(metrics, /signaling_connections\{role="robot"\} 1/);
    assert.match(metrics, /signaling_connections\{role="app"\} 1/);
    assert.match(metrics, /signaling_sessions 2/);
    assert.match(metrics, /signaling_messages_total\{type="session_open"\} 1/);
    assert.match(metrics, /signaling_errors_total\{code="token_invalid"\} 1/);
    assert.match(metrics, /signaling_routed_total\{kind="session_request",outcome="sent"\} 1/);
    assert.match(metrics, /process_cpu_seconds_total/);
    const health = await fetch(`${s.httpUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(((await health.json()) as { status: string; router: string }).router, 'local');

    robot.close();
    app.close();
    await eventually(() => s.output().includes('disconnected'), 5000, 'disconnect logged');
    const logs = s.output();
    assert.match(logs, /authentication refused/, 'the refusal itself is logged');
    assert.match(logs, /"sub":"rover-1"/, 'identities are logged');
    for (const [name, secret] of [
      ['robot token', goodRobot],
      ['app token', goodApp],
      ['forged token', forged],
      ['token signature', goodApp.split('.')[2]!],
      ['TURN secret', SECRET],
      ['TURN credential', w.iceServers[0]!.credential!],
    ] as const) {
      assert.ok(!logs.includes(secret), `${name} leaked into the logs`);
    }
  } finally {
    await s.kill();
  }
});
