/**
 * WHEP with two instances sharing a real Redis and no stickiness: the session's resource URL works on either, so a
 * DELETE that lands on the instance that did not take the POST still ends the session at the robot.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { startRedis, type RedisHandle } from '../../../test/support/docker.js';

const keys = new TestKeys();
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

describe('WHEP across instances', () => {
  let redis: RedisHandle;
  let a: RunningSignaling;
  let b: RunningSignaling;
  let robot: RawSocket;
  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `w${randomBytes(3).toString('hex')}:` };
    a = await startSignaling(keys, env);
    b = await startSignaling(keys, env);
    robot = await RawSocket.open(b.url);
    await robot.authenticate(await keys.robot('cam-1'));
    robot.send({ type: 'register', endpoint: 'media' });
    await robot.next('registered');
  });
  after(async () => {
    robot?.close();
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  /** A WHEP session started through `via`, the robot answering; resolves with the resource URL path. */
  async function startSession(
    via: RunningSignaling,
    token: string,
  ): Promise<{ location: string; sessionId: string }> {
    const res = fetch(`${via.httpUrl}/v1/robots/cam-1/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: OFFER,
    });
    const req = await robot.next('session_request');
    robot.send({ type: 'session_accept', sessionId: req.sessionId });
    await robot.next('offer', (m) => m.sessionId === req.sessionId);
    robot.send({ type: 'answer', sessionId: req.sessionId, sdp: 'v=0 answer' });
    const r = await res;
    assert.equal(r.status, 201);
    return { location: r.headers.get('location')!, sessionId: req.sessionId };
  }

  const del = (via: RunningSignaling, location: string, token: string) =>
    fetch(`${via.httpUrl}${location}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });

  test('a DELETE on the other instance ends the session at the robot', async () => {
    const token = await keys.app('viewer', ['cam-1']);
    const { location, sessionId } = await startSession(a, token);
    // Only its subject may end it, on any instance; to anyone else it does not exist.
    assert.equal((await del(b, location, await keys.app('someone-else', ['cam-1']))).status, 404);
    assert.equal((await del(b, location, token)).status, 200);
    const closed = await robot.next('session_closed', (m) => m.sessionId === sessionId);
    assert.equal(closed.by, 'peer');
    // Gone everywhere afterwards.
    assert.equal((await del(a, location, token)).status, 404);
    assert.equal((await del(b, location, token)).status, 404);
  });

  test('the session started on either instance can be ended through either', async () => {
    const token = await keys.app('viewer-2', ['cam-1']);
    for (const [start, end] of [
      [b, a],
      [a, a],
      [b, b],
    ] as const) {
      const { location, sessionId } = await startSession(start, token);
      assert.equal((await del(end, location, token)).status, 200);
      await robot.next('session_closed', (m) => m.sessionId === sessionId);
    }
  });
});
