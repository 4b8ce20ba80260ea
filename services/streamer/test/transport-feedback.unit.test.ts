// Transport-wide feedback as Chromium encodes it once packets are lost: a run-length chunk, a 2-bit status vector
// and a 1-bit status vector (the last one cut short by the status count), across the 16-bit wrap, with small and
// large (negative) receive deltas. The bytes are built by hand from the draft's layout and parsed by werift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtcpHeader, TransportWideCC } from 'werift';
import { feedbackPackets } from '../src/transport/congestion/transport-feedback.js';

function fci(): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(1, 0); // sender SSRC
  head.writeUInt32BE(2, 4); // media SSRC
  head.writeUInt16BE(65_530, 8); // base sequence number
  head.writeUInt16BE(14, 10); // packet status count
  head.writeUIntBE(10, 12, 3); // reference time: 10 x 64 ms
  head.writeUInt8(0, 15); // feedback packet count
  const chunks = Buffer.from([
    0x20,
    0x03, // run length: 3 x received (small delta)
    0xd2,
    0x41, // 2-bit vector: small, lost, large, small, lost, lost, small
    0xb4,
    0x00, // 1-bit vector: received, received, lost, received, then 10 symbols past the count
  ]);
  const large = Buffer.alloc(2);
  large.writeInt16BE(-400); // -100 ms: a packet that arrived before the previous one
  const deltas = Buffer.concat([Buffer.from([4, 4, 4, 8]), large, Buffer.from([4, 4, 4, 4, 4])]);
  const body = Buffer.concat([head, chunks, deltas]);
  return Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
}

test('every chunk kind is expanded in order, sequence numbers wrap, deltas pair with received packets only', () => {
  const data = fci();
  const twcc = TransportWideCC.deSerialize(
    data,
    new RtcpHeader({ type: 205, count: 15, length: data.length / 4 }),
  );
  const got = feedbackPackets(twcc).map((p) => [p.seq, p.received ? p.arrivalMs : null]);
  assert.deepEqual(got, [
    [65_530, 641],
    [65_531, 642],
    [65_532, 643],
    [65_533, 645],
    [65_534, null],
    [65_535, 545],
    [0, 546],
    [1, null],
    [2, null],
    [3, 547],
    [4, 548],
    [5, 549],
    [6, null],
    [7, 550],
  ]);
});
