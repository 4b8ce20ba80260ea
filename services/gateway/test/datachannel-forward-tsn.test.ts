/**
 * An app's reliable messages cross while its lossy ones are lost and forwarded past (FORWARD TSN): the gateway's
 * DataChannelSession and DataChannelAppLink against a werift app in the same process, over loopback. Every
 * packet the app sends with a lossy DATA chunk in it is lost on the way, so each lossy message is abandoned and
 * forwarded past while a reliable message of 14 fragments sent after it is partly across. werift 0.24.4's own
 * FORWARD TSN handling dropped those fragments and nothing more arrived on the reliable channel (the two-link
 * upload stall, docs/gateway.md); the session installs src/signaling/werift-forward-tsn.ts against it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import type { EndpointLog, SessionContext } from '@robostream/protocol/client';
import { DataChannelSession } from '../src/signaling/datachannel-session.js';
import { GatewayMetrics } from '../src/hub/metrics.js';
import type { AppLink } from '../src/links/app-link.js';
import { until } from './helpers.js';

const DATA = 0;
const FORWARD_TSN = 192;
const MESSAGES = 40;

const quiet: EndpointLog = { debug() {}, info() {}, warn() {}, child: () => quiet };

let app: RTCPeerConnection;
let reliable: RTCDataChannel;
let lossy: RTCDataChannel;
let session: DataChannelSession;
let link: AppLink;
const reliableIn: string[] = [];
const wire = { lossyDropped: 0, forwardTsns: 0 };

/** The chunk types in an SCTP packet, and the stream of each DATA chunk (-1 for other chunks). */
function chunksOf(packet: Buffer): { type: number; stream: number }[] {
  const out: { type: number; stream: number }[] = [];
  for (let off = 12; off + 4 <= packet.length;) {
    const type = packet[off]!;
    const length = packet.readUInt16BE(off + 2);
    out.push({ type, stream: type === DATA ? packet.readUInt16BE(off + 8) : -1 });
    off += (length + 3) & ~3;
    if (length < 4) break;
  }
  return out;
}

before(async () => {
  app = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceAdditionalHostAddresses: ['127.0.0.1'] });
  const ctx: SessionContext = {
    sessionId: 'forward-tsn',
    app: 'app',
    grants: [],
    meta: undefined,
    label: 'test',
    iceServers: [],
    log: quiet,
    localCandidate: (c) => {
      if (c)
        void app.addIceCandidate({
          ...c,
          sdpMid: c.sdpMid ?? undefined,
          sdpMLineIndex: c.sdpMLineIndex ?? 0,
        });
    },
    connectionState: () => undefined,
    ended: () => undefined,
  };
  let attached: AppLink | undefined;
  session = new DataChannelSession(ctx, {
    iceTransportPolicy: 'all',
    includeLoopback: true,
    highWaterBytes: 32 * 1024,
    attachLink: (l) => {
      attached = l;
      return 'link-1';
    },
    metrics: new GatewayMetrics(false),
    onEnded: () => undefined,
  });
  // The contract's channels, before the offer; lossy with maxRetransmits 1 rather than 0: werift as a sender
  // reads 0 as "no limit" and never gives a message up. With 1, a message is abandoned once its retransmission
  // is lost too.
  reliable = app.createDataChannel('gateway-reliable', { ordered: true });
  lossy = app.createDataChannel('gateway-lossy', { ordered: false, maxRetransmits: 1 });
  app.onIceCandidate.subscribe((c) => {
    if (c)
      void session.addRemoteCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: 0 });
  });
  await app.setLocalDescription(await app.createOffer());
  const answer = await session.answer(app.localDescription!.sdp, false);
  await app.setRemoteDescription({ type: 'answer', sdp: answer });
  await until(() => !!attached, 'link attached', 20_000);
  link = attached!;
  link.onMessage((frame, cls) => {
    if (cls === 'reliable') reliableIn.push(frame);
  });
});

after(async () => {
  await session?.close({ cause: 'shutdown', reason: 'test over' });
  await app?.close();
});

test('reliable messages of many fragments all arrive while the lossy ones between them are forwarded past', async () => {
  const opened = (dc: RTCDataChannel) => until(() => dc.readyState === 'open', `${dc.label} open`, 20_000);
  await Promise.all([opened(reliable), opened(lossy)]);
  await until(() => session.link.lossyOpen, 'the gateway has the lossy channel', 5_000);

  // Every packet with a DATA chunk of the lossy stream is lost on the way to the gateway.
  const sctp = (
    app as unknown as { sctpTransport: { sctp: { transport: { send(b: Buffer): Promise<void> } } } }
  ).sctpTransport.sctp;
  const send = sctp.transport.send.bind(sctp.transport);
  sctp.transport.send = (packet: Buffer) => {
    const chunks = chunksOf(packet);
    if (chunks.some((c) => c.type === FORWARD_TSN)) wire.forwardTsns++;
    if (chunks.some((c) => c.type === DATA && c.stream === lossy.id)) {
      wire.lossyDropped++;
      return Promise.resolve();
    }
    return send(packet);
  };

  const body = 'x'.repeat(16 * 1024); // 14 DATA chunks in werift
  for (let i = 0; i < MESSAGES; i++) {
    lossy.send(JSON.stringify({ v: 1, type: 'velocity', seq: i }));
    reliable.send(JSON.stringify({ v: 1, type: 'command', id: `c${i}`, body }));
    while (reliable.bufferedAmount > 32 * 1024) await new Promise((res) => setTimeout(res, 2));
  }
  await until(() => reliableIn.length >= MESSAGES, 'every reliable message at the gateway', 10_000).catch(
    () => undefined,
  );
  assert.ok(wire.forwardTsns > 0 && wire.lossyDropped > 0, `the path was exercised: ${JSON.stringify(wire)}`);
  assert.equal(
    reliableIn.length,
    MESSAGES,
    `reliable messages at the gateway; wire: ${JSON.stringify(wire)}`,
  );
  assert.deepEqual(
    reliableIn.map((f) => (JSON.parse(f) as { id: string }).id),
    Array.from({ length: MESSAGES }, (_, i) => `c${i}`),
    'in order',
  );
});
