import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LAYER_DWELL_MS,
  LayeredBitrate,
  TRIAL_AFTER_MS,
  TRIAL_FIRST_MS,
  TRIAL_MS,
  type Layer,
} from '../src/media/layered-bitrate.js';

function setup() {
  let now = 0;
  const applied = { full: [] as number[], low: [] as number[] };
  const moves: [string, Layer][] = [];
  const lb = new LayeredBitrate(
    { minKbps: 300, maxKbps: 4000 },
    2000,
    (k) => applied.full.push(k),
    { bounds: { minKbps: 150, maxKbps: 600 }, apply: (k) => applied.low.push(k) },
    () => now,
  );
  const join = (id: string) => lb.join(id, (l) => moves.push([id, l]));
  return { lb, applied, moves, join, tick: (ms: number) => (now += ms) };
}

test('a spectator on a poor link moves to the low layer; the operator keeps the full rate', () => {
  const { lb, applied, moves, join, tick } = setup();
  join('op');
  lb.update('op', 2500);
  join('spec');
  tick(10);
  lb.update('spec', 450);
  assert.deepEqual(moves, [['spec', 'low']]);
  assert.equal(lb.layerOf('spec'), 'low');
  // The full encoder follows the operator alone; the low encoder the spectator.
  assert.equal(applied.full.at(-1), 2500);
  assert.equal(applied.low.at(-1), 450);
  assert.equal(lb.fullKbps, 2500);
});

test('without the low layer everyone shares the full encoder at the minimum (the old behaviour)', () => {
  const full: number[] = [];
  const lb = new LayeredBitrate({ minKbps: 300, maxKbps: 4000 }, 2000, (k) => full.push(k), null);
  lb.join('op', () => assert.fail('no layer moves without a low layer'));
  lb.join('spec', () => assert.fail('no layer moves without a low layer'));
  lb.update('op', 2500);
  lb.update('spec', 450);
  assert.equal(full.at(-1), 450);
});

test('a viewer still ramping up (not limited) is not moved down, however far behind the best it is', () => {
  const { lb, moves, join } = setup();
  join('op');
  lb.update('op', 500, false);
  join('new'); // the full layer is no richer than the low one: starts on full
  lb.update('op', 4000, false);
  lb.update('new', 2000, false);
  assert.deepEqual(moves, []);
  lb.update('new', 2000, true);
  assert.deepEqual(moves, [['new', 'low']]);
});

test('a viewer alone is never moved down, and returns to full when the other leaves (after the dwell time)', () => {
  const { lb, moves, join, tick } = setup();
  join('a');
  lb.update('a', 400);
  assert.deepEqual(moves, []);
  join('b');
  lb.update('b', 3000);
  tick(10);
  lb.update('a', 400);
  assert.deepEqual(moves, [['a', 'low']]);
  lb.remove('b');
  assert.equal(lb.layerOf('a'), 'low', 'not before the dwell time');
  tick(LAYER_DWELL_MS);
  lb.update('a', 400);
  assert.equal(lb.layerOf('a'), 'full');
});

test('a spectator whose link recovers moves back up once it carries 90 % of the full rate', () => {
  const { lb, moves, join, tick } = setup();
  join('op');
  lb.update('op', 2000);
  join('spec');
  lb.update('spec', 500);
  tick(LAYER_DWELL_MS);
  lb.update('spec', 1700);
  assert.equal(lb.layerOf('spec'), 'low', '1700 < 0.9 x 2000');
  lb.update('spec', 1850);
  assert.equal(lb.layerOf('spec'), 'full');
  assert.deepEqual(moves, [
    ['spec', 'low'],
    ['spec', 'full'],
  ]);
});

test('a viewer that joins while others watch a rich full layer starts on the low one, and leaves the full encoder alone', () => {
  const { lb, applied, moves, join } = setup();
  join('op');
  lb.update('op', 3500, false);
  assert.equal(applied.full.at(-1), 3500);
  assert.equal(join('new'), 'low');
  assert.deepEqual(moves, [['new', 'low']]);
  lb.update('new', 450, true);
  assert.equal(applied.full.at(-1), 3500);
  assert.equal(applied.low.at(-1), 450);
});

test('a viewer on the low layer whose link shows no limit is tried on the full layer, and stays when it holds', () => {
  const { lb, applied, moves, join, tick } = setup();
  join('op');
  lb.update('op', 3500, false);
  join('new');
  tick(TRIAL_FIRST_MS - 1);
  lb.update('new', 900, false);
  assert.equal(lb.layerOf('new'), 'low', 'not before the first trial is due');
  tick(1);
  lb.update('new', 900, false);
  assert.equal(lb.layerOf('new'), 'full');
  // On trial the full encoder does not follow it, even once its link shows a limit close to the best.
  lb.update('new', 2500, true);
  assert.equal(applied.full.at(-1), 3500);
  tick(TRIAL_MS);
  lb.update('new', 2500, true);
  assert.equal(lb.layerOf('new'), 'full', 'the trial held');
  assert.equal(applied.full.at(-1), 2500, 'now a full-layer viewer like any other');
  assert.deepEqual(moves, [
    ['new', 'low'],
    ['new', 'full'],
  ]);
});

test('a failed trial returns the viewer to the low layer at once, and the next trial waits twice as long', () => {
  const { lb, applied, moves, join, tick } = setup();
  join('op');
  lb.update('op', 3000, false);
  join('spec');
  tick(TRIAL_FIRST_MS);
  lb.update('spec', 700, false);
  assert.equal(lb.layerOf('spec'), 'full');
  tick(300);
  lb.update('spec', 450, true); // its 500 kbit/s link overflowed
  assert.equal(lb.layerOf('spec'), 'low', 'back at once, not after the dwell time');
  assert.equal(applied.full.at(-1), 3000, 'the operator was never pulled down');
  tick(2 * TRIAL_AFTER_MS - 1);
  lb.update('spec', 700, false);
  assert.equal(lb.layerOf('spec'), 'low');
  tick(1);
  lb.update('spec', 700, false);
  assert.equal(lb.layerOf('spec'), 'full', 'tried again after twice the wait');
  assert.deepEqual(
    moves.map(([, l]) => l),
    ['low', 'full', 'low', 'full'],
  );
});
