// Retransmission in place of werift's, against a sender shaped like werift 0.24.4's RTCRtpSender: NACKs answered
// from the longer history on the RTX stream with a fresh transport-wide sequence number (reported for the
// estimator), too-old or never-sent numbers left alone; and against werift's real sender, that its own NACK
// handling is switched off while everything else still reaches it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GenericNack,
  PictureLossIndication,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  type RtpHeader as Header,
} from 'werift';
import {
  MAX_AGE_MS,
  MIN_RESEND_GAP_MS,
  RetransmissionHistory,
  type ResendLimits,
  type WeriftSenderInternals,
} from '../src/transport/werift/retransmission.js';
import { BURST_MS, RetransmissionBudget } from '../src/transport/congestion/retransmission-budget.js';

/** No queue and no rate limit: only the minimum gap applies. */
const UNLIMITED: ResendLimits = { queueMs: () => 0, rateKbps: () => Infinity };

const TWCC_ID = 3;
const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

function fakeSender(limits: ResendLimits = UNLIMITED, payloadBytes = 0) {
  const wire: RtpPacket[] = [];
  const passedOn: unknown[] = [];
  const sender: WeriftSenderInternals = {
    rtpCache: [],
    rtxPayloadType: 97,
    rtxSequenceNumber: 500,
    rtxSsrc: 2222,
    retransmittedPacketsSent: 0,
    retransmittedBytesSent: 0,
    headerExtensions: [{ id: TWCC_ID, uri: TWCC_URI }],
    handleRtcpPacket: (p) => passedOn.push(p),
    dtlsTransport: {
      transportSequenceNumber: 9000,
      sendRtp: (payload: Buffer, header: Header) => {
        wire.push(new RtpPacket(header, payload));
        return Promise.resolve(payload.length);
      },
    },
  };
  const reported: [number, number][] = [];
  const history = RetransmissionHistory.attach(sender, (seq, size) => reported.push([seq, size]), limits)!;
  assert.ok(history);
  /** What werift's sendRtp does with its cache, then what the send track does after it. */
  const send = (seq: number, atMs: number): void => {
    const twcc = Buffer.alloc(2);
    twcc.writeUInt16BE(seq & 0xffff);
    const packet = new RtpPacket(
      new RtpHeader({
        sequenceNumber: seq & 0xffff,
        timestamp: seq * 3000,
        ssrc: 1111,
        payloadType: 96,
        extensions: [{ id: TWCC_ID, payload: twcc }],
      }),
      Buffer.concat([Buffer.from(`payload ${seq}`), Buffer.alloc(payloadBytes)]),
    );
    sender.sequenceNumber = seq & 0xffff;
    sender.rtpCache[(seq & 0xffff) % 128] = packet;
    history.recordLastSent(atMs);
  };
  return { sender, history, wire, reported, passedOn, send };
}

const twccOf = (p: RtpPacket): number =>
  p.header.extensions.find((e) => e.id === TWCC_ID)!.payload.readUInt16BE(0);

test('answers NACKs on the RTX stream, with the original inside and a fresh transport-wide number', () => {
  const { sender, history, wire, reported, send } = fakeSender();
  for (let seq = 0; seq < 600; seq++) send(seq, seq);
  history.onNack([10, 300, 599], 600); // long forgotten by werift, forgotten, still in werift's cache
  assert.equal(wire.length, 3);
  const [a, b, c] = wire;
  assert.equal(a!.header.ssrc, 2222);
  assert.equal(a!.header.payloadType, 97);
  assert.deepEqual(
    [a, b, c].map((p) => p!.header.sequenceNumber),
    [500, 501, 502],
  );
  assert.equal(a!.payload.readUInt16BE(0), 10, 'RTX payload starts with the original sequence number');
  assert.deepEqual(
    [a, b, c].map((p) => p!.payload.subarray(2).toString()),
    ['payload 10', 'payload 300', 'payload 599'],
  );
  assert.deepEqual(wire.slice(0, 3).map(twccOf), [9001, 9002, 9003], 'new transport-wide numbers');
  assert.equal(sender.dtlsTransport.transportSequenceNumber, 9003);
  assert.deepEqual(
    reported.map(([seq]) => seq),
    [9001, 9002, 9003],
  );
  assert.ok(reported.every(([, size]) => size > 12));
  // The kept originals are untouched: a second NACK for 10 (a gap later) resends it again, with the next number.
  history.onNack([10], 600 + MIN_RESEND_GAP_MS);
  assert.equal(twccOf(wire[3]!), 9004);
  assert.equal(wire[3]!.payload.subarray(2).toString(), 'payload 10');
  assert.equal(sender.retransmittedPacketsSent, 4);
  assert.equal(history.resent, 4);
});

test('skips what is too old to matter and what was never sent', () => {
  const { history, wire, send } = fakeSender();
  for (let seq = 0; seq < 600; seq++) send(seq, seq * 5);
  const now = 600 * 5;
  history.onNack([700, 1000], now);
  assert.equal(wire.length, 0);
  const tooOld = Math.floor((now - MAX_AGE_MS) / 5) - 5;
  history.onNack([tooOld], now);
  assert.equal(wire.length, 0, 'older than MAX_AGE_MS: not resent');
  history.onNack([tooOld + 20], now);
  assert.equal(wire.length, 1);
});

test('across the 16-bit wrap: a slot reused by a newer packet is not mistaken for the old one', () => {
  const { history, wire, send } = fakeSender();
  for (let seq = 65_000; seq < 65_536 + 700; seq++) send(seq, 0);
  history.onNack([(65_536 + 100) & 0xffff], 0);
  assert.equal(wire.length, 1);
  assert.equal(wire[0]!.payload.subarray(2).toString(), `payload ${65_536 + 100}`);
  history.onNack([65_100 & 0xffff], 0); // its slot (65_100 % 1024) now holds a newer packet
  assert.equal(wire.length, 1);
});

test('without RTX the packet itself is resent, and the kept copy keeps its header', () => {
  const { sender, history, wire, send } = fakeSender();
  delete sender.rtxPayloadType;
  for (let seq = 0; seq < 10; seq++) send(seq, 0);
  history.onNack([3], 0);
  history.onNack([3], MIN_RESEND_GAP_MS);
  assert.deepEqual(
    wire.map((p) => [p.header.sequenceNumber, p.header.ssrc, twccOf(p)]),
    [
      [3, 1111, 9001],
      [3, 1111, 9002],
    ],
  );
});

test("werift's real RTCRtpSender fits; its own NACK handling is off, other RTCP still reaches it", () => {
  const pc = new RTCPeerConnection();
  try {
    const sender = pc.addTransceiver('video', { direction: 'sendonly' }).sender as unknown as {
      nackCount: number;
      pliCount: number;
      handleRtcpPacket(p: unknown): void;
    };
    assert.ok(
      RetransmissionHistory.attach(sender, () => undefined, UNLIMITED),
      'the werift version in use fits',
    );
    assert.equal(
      RetransmissionHistory.attach({ rtpCache: [] }, () => undefined, UNLIMITED),
      null,
      'anything else is refused',
    );
    const nack = new RtcpTransportLayerFeedback({
      feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: 2, lost: [1, 2, 3] }),
    });
    sender.handleRtcpPacket(nack);
    assert.equal(sender.nackCount, 0, 'werift did not see the NACK');
    sender.handleRtcpPacket(
      new RtcpPayloadSpecificFeedback({
        feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 2 }),
      }),
    );
    assert.equal(sender.pliCount, 1, 'a PLI still reaches werift');
  } finally {
    void pc.close();
  }
});

test('a packet is not resent again while its last resend may still sit in the queue', () => {
  let queue = 80;
  const { history, wire, send } = fakeSender({ queueMs: () => queue, rateKbps: () => Infinity });
  for (let seq = 0; seq < 10; seq++) send(seq, 0);
  history.onNack([3, 4], 10);
  history.onNack([3, 4, 5], 60); // asked again before the answers could have come through the queue; 5 is new
  assert.deepEqual(
    wire.map((p) => p.payload.subarray(2).toString()),
    ['payload 3', 'payload 4', 'payload 5'],
  );
  assert.equal(history.withheld, 2);
  history.onNack([3], 95);
  assert.equal(
    wire.length,
    4,
    'once the queue has had time to deliver it, a repeat means it was lost: resent',
  );
  queue = 0; // no queue: only the minimum gap between two resends of one packet
  history.onNack([3], 95 + MIN_RESEND_GAP_MS - 1);
  assert.equal(wire.length, 4);
  history.onNack([3], 95 + MIN_RESEND_GAP_MS);
  assert.equal(wire.length, 5);
});

test('retransmissions are paced by the bandwidth estimate: a burst of NACKs is answered up to the bucket', () => {
  const rate = 400; // kbit/s: the bucket holds BURST_MS of it, 12,500 bytes
  const { history, wire, send } = fakeSender({ queueMs: () => 0, rateKbps: () => rate }, 1000);
  for (let seq = 0; seq < 100; seq++) send(seq, 0);
  history.onNack(
    Array.from({ length: 40 }, (_, i) => i),
    100,
  );
  const first = wire.length;
  const packetBytes = wire[0]!.serializeSize - 2; // charged as the original (RTX adds its 2-byte OSN)
  assert.equal(first, Math.floor((rate * BURST_MS) / 8 / packetBytes), `${first} resent at once`);
  assert.deepEqual(
    wire.map((p) => p.payload.readUInt16BE(0)),
    Array.from({ length: first }, (_, i) => i),
    'oldest first',
  );
  assert.equal(history.withheld, 40 - first);
  // 100 ms later the bucket has refilled by 5,000 bytes (plus what the first burst left).
  const left = (rate * BURST_MS) / 8 - first * packetBytes;
  history.onNack(
    Array.from({ length: 40 - first }, (_, i) => first + i),
    200,
  );
  assert.equal(wire.length - first, Math.floor((left + (rate * 100) / 8) / packetBytes));
});

test('the retransmission bucket: refills at the rate, holds at most BURST_MS of it, follows a new rate', () => {
  const b = new RetransmissionBudget();
  assert.equal(b.take(12_500, 0, 400), true, 'starts full: 250 ms at 400 kbit/s');
  assert.equal(b.take(1, 0, 400), false);
  assert.equal(b.take(5000, 100, 400), true, '100 ms at 400 kbit/s');
  assert.equal(b.take(1, 100, 400), false);
  assert.equal(b.take(12_500, 10_000, 400), true, 'a long pause banks no more than the depth');
  assert.equal(b.take(1, 10_000, 400), false);
  assert.equal(b.take(1000, 10_100, 80), true, 'a cut rate refills slower: 100 ms at 80 kbit/s');
  assert.equal(b.take(1, 10_100, 80), false);
});

test("kept as bytes: werift's cached object is let go at once; a packet too big for a slot is not kept", () => {
  const small = fakeSender();
  small.send(7, 0);
  assert.equal(small.sender.rtpCache[7], undefined, "werift's cache no longer holds the packet");
  small.history.onNack([7], 10);
  assert.equal(small.wire[0]!.payload.subarray(2).toString(), 'payload 7', 'resent from the kept bytes');
  const big = fakeSender(UNLIMITED, 1600);
  big.send(7, 0);
  big.history.onNack([7], 10);
  assert.equal(big.wire.length, 0);
});
