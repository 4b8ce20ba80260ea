/** The welcome carries coturn REST credentials that coturn's own algorithm accepts, with a bounded life. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { TestKeys } from '../../../test/support/tokens.js';
import { RawSocket, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();
const SECRET = 'test-secret-0123456789abcdef';

describe('TURN credentials', () => {
  let s: RunningSignaling;
  before(async () => {
    s = await startSignaling(keys, {
      TURN_URLS: 'turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp',
      TURN_SECRET: SECRET,
      TURN_TTL_SEC: '600',
      STUN_URLS: 'stun:127.0.0.1:3478',
    });
  });
  after(() => s.stop());

  test('welcome: STUN plus TURN with "<expiry>:<peer>" and base64 HMAC-SHA1, expiring after the TTL', async () => {
    const ws = await RawSocket.open(s.url);
    const w = await ws.authenticate(await keys.app('op-1', '*'));
    assert.deepEqual(w.iceServers[0], { urls: ['stun:127.0.0.1:3478'] });
    const turn = w.iceServers[1]!;
    assert.deepEqual(turn.urls, ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp']);
    const [expiry, peer] = turn.username!.split(':');
    assert.equal(peer, 'op-1');
    const now = Date.now() / 1000;
    assert.ok(Math.abs(Number(expiry) - (now + 600)) < 5);
    assert.equal(turn.credential, createHmac('sha1', SECRET).update(turn.username!).digest('base64'));
    assert.equal(w.iceServersExpireAt, Number(expiry) * 1000);
    ws.close();
  });

  test('refresh_ice_servers hands out fresh credentials', async () => {
    const ws = await RawSocket.open(s.url);
    const w = await ws.authenticate(await keys.robot('rover-1'));
    await new Promise((r) => setTimeout(r, 1100));
    ws.send({ type: 'refresh_ice_servers', ref: 'r' });
    const fresh = await ws.next('ice_servers', (m) => m.ref === 'r');
    assert.ok(fresh.iceServersExpireAt! > w.iceServersExpireAt!);
    assert.notEqual(fresh.iceServers[1]!.credential, w.iceServers[1]!.credential);
    ws.close();
  });
});
