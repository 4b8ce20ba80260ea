// The ICE server probe against a real coturn (answers an unauthenticated Allocate with 401) and against ports
// where nothing answers: unreachable servers are left out quickly, reachable ones kept, results cached.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
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

/** A UDP socket bound to `address:port` (0: any free port). */
async function udpSocket(address: string, port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(port, address);
  await once(s, 'listening');
  return s;
}

test('a TURN server whose answers come from another address than the one asked is not usable', async () => {
  // Docker's UDP proxy, seen from a container that reaches a published port at the host's address: the request
  // goes to one address, the 401 comes back from the host's address on the container's network (same port).
  // werift ignores such answers and retransmits for 6.35 s before it gives up, so the probe must not count them.
  const asked = await udpSocket('127.0.0.1');
  const { port } = asked.address();
  const other = await udpSocket('127.0.0.2', port);
  let replyFrom: Socket = other;
  asked.on('message', (msg, rinfo) => {
    const reply = Buffer.alloc(20);
    reply.writeUInt16BE(0x0113, 0); // Allocate error response (an unauthenticated Allocate gets a 401)
    msg.copy(reply, 4, 4, 20); // magic cookie and transaction id
    replyFrom.send(reply, rinfo.port, rinfo.address);
  });
  try {
    const target = { scheme: 'turn', host: '127.0.0.1', port, transport: 'udp' } as const;
    assert.equal(await probeIceUrl(target, 400), false, 'answered from 127.0.0.2');
    replyFrom = asked;
    assert.equal(await probeIceUrl(target, 400), true, 'answered from the address asked');
  } finally {
    asked.close();
    other.close();
  }
});

test('a name that does not resolve is not usable, and probing it throws nothing (UDP and TCP)', async () => {
  // `.invalid` never resolves (RFC 2606). The connected UDP socket's connect fails; a send on it would throw
  // outside any promise and take the process down.
  const errors: unknown[] = [];
  const onError = (e: unknown): void => void errors.push(e);
  process.on('uncaughtException', onError);
  try {
    for (const transport of ['udp', 'tcp'] as const) {
      const target = { scheme: 'turn', host: 'turn.robostream.invalid', port: 3478, transport } as const;
      assert.equal(await probeIceUrl(target, 1000), false, transport);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(errors, []);
  } finally {
    process.off('uncaughtException', onError);
  }
});
