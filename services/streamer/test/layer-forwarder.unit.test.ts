// The layer forwarder's start: a viewer's stream may begin on the keyframe its layer has just encoded (replayed
// with that keyframe's time, which the send track's hold counts its age from), on the layer it starts on; a later
// switch never replays (the stream already runs, and an older keyframe would go back in time).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LayerForwarder } from '../src/core/layer-forwarder.js';
import type { PacketListener, SourcePipeline } from '../src/media/source-pipeline.js';

function rtp(seq: number, ts: number, payload: number[]): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = 96;
  header.writeUInt16BE(seq, 2);
  header.writeUInt32BE(ts, 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}
const idr = (seq: number, ts: number): Buffer => rtp(seq, ts, [0x65, 1]);
/** A keyframe's SPS/PPS, aggregated ahead of its IDR as rtph264pay sends them. */
const paramSets = (seq: number, ts: number): Buffer =>
  rtp(seq, ts, [0x18, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]);
const delta = (seq: number, ts: number): Buffer => rtp(seq, ts, [0x41, 1]);

/** A layer whose subscribers get `recent` replayed (with its time) when they ask for it. */
class FakeLayer {
  listeners = new Set<PacketListener>();
  subscribed: boolean[] = [];
  keyframeRequests = 0;
  constructor(private readonly recent: { packets: Buffer[]; at: number } | null) {}
  subscribe(listener: PacketListener, options: { fromRecentKeyframe?: boolean } = {}): () => void {
    this.subscribed.push(options.fromRecentKeyframe ?? false);
    if (options.fromRecentKeyframe && this.recent)
      for (const p of this.recent.packets) listener(p, this.recent.at);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  requestKeyframe(): string {
    this.keyframeRequests++;
    return 'sent';
  }
  emit(packet: Buffer): void {
    for (const l of this.listeners) l(packet);
  }
  get pipeline(): SourcePipeline {
    return this as unknown as SourcePipeline;
  }
}

test('starts on the full layer from its recent keyframe, passing the keyframe time on', () => {
  const full = new FakeLayer({ packets: [idr(10, 900), delta(11, 3900)], at: 1234 });
  const low = new FakeLayer(null);
  const out: { seq: number; at: number | undefined }[] = [];
  const f = new LayerForwarder({ full: full.pipeline, low: low.pipeline }, 'h264', (p, at) =>
    out.push({ seq: p.readUInt16BE(2), at }),
  );
  full.emit(delta(12, 6900));
  assert.deepEqual(out, [
    { seq: 10, at: 1234 },
    { seq: 11, at: 1234 },
    { seq: 12, at: undefined },
  ]);
  assert.deepEqual(full.subscribed, [true]);
  assert.equal(f.layer, 'full');
});

test('a viewer that starts on the low layer subscribes there (and starts from its recent keyframe)', () => {
  const full = new FakeLayer({ packets: [idr(10, 900)], at: 1 });
  const low = new FakeLayer({ packets: [idr(500, 100)], at: 2 });
  const out: number[] = [];
  const f = new LayerForwarder(
    { full: full.pipeline, low: low.pipeline },
    'h264',
    (p) => out.push(p.readUInt16BE(2)),
    'low',
  );
  assert.equal(f.layer, 'low');
  assert.deepEqual(full.subscribed, [], 'the full layer is not touched');
  assert.deepEqual(out, [500]);
});

test('no low layer: a low start falls back to the full layer', () => {
  const full = new FakeLayer(null);
  const f = new LayerForwarder({ full: full.pipeline, low: null }, 'h264', () => undefined, 'low');
  assert.equal(f.layer, 'full');
  assert.deepEqual(full.subscribed, [true]);
});

test('a switch once packets went out does not replay: it waits for the new layer keyframe', () => {
  const full = new FakeLayer(null);
  const low = new FakeLayer({ packets: [idr(500, 100)], at: 2 });
  const out: number[] = [];
  const f = new LayerForwarder({ full: full.pipeline, low: low.pipeline }, 'h264', (p) =>
    out.push(p.readUInt16BE(2)),
  );
  full.emit(idr(10, 900));
  f.switchTo('low');
  assert.deepEqual(low.subscribed, [false]);
  assert.equal(low.keyframeRequests, 1);
  assert.deepEqual(out, [10], 'nothing of the low layer before its next keyframe');
  low.emit(idr(501, 3100));
  assert.equal(f.layer, 'low');
  assert.deepEqual(out, [10, 11], 'the low keyframe, renumbered to follow on');
});

test('a switch starts at the new layer keyframe parameter sets, not at its IDR packet', () => {
  const full = new FakeLayer(null);
  const low = new FakeLayer(null);
  const out: number[] = [];
  const f = new LayerForwarder({ full: full.pipeline, low: low.pipeline }, 'h264', (p) =>
    out.push(p.readUInt16BE(2)),
  );
  full.emit(idr(10, 900));
  f.switchTo('low');
  low.emit(delta(499, 100));
  low.emit(paramSets(500, 3100));
  low.emit(idr(501, 3100));
  assert.equal(f.layer, 'low');
  // The low layer's own SPS/PPS (another picture size) go out ahead of its IDR, as the encoder sent them.
  assert.deepEqual(out, [10, 11, 12]);
});
