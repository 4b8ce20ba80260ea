/**
 * Client IPs behind a load balancer: X-Forwarded-For is read only as far as the hops this deployment trusts, so the
 * entries a client writes itself (the left-most ones) can never become its identity for the per-IP limits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { TestKeys } from '../../../test/support/tokens.js';
import { startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';

const keys = new TestKeys();

/** A WebSocket upgrade as the load balancer forwards it: 101 when accepted, else the HTTP status. */
function upgradeStatus(url: string, forwardedFor: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { 'x-forwarded-for': forwardedFor } });
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

describe('TRUST_PROXY as the load balancer range', () => {
  let s: RunningSignaling;
  before(async () => {
    // The test client plays the load balancer (loopback), listed with an unrelated range.
    s = await startSignaling(keys, {
      TRUST_PROXY: '10.9.0.0/16, 127.0.0.1/32',
      CONNECTIONS_PER_IP_PER_MIN: '3',
    });
  });
  after(() => s.stop());

  test('a forged left-most X-Forwarded-For entry does not escape the per-IP limit', async () => {
    // The client at 203.0.113.7 writes a fresh fake address each time; the proxy appends the real one.
    const statuses = [];
    for (let i = 1; i <= 5; i++) statuses.push(await upgradeStatus(s.url, `6.6.6.${i}, 203.0.113.7`));
    assert.deepEqual(statuses, [101, 101, 101, 429, 429]);
    // Another client behind the same proxy is counted on its own.
    assert.equal(await upgradeStatus(s.url, '6.6.6.1, 198.51.100.9'), 101);
  });
});
