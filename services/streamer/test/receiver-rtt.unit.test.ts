import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { answerReferenceTimes, dlrrPacket, referenceTimes } from '../src/transport/werift/receiver-rtt.js';
import { withReceiverRtt } from '@robostream/protocol/client';

/** A receiver report with no blocks, as Chromium puts first in a compound packet. */
function emptyRr(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

function rrtr(ssrc: number, seconds: number, fraction: number): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80;
  b[1] = 207;
  b.writeUInt16BE(4, 2);
  b.writeUInt32BE(ssrc, 4);
  b[8] = 4;
  b.writeUInt16BE(2, 10);
  b.writeUInt32BE(seconds, 12);
  b.writeUInt32BE(fraction, 16);
  return b;
}

test('the reference time of an RRTR block in a compound packet: its sender and the middle 32 bits of its NTP time', () => {
  const compound = Buffer.concat([emptyRr(0x11223344), rrtr(0x11223344, 0xaabbccdd, 0x12345678)]);
  assert.deepEqual(referenceTimes(compound), [{ ssrc: 0x11223344, lastRr: 0xccdd1234 }]);
  assert.deepEqual(referenceTimes(emptyRr(1)), []);
});

test('a DLRR packet names the reporter, echoes its reference time and carries the delay', () => {
  const packet = dlrrPacket(0xdeadbeef, [{ ssrc: 7, lastRr: 0xccdd1234, delay: 655.36 }]);
  assert.equal(packet.length, 24);
  assert.equal(packet[0], 0x80);
  assert.equal(packet[1], 207);
  assert.equal(packet.readUInt16BE(2), 5); // length in words minus one
  assert.equal(packet.readUInt32BE(4), 0xdeadbeef);
  assert.equal(packet[8], 5); // DLRR
  assert.equal(packet.readUInt16BE(10), 3);
  assert.equal(packet.readUInt32BE(12), 7);
  assert.equal(packet.readUInt32BE(16), 0xccdd1234);
  assert.equal(packet.readUInt32BE(20), 655);
  // Our own answer is not mistaken for a report.
  assert.deepEqual(referenceTimes(packet), []);
});

test('malformed compounds are skipped, never thrown on: truncated, wrong version, lengths past the end', () => {
  const good = rrtr(5, 1, 2);
  assert.deepEqual(referenceTimes(good.subarray(0, 19)), []);
  const v1 = Buffer.from(good);
  v1[0] = 0x40;
  assert.deepEqual(referenceTimes(v1), []);
  const longBlock = Buffer.from(good);
  longBlock.writeUInt16BE(9, 10);
  assert.deepEqual(referenceTimes(longBlock), []);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const found = referenceTimes(Buffer.from(bytes));
      return Array.isArray(found) && found.every((r) => r.ssrc >= 0 && r.lastRr >= 0);
    }),
    { numRuns: 20_000 },
  );
});

test('attached to a transport, every decrypted report is answered, also after the SRTCP session is replaced', () => {
  const sent: Buffer[] = [];
  const dtls = {
    srtcp: undefined as { decrypt(d: Buffer): Buffer } | undefined,
    sendRtcp: async (packets: { serialize(): Buffer }[]) => {
      for (const p of packets) sent.push(p.serialize());
    },
  };
  let ssrc: number | null = null;
  assert.equal(
    answerReferenceTimes(dtls, () => ssrc),
    true,
  );
  // werift sets the session once DTLS is up; decrypt is the identity here.
  dtls.srtcp = { decrypt: (d) => d };
  const report = Buffer.concat([emptyRr(9), rrtr(9, 0x00010002, 0x00030000)]);
  assert.equal(dtls.srtcp.decrypt(report), report);
  assert.equal(sent.length, 0, 'nothing to answer from before a video sender exists');
  ssrc = 1234;
  dtls.srtcp.decrypt(report);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.readUInt32BE(4), 1234);
  assert.equal(sent[0]!.readUInt32BE(12), 9);
  assert.equal(sent[0]!.readUInt32BE(16), 0x00020003);
  dtls.srtcp = { decrypt: (d) => d };
  dtls.srtcp.decrypt(emptyRr(9));
  dtls.srtcp.decrypt(report);
  assert.equal(sent.length, 2);
  assert.equal(
    answerReferenceTimes({}, () => 1),
    false,
    'not a werift transport',
  );
});

test("the web app's offer asks for reference-time reports on every video codec with NACK, once, and nowhere else", () => {
  const offer = [
    'v=0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=rtcp-fb:111 nack',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    'a=rtpmap:97 rtx/90000',
    'a=rtcp-fb:102 nack',
    'a=rtcp-fb:102 rrtr',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    '',
  ].join('\r\n');
  const out = withReceiverRtt(offer).split('\r\n');
  assert.deepEqual(
    out.filter((l) => l.endsWith(' rrtr')),
    ['a=rtcp-fb:96 rrtr', 'a=rtcp-fb:102 rrtr'],
  );
  assert.equal(out[out.indexOf('a=rtcp-fb:96 nack') + 1], 'a=rtcp-fb:96 rrtr');
  assert.ok(withReceiverRtt(offer).endsWith('\r\n'), 'line endings kept');
  assert.equal(
    withReceiverRtt(withReceiverRtt(offer)),
    withReceiverRtt(offer),
    'idempotent (ICE-restart offers)',
  );
});
