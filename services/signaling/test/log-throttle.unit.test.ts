import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogThrottle } from '../src/logging/log-throttle.js';

test('one line per key and interval, with the count of lines dropped before it', () => {
  let now = 0;
  const t = new LogThrottle(1000, () => now);
  assert.equal(t.admit('a'), 0);
  assert.equal(t.admit('a'), undefined);
  assert.equal(t.admit('a'), undefined);
  assert.equal(t.admit('b'), 0, 'keys are independent');
  now = 999;
  assert.equal(t.admit('a'), undefined);
  now = 1000;
  assert.equal(t.admit('a'), 3);
  assert.equal(t.admit('a'), undefined);
});
