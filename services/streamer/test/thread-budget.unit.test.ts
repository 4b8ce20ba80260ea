import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThreadBudget, ThreadPoolTooSmallError, threadPoolSize } from '../src/core/thread-budget.js';

test('the pool size comes from UV_THREADPOOL_SIZE, Node default 4', () => {
  assert.equal(threadPoolSize({}), 4);
  assert.equal(threadPoolSize({ UV_THREADPOOL_SIZE: '32' }), 32);
});

test('reserving past size minus the reserve fails loudly and names the fix; releasing frees threads', () => {
  const budget = new ThreadBudget(10);
  const release = budget.reserve(6, 'two pipelines');
  assert.throws(
    () => budget.reserve(1, 'a sink'),
    (err: unknown) => {
      assert.ok(err instanceof ThreadPoolTooSmallError);
      assert.match(err.message, /UV_THREADPOOL_SIZE=10 is too small for a sink: 11 needed/);
      return true;
    },
  );
  release();
  release();
  assert.equal(budget.inUse, 0);
  budget.reserve(6, 'again');
});
