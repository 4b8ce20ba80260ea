import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAYER_DWELL_MS, LayeredBitrate, type Layer } from '../src/media/layered-bitrate.js';

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
  lb.update('op', 4000, false);
  join('new');
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

test('a viewer that just joined does not pull the full encoder down to its start estimate', () => {
  const { lb, applied, join } = setup();
  join('op');
  lb.update('op', 3500, false);
  assert.equal(applied.full.at(-1), 3500);
  join('new');
  lb.update('new', 2000, false);
  assert.equal(applied.full.at(-1), 3500, 'still ramping: the best estimate counts');
  // Once the newcomer's link shows its limit close to the operator's, the full encoder respects it.
  lb.update('new', 2500, true);
  assert.equal(applied.full.at(-1), 2500);
});
