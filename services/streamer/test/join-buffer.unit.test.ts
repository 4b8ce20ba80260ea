// The join buffer: what a new viewer's transport sends first once it is up (the run from the latest keyframe,
// whole frames, in order), and what it never holds (no keyframe, a stale one).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinBuffer } from '../src/media/join-buffer.js';
import { startsKeyframe } from '../src/media/rtp-keyframe.js';

let seq = 0;
function rtp(ts: number, payload: number[], marker = false): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = 96 | (marker ? 0x80 : 0);
  header.writeUInt16BE(seq++ & 0xffff, 2);
  header.writeUInt32BE(ts, 4);
  header.writeUInt32BE(0x1234, 8);
  return Buffer.concat([header, Buffer.from(payload)]);
}
// H.264 as rtph264pay sends a keyframe: SPS/PPS aggregated first (not an IDR packet), then the IDR in fragments.
const paramSets = (ts: number): Buffer => rtp(ts, [0x18, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]);
const idrStart = (ts: number): Buffer => rtp(ts, [0x7c, 0x85, 1, 2, 3]);
const idrMiddle = (ts: number): Buffer => rtp(ts, [0x7c, 0x05, 4, 5, 6]);
const idrEnd = (ts: number): Buffer => rtp(ts, [0x7c, 0x45, 7, 8], true);
const delta = (ts: number): Buffer => rtp(ts, [0x41, 9, 9], true);

const buffer = (maxAgeMs = 100): JoinBuffer => new JoinBuffer((p) => startsKeyframe('h264', p), maxAgeMs);

test('holds from the first packet of the keyframe frame (its SPS/PPS), then every later frame, in order', () => {
  const b = buffer();
  b.push(delta(1000), 0); // before the keyframe: useless to a new viewer
  const run = [paramSets(4000), idrStart(4000), idrMiddle(4000), idrEnd(4000), delta(7000), delta(10000)];
  run.forEach((p, i) => b.push(p, 10 + i));
  assert.equal(b.size, run.length);
  assert.deepEqual(b.take(40), run);
  assert.deepEqual(b.take(41), [], 'take empties the buffer');
});

test('a keyframe in several slices (each starting with an IDR packet) is held once, whole', () => {
  const b = buffer();
  const run = [paramSets(4000), idrStart(4000), idrEnd(4000), idrStart(4000), idrEnd(4000), delta(7000)];
  for (const p of run) b.push(p, 5);
  assert.deepEqual(b.take(6), run);
});

test('a newer keyframe replaces what was held', () => {
  const b = buffer();
  for (const p of [paramSets(1000), idrStart(1000), idrEnd(1000), delta(4000)]) b.push(p, 0);
  const newer = [paramSets(7000), idrStart(7000), idrEnd(7000), delta(10000)];
  for (const p of newer) b.push(p, 30);
  assert.deepEqual(b.take(40), newer);
});

test('nothing is held without a keyframe', () => {
  const b = buffer();
  for (let i = 0; i < 10; i++) b.push(delta(1000 + i * 3000), i * 33);
  assert.equal(b.size, 0);
  assert.deepEqual(b.take(400), []);
});

test('a keyframe older than maxAgeMs is not sent, and is let go as frames keep coming (memory bound)', () => {
  const b = buffer(100);
  for (const p of [paramSets(1000), idrStart(1000), idrEnd(1000)]) b.push(p, 0);
  assert.deepEqual(b.take(101), [], 'stale at take');

  for (const p of [paramSets(4000), idrStart(4000), idrEnd(4000)]) b.push(p, 200);
  for (let i = 1; i <= 10; i++) b.push(delta(4000 + i * 3000), 200 + i * 33);
  assert.equal(b.size, 0, 'dropped once older than 100 ms, not grown for ever');
  assert.deepEqual(b.take(600), []);
  // ...and the next keyframe is held again.
  b.push(idrStart(100000), 700);
  assert.equal(b.size, 1);
});

test('VP8: the keyframe packet starts the run; short packets are ignored', () => {
  const b = new JoinBuffer((p) => startsKeyframe('vp8', p), 100);
  b.push(Buffer.alloc(5), 0);
  // Payload descriptor with S=1, partition 0, then a VP8 header with P=0 (keyframe) / P=1 (interframe).
  const key = rtp(3000, [0x10, 0x00, 0, 0]);
  const inter = rtp(6000, [0x10, 0x01, 0, 0]);
  b.push(rtp(0, [0x10, 0x01]), 0);
  b.push(key, 1);
  b.push(inter, 2);
  assert.deepEqual(b.take(3), [key, inter]);
});

test('peek: a copy of the fresh run with its keyframe time, kept for the next viewer; null once stale', () => {
  const b = buffer(100);
  assert.equal(b.peek(0), null, 'nothing held');
  const run = [paramSets(4000), idrStart(4000), idrEnd(4000), delta(7000)];
  run.forEach((p, i) => b.push(p, 10 + i));
  const first = b.peek(50);
  assert.deepEqual(first, { packets: run, at: 10 });
  first?.packets.pop();
  assert.deepEqual(b.peek(60)?.packets, run, 'the caller got a copy; the buffer keeps its run');
  assert.equal(b.heldAgeMs(60), 50);
  assert.equal(b.peek(111), null, 'older than maxAgeMs');
});

test('a viewer that subscribes between a keyframe parameter sets and its IDR gets the parameter sets replayed', () => {
  // The source pipeline's own buffer, fed with everything, and a new viewer's, fed with the replay and what follows.
  const source = buffer(100);
  const keyframe = [paramSets(4000), idrStart(4000), idrEnd(4000)];
  source.push(keyframe[0]!, 10);
  const viewer = buffer(100);
  for (const p of source.peek(11)?.packets ?? []) viewer.push(p, 10);
  for (const p of keyframe.slice(1)) {
    source.push(p, 12);
    viewer.push(p, 12);
  }
  // Chromium cannot decode an IDR whose PPS it has not seen: the run must start at the parameter sets.
  assert.deepEqual(viewer.take(20), keyframe);
});
