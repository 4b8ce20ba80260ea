// The ICE server probe against a real coturn (answers an unauthenticated Allocate with 401) and against ports
// where nothing answers: unreachable servers are left out quickly, reachable ones kept, results cached.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { IceServerProbe, parseIceUrl, probeIceUrl } from '../src/node/ice-server-probe.js';
import { freeUdpPort, startCoturn, type Coturn } from '../../../test/support/coturn.js';

let coturn: Coturn;
before(async () => {
  coturn = await startCoturn();
});
after(() => coturn.stop());

test('ICE URLs parse with their defaults', () => {
  assert.deepEqual(parseIceUrl('stun:stun.example.org'), {
    scheme: 'stun',
    host: 'stun.example.org',
    port: 3478,
    transport: 'udp',
  });
  assert.deepEqual(parseIceUrl('turn:[::1]:3479?transport=tcp'), {
    scheme: 'turn',
    host: '::1',
    port: 3479,
    transport: 'tcp',
  });
  assert.equal(parseIceUrl('turns:t.example.org')?.port, 5349);
  assert.equal(parseIceUrl('http://x'), null);
});

test('a real coturn answers the TURN and STUN probes; a silent port does not', async () => {
  const port = coturn.port;
  assert.equal(await probeIceUrl({ scheme: 'turn', host: '127.0.0.1', port, transport: 'udp' }, 1000), true);
  assert.equal(await probeIceUrl({ scheme: 'stun', host: '127.0.0.1', port, transport: 'udp' }, 1000), true);
  const silent = await freeUdpPort();
  const started = performance.now();
  assert.equal(
    await probeIceUrl({ scheme: 'turn', host: '127.0.0.1', port: silent, transport: 'udp' }, 400),
    false,
  );
  assert.ok(performance.now() - started < 1500);
});

test('usable() keeps what answers, drops what does not, and answers from cache afterwards', async () => {
  const silent = await freeUdpPort();
  const probe = new IceServerProbe({ timeoutMs: 400 });
  const servers = [
    {
      urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`, `turn:127.0.0.1:${silent}?transport=udp`],
      username: 'u',
      credential: 'c',
    },
    { urls: `stun:127.0.0.1:${silent}` },
  ];
  const first = await probe.usable(servers);
  assert.deepEqual(first, [
    { urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`], username: 'u', credential: 'c' },
  ]);
  const started = performance.now();
  assert.deepEqual(await probe.usable(servers), first);
  assert.ok(performance.now() - started < 50, 'the second answer comes from the cache');
});

test('usableNow() never waits: unknown URLs are kept and probed, known-dead ones are left out once learned', async () => {
  const asked: string[] = [];
  const probe = new IceServerProbe({
    timeoutMs: 50,
    prober: (t) => {
      asked.push(`${t.host}:${t.port}`);
      return Promise.resolve(t.port !== 9);
    },
  });
  const servers = [
    { urls: ['turn:198.51.100.7:3478', 'turn:198.51.100.7:9'], username: 'u', credential: 'c' },
  ];
  assert.deepEqual(probe.usableNow(servers), servers, 'nothing known yet: everything kept');
  assert.deepEqual(asked.sort(), ['198.51.100.7:3478', '198.51.100.7:9']);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(probe.usableNow(servers), [
    { urls: ['turn:198.51.100.7:3478'], username: 'u', credential: 'c' },
  ]);
});
