// The NACK history beyond werift's 128 packets, against a sender shaped like werift 0.24.4's RTCRtpSender: what it
// answers (what werift has forgotten, on the RTX stream), and what it leaves alone (what werift still has, what is
// too old to matter, sequence numbers it never sent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection, RtpHeader, RtpPacket, type RtpHeader as Header } from 'werift';
import {
  MAX_AGE_MS,
  RetransmissionHistory,
  type WeriftSenderInternals,
} from '../src/transport/werift/retransmission.js';

function fakeSender(): WeriftSenderInternals & { wire: RtpPacket[] } {
  const wire: RtpPacket[] = [];
  return {
    wire,
    rtpCache: [],
    rtxPayloadType: 97,
    rtxSequenceNumber: 500,
    rtxSsrc: 2222,
    retransmittedPacketsSent: 0,
    retransmittedBytesSent: 0,
    dtlsTransport: {
      sendRtp: (payload: Buffer, header: Header) => {
        wire.push(new RtpPacket(header, payload));
        return Promise.resolve(payload.length);
      },
    },
  };
}

/** What werift's sendRtp does with the cache, then what the send track does after it. */
function send(s: ReturnType<typeof fakeSender>, h: RetransmissionHistory, seq: number, atMs: number): void {
  const packet = new RtpPacket(
    new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp: seq * 3000, ssrc: 1111, payloadType: 96 }),
    Buffer.from(`payload ${seq}`),
  );
  s.sequenceNumber = seq & 0xffff;
  s.rtpCache[(seq & 0xffff) % 128] = packet;
  h.recordLastSent(atMs);
}

test('answers NACKs werift has forgotten, on the RTX stream, with the original packet inside', () => {
  const s = fakeSender();
  const h = new RetransmissionHistory(s);
  for (let seq = 0; seq < 600; seq++) send(s, h, seq, seq);
  h.onNack([10, 300], 600);
  assert.equal(s.wire.length, 2);
  const [a, b] = s.wire;
  assert.equal(a!.header.ssrc, 2222);
  assert.equal(a!.header.payloadType, 97);
  assert.deepEqual([a!.header.sequenceNumber, b!.header.sequenceNumber], [500, 501]);
  assert.equal(a!.payload.readUInt16BE(0), 10, 'RTX payload starts with the original sequence number');
  assert.equal(a!.payload.subarray(2).toString(), 'payload 10');
  assert.equal(b!.payload.subarray(2).toString(), 'payload 300');
  assert.equal(s.rtxSequenceNumber, 502);
  assert.equal(s.retransmittedPacketsSent, 2);
  assert.equal(h.resent, 2);
});

test('leaves to werift what werift still has, and skips what is too old or was never sent', () => {
  const s = fakeSender();
  const h = new RetransmissionHistory(s);
  for (let seq = 0; seq < 600; seq++) send(s, h, seq, seq * 5);
  const now = 600 * 5;
  h.onNack([599, 550, 700, 1000], now); // werift's, werift's, never sent, never sent
  assert.equal(s.wire.length, 0);
  const tooOld = Math.floor((now - MAX_AGE_MS) / 5) - 5;
  h.onNack([tooOld], now);
  assert.equal(s.wire.length, 0, 'older than MAX_AGE_MS: not resent');
  h.onNack([tooOld + 20], now);
  assert.equal(s.wire.length, 1, 'within MAX_AGE_MS and forgotten by werift: resent');
});

test('across the 16-bit wrap: a slot reused by a newer packet is not mistaken for the old one', () => {
  const s = fakeSender();
  const h = new RetransmissionHistory(s);
  for (let seq = 65_000; seq < 65_536 + 700; seq++) send(s, h, seq, 0);
  h.onNack([(65_536 + 100) & 0xffff], 0);
  assert.equal(s.wire.length, 1);
  assert.equal(s.wire[0]!.payload.subarray(2).toString(), `payload ${65_536 + 100}`);
  h.onNack([65_100 & 0xffff], 0); // its slot (65_100 % 1024) now holds a newer packet
  assert.equal(s.wire.length, 1);
});

test("werift's own RTCRtpSender has the fields the history reads and advances", () => {
  const pc = new RTCPeerConnection();
  try {
    const sender = pc.addTransceiver('video', { direction: 'sendonly' }).sender;
    assert.ok(RetransmissionHistory.attach(sender), 'the werift version in use fits');
    assert.equal(RetransmissionHistory.attach({ rtpCache: [] }), null, 'anything else is refused');
  } finally {
    void pc.close();
  }
});
