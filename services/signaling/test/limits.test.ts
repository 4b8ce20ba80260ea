/** Connection attempts per IP and sessions per app: whoever exceeds them is refused, everyone else is not. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

describe('limits', () => {
  let s: RunningSignaling;
  before(async () => {
    s = await startSignaling(keys, { CONNECTIONS_PER_IP_PER_MIN: '6', MAX_SESSIONS_PER_APP: '2' });
  });
  after(() => s.stop());

  test('sessions per app: the third is refused until one closes', async () => {
    const robot = await RawSocket.open(s.url);
    await robot.authenticate(await keys.robot('rover-1'));
    robot.send({ type: 'register', endpoint: 'media' });
    await robot.next('registered');
    const app = await RawSocket.open(s.url);
    await app.authenticate(await keys.app('greedy', '*'));
    const ids: string[] = [];
    for (const ref of ['a', 'b']) {
      app.send({ type: 'session_open', ref, robotId: 'rover-1', endpoint: 'media' });
      ids.push((await app.next('session_created', (m) => m.ref === ref)).sessionId);
    }
    app.send({ type: 'session_open', ref: 'c', robotId: 'rover-1', endpoint: 'media' });
    assert.equal((await app.next('error', (m) => m.ref === 'c')).code, 'session_limit');
    app.send({ type: 'session_close', sessionId: ids[0]!, reason: 'done' });
    await app.next('session_closed');
    app.send({ type: 'session_open', ref: 'd', robotId: 'rover-1', endpoint: 'media' });
    await app.next('session_created', (m) => m.ref === 'd');
    robot.close();
    app.close();
  });

  test('connection attempts per IP: past the limit upgrades get HTTP 429; open connections are unaffected', async () => {
    // This file's other test used 2 of the 6 upgrades.
    const open = await RawSocket.open(s.url);
    await open.authenticate(await keys.app('steady', '*'));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await upgradeStatus(s.url));
    assert.deepEqual(statuses, [101, 101, 101, 429, 429]);
    open.send({ type: 'ping', ref: 'still' });
    await open.next('pong');
    const health = await fetch(`${s.httpUrl}/healthz`);
    assert.equal(health.status, 200, 'HTTP routes are not limited by the WebSocket limit');
    open.close();
  });
});
