import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedEncoderBitrate, ViewerBitrateEstimator } from '../src/media/bitrate-controller.js';

const bounds = { minKbps: 300, maxKbps: 4000 };

test('loss above 10% lowers a viewer estimate, low loss raises it, REMB caps it, bounds clamp it', () => {
  const v = new ViewerBitrateEstimator(bounds, 2000);
  assert.equal(v.onLossReport(0.2), 2000 * 0.9);
  assert.equal(v.onLossReport(0.05), 1800);
  assert.ok(Math.abs(v.onLossReport(0) - 1800 * 1.08) < 1e-9);
  assert.equal(v.onRemb(1_000_000), 1000);
  assert.equal(v.onRemb(100_000), 300);
  for (let i = 0; i < 100; i++) v.onLossReport(0.9);
  assert.equal(v.estimateKbps, 300);
});

test('a shared encoder runs at the minimum of its viewers, within bounds, and ignores changes under 5%', () => {
  const applied: number[] = [];
  const shared = new SharedEncoderBitrate(bounds, 2000, (k) => applied.push(k));
  shared.update('a', 3000);
  shared.update('b', 1200);
  assert.equal(shared.currentKbps, 1200);
  shared.update('b', 1230);
  assert.equal(shared.currentKbps, 1200, 'a 2.5% change is not applied');
  shared.remove('b');
  assert.equal(shared.currentKbps, 3000, 'the slow viewer leaving lets the encoder go up');
  shared.update('a', 50_000);
  assert.equal(shared.currentKbps, 4000);
  assert.deepEqual(applied, [3000, 1200, 3000, 4000]);
});
