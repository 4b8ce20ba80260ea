import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H264Depacketizer, type AccessUnit } from '../src/recording/h264-depacketizer.js';

function rtp(seq: number, ts: number, marker: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | 96;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(0x1234, 8);
  return Buffer.concat([h, payload]);
}

const nal = (type: number, size: number, fill: number): Buffer =>
  Buffer.concat([Buffer.from([0x60 | type]), Buffer.alloc(size - 1, fill)]);

function fuA(n: Buffer, pieces: number): Buffer[] {
  const body = n.subarray(1);
  const step = Math.ceil(body.length / pieces);
  const out: Buffer[] = [];
  for (let i = 0; i < pieces; i++) {
    const start = i === 0 ? 0x80 : 0;
    const end = i === pieces - 1 ? 0x40 : 0;
    out.push(
      Buffer.concat([
        Buffer.from([((n[0] ?? 0) & 0xe0) | 28, start | end | ((n[0] ?? 0) & 0x1f)]),
        body.subarray(i * step, (i + 1) * step),
      ]),
    );
  }
  return out;
}

const stapA = (...nals: Buffer[]): Buffer =>
  Buffer.concat([
    Buffer.from([24]),
    ...nals.flatMap((n) => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(n.length);
      return [len, n];
    }),
  ]);

const annexB = (...nals: Buffer[]): Buffer =>
  Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n]));

test('STAP-A parameter sets + FU-A IDR, then single-NAL pictures, become Annex B access units', () => {
  const units: AccessUnit[] = [];
  const d = new H264Depacketizer((u) => units.push(u));
  const sps = nal(7, 10, 1);
  const pps = nal(8, 4, 2);
  const idr = nal(5, 3000, 3);
  let seq = 65530; // wraps inside the picture
  d.push(rtp(seq++, 1000, false, stapA(sps, pps)));
  const pieces = fuA(idr, 3);
  pieces.forEach((p, i) => d.push(rtp(seq++, 1000, i === pieces.length - 1, p)));
  const p1 = nal(1, 500, 4);
  d.push(rtp(seq++, 4000, true, p1));
  assert.equal(units.length, 2);
  assert.deepEqual(units[0]?.data, annexB(sps, pps, idr));
  assert.equal(units[0]?.keyframe, true);
  assert.equal(units[0]?.hasParameterSets, true);
  assert.equal(units[0]?.rtpTimestamp, 1000);
  assert.deepEqual(units[1]?.data, annexB(p1));
  assert.equal(units[1]?.keyframe, false);
});

test('a lost packet drops its picture and every one after it until the next keyframe', () => {
  const units: AccessUnit[] = [];
  const d = new H264Depacketizer((u) => units.push(u));
  const idr = nal(5, 2000, 3);
  let seq = 1;
  const pieces = fuA(idr, 2);
  d.push(rtp(seq++, 0, false, stapA(nal(7, 8, 1), nal(8, 4, 2))));
  d.push(rtp(seq++, 0, false, pieces[0] ?? Buffer.alloc(0)));
  d.push(rtp(seq++, 0, true, pieces[1] ?? Buffer.alloc(0)));
  // Picture 2 loses its middle packet; picture 3 is fine but refers to 2.
  const p2 = fuA(nal(1, 3000, 5), 3);
  d.push(rtp(seq++, 3000, false, p2[0] ?? Buffer.alloc(0)));
  seq++;
  d.push(rtp(seq++, 3000, true, p2[2] ?? Buffer.alloc(0)));
  d.push(rtp(seq++, 6000, true, nal(1, 100, 6)));
  // The next keyframe recovers.
  d.push(rtp(seq++, 9000, true, stapA(nal(7, 8, 1), nal(8, 4, 2), nal(5, 200, 7))));
  d.push(rtp(seq, 12000, true, nal(1, 100, 8)));
  assert.deepEqual(
    units.map((u) => [u.rtpTimestamp, u.keyframe]),
    [
      [0, true],
      [9000, true],
      [12000, false],
    ],
  );
  assert.equal(d.stats.dropped, 2);
});
