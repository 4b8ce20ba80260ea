import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WindowMin } from '../src/transport/congestion/window-min.js';

test('the windowed minimum: lowest within the window, older samples expire, a shift moves all', () => {
  const w = new WindowMin(1000);
  assert.equal(w.min, null);
  assert.equal(w.push(0, 50), 50);
  assert.equal(w.push(100, 80), 50);
  assert.equal(w.push(200, 30), 30);
  assert.equal(w.push(900, 40), 30);
  // 30 (at 200) leaves the window at 1201: 40 is the lowest left.
  assert.equal(w.push(1201, 60), 40);
  w.shift(100);
  assert.equal(w.min, 140);
  w.expire(1901);
  assert.equal(w.min, 160);
  w.clear();
  assert.equal(w.min, null);
});
