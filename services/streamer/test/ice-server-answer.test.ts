// The robot's answer never waits on a STUN/TURN server werift cannot use (issue 12). In the compose stack the
// simulated robot reaches coturn at TURN_HOST through Docker's UDP proxy, whose replies come from another address
// than the one asked; werift ignores them and retransmits its Allocate for 6.35 s before falling back to TCP, and
// its answer waits for that: the viewer's first frame came ~6.4 s after the session request. Here a TURN server
// that answers from 127.0.0.2 stands in for the proxy, and one that nothing answers for a blocked path.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { RTCPeerConnection } from 'werift';
import { loadConfig } from '../src/config.js';
import { StreamerCore } from '../src/core/streamer-core.js';
import { withoutImplicitStun } from '@robostream/protocol/ice-server-probe';
import { freeUdpPort } from '../../../test/support/coturn.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
/** Well under werift's 6.35 s of retransmissions; generous for a loaded 2-core machine. */
const QUICK_MS = 3000;

async function udpSocket(address: string, port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(port, address);
  await once(s, 'listening');
  return s;
}

/** An app's offer: one camera and the robot's audio, as the web app asks. */
async function appOffer(): Promise<{ sdp: string; close: () => Promise<void> }> {
  const app = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  app.addTransceiver('video', { direction: 'recvonly' });
  app.addTransceiver('audio', { direction: 'recvonly' });
  await app.setLocalDescription(await app.createOffer());
  return { sdp: app.localDescription?.sdp ?? '', close: () => app.close() };
}

describe('the answer does not wait for an ICE server werift cannot use', { timeout: 60_000 }, () => {
  let asked: Socket;
  let other: Socket;
  let proxied = 0;
  let silent = 0;

  before(async () => {
    // Answers every request as coturn does an unauthenticated Allocate (401), but from 127.0.0.2.
    asked = await udpSocket('127.0.0.1');
    proxied = asked.address().port;
    other = await udpSocket('127.0.0.2', proxied);
    asked.on('message', (msg, rinfo) => {
      if (msg.length < 20) return;
      const reply = Buffer.alloc(20);
      reply.writeUInt16BE(0x0100 | 0x0010 | (msg.readUInt16BE(0) & 0x000f), 0); // error response
      msg.copy(reply, 4, 4, 20); // magic cookie and transaction id
      other.send(reply, rinfo.port, rinfo.address);
    });
    silent = await freeUdpPort();
  });

  after(() => {
    asked.close();
    other.close();
  });

  for (const [name, port] of [
    ['a TURN server answering from another address (Docker UDP proxy)', () => proxied],
    ['a TURN server that does not answer at all', () => silent],
  ] as const) {
    test(name, async () => {
      const core = await StreamerCore.start(
        loadConfig({}, { audioSink: 'none', videoSink: 'none', lingerMs: 0 }),
        { log },
      );
      const offer = await appOffer();
      try {
        const iceServers = [
          { urls: [`turn:127.0.0.1:${port()}?transport=udp`], username: 'u', credential: 'c' },
        ];
        const started = performance.now();
        const viewer = await core.openViewer(offer.sdp, { iceServers });
        const ms = performance.now() - started;
        assert.match(viewer.answerSdp, /a=candidate:.* typ host/, 'the answer carries the host candidates');
        assert.ok(ms < QUICK_MS, `the answer took ${ms.toFixed(0)} ms`);
      } finally {
        await offer.close();
        await core.close();
      }
    });
  }
});

test("without a stun: URL werift's own default (stun.l.google.com) is not queried; a given one is kept", async () => {
  // werift fills in stun.l.google.com:19302 whenever no stun: URL is given and waits up to 5 s for it while
  // gathering: on a robot whose UDP to the internet is blocked, every answer would wait that long.
  for (const [servers, kept] of [
    [[{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'c' }], false],
    [[{ urls: 'stun:127.0.0.1:3478' }], true],
  ] as const) {
    const pc = new RTCPeerConnection({
      iceServers: servers.map((s) => ({ ...s })),
      bundlePolicy: 'max-bundle',
    });
    try {
      pc.addTransceiver('video', { direction: 'sendonly' });
      const agents = pc.dtlsTransports.map((d) => d.iceTransport.connection);
      assert.ok(
        agents.length > 0 && agents.every((a) => a.stunServer !== undefined),
        'werift set a STUN server',
      );
      withoutImplicitStun(
        pc,
        servers.map((s) => ({ urls: s.urls })),
      );
      assert.deepEqual(
        agents.map((a) => a.stunServer),
        agents.map(() => (kept ? ['127.0.0.1', 3478] : undefined)),
      );
    } finally {
      await pc.close();
    }
  }
});
