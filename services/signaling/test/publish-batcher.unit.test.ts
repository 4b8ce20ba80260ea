import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PublishBatcher, unbatch } from '../src/routing/publish-batcher.js';

test('messages of one turn go out as one publish per channel, in order; a lone one is sent as itself', async () => {
  const published: [string, string][] = [];
  const b = new PublishBatcher(async (channel, payload) => {
    published.push([channel, payload]);
    return channel === 'a' ? 1 : 0;
  });
  const results = await Promise.all([
    b.add('a', '{"n":1}'),
    b.add('b', '{"n":2}'),
    b.add('a', '{"n":3}'),
    b.add('a', '{"n":4}'),
  ]);
  assert.deepEqual(results, [1, 0, 1, 1], 'each message gets its batch’s receiver count');
  assert.deepEqual(published, [
    ['a', '[{"n":1},{"n":3},{"n":4}]'],
    ['b', '{"n":2}'],
  ]);
  assert.deepEqual(unbatch(published[0]![1]), [{ n: 1 }, { n: 3 }, { n: 4 }]);
  assert.deepEqual(unbatch(published[1]![1]), [{ n: 2 }]);

  // The next turn is a new batch.
  await b.add('a', '{"n":5}');
  assert.deepEqual(published[2], ['a', '{"n":5}']);
});

test('a failed publish rejects every message of its batch; a large batch goes out before the turn ends', async () => {
  const b = new PublishBatcher(async () => {
    throw new Error('redis down');
  });
  const all = await Promise.allSettled([b.add('a', '{}'), b.add('a', '{}')]);
  assert.deepEqual(
    all.map((r) => r.status),
    ['rejected', 'rejected'],
  );

  const sizes: number[] = [];
  const big = new PublishBatcher(async (_c, payload) => {
    sizes.push(payload.length);
    return 1;
  });
  const item = JSON.stringify({ pad: 'x'.repeat(100 * 1024) });
  await Promise.all([big.add('a', item), big.add('a', item), big.add('a', item), big.add('a', item)]);
  assert.equal(sizes.length, 2, `expected the 256 KiB cap to split the batch, got ${sizes.join(', ')}`);
});
