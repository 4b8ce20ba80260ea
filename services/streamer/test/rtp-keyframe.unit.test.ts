import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStandaloneParameterSets, startsKeyframe } from '../src/media/rtp-keyframe.js';

const header = (marker = false): Buffer =>
  Buffer.from([0x80, marker ? 0xe0 : 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]);
const packet = (...payload: number[]): Buffer => Buffer.concat([header(), Buffer.from(payload)]);

test('H.264: IDR single NAL, FU-A start of an IDR, STAP-A holding an IDR or an SPS; not a P slice or FU-A middle', () => {
  assert.equal(startsKeyframe('h264', packet(0x65, 0x88)), true);
  assert.equal(startsKeyframe('h264', packet(0x7c, 0x85, 0x88)), true);
  assert.equal(startsKeyframe('h264', packet(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x65, 0x88)), true);
  assert.equal(startsKeyframe('h264', packet(0x41, 0x9a)), false);
  // The parameter sets that lead an IDR access unit open it too: alone, or aggregated (with an AUD first, as
  // rtph264pay sends x264's keyframes); a PPS alone or an AUD alone does not.
  assert.equal(startsKeyframe('h264', packet(0x67, 0x42, 0x00)), true);
  assert.equal(startsKeyframe('h264', packet(0x78, 0x00, 0x02, 0x09, 0xf0, 0x00, 0x02, 0x67, 0x42)), true);
  assert.equal(startsKeyframe('h264', packet(0x68, 0xce)), false);
  assert.equal(startsKeyframe('h264', packet(0x09, 0xf0)), false);
  assert.equal(startsKeyframe('h264', packet(0x7c, 0x05, 0x88)), false);
  assert.equal(startsKeyframe('h264', Buffer.from([0x80])), false);
});

test('VP8: start of partition 0 with P bit clear is a keyframe', () => {
  assert.equal(startsKeyframe('vp8', packet(0x10, 0x00)), true);
  assert.equal(startsKeyframe('vp8', packet(0x10, 0x01)), false);
  // X bit, PictureID with M bit (15-bit), then the VP8 header.
  assert.equal(startsKeyframe('vp8', packet(0x90, 0x80, 0x81, 0x23, 0x00)), true);
  assert.equal(startsKeyframe('vp8', packet(0x00, 0x00)), false);
});

test('H.264: a marked packet of only SPS/PPS is recognised; an IDR access unit with SPS/PPS in it is not', () => {
  const marked = (...payload: number[]): Buffer => Buffer.concat([header(true), Buffer.from(payload)]);
  // STAP-A [SPS, PPS] with the marker: what rtph264pay sends alone when a keyframe is forced.
  assert.equal(isStandaloneParameterSets(marked(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce)), true);
  assert.equal(isStandaloneParameterSets(marked(0x67, 0x42)), true);
  // The same without the marker belongs to the access unit that follows.
  assert.equal(
    isStandaloneParameterSets(packet(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce)),
    false,
  );
  // STAP-A [AUD, SPS, PPS, IDR] is the keyframe itself.
  assert.equal(
    isStandaloneParameterSets(
      marked(
        0x78,
        0x00,
        0x02,
        0x09,
        0xf0,
        0x00,
        0x02,
        0x67,
        0x42,
        0x00,
        0x02,
        0x68,
        0xce,
        0x00,
        0x02,
        0x65,
        0x88,
      ),
    ),
    false,
  );
  assert.equal(isStandaloneParameterSets(marked(0x41, 0x9a)), false);
});
