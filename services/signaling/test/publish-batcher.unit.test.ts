import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_BATCH_BYTES, PublishBatcher, unbatch } from '../src/routing/publish-batcher.js';

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
  // Three items fit under the cap, the fourth would not: it starts the next batch, in order.
  const item = (n: number) => JSON.stringify({ n, pad: 'x'.repeat(Math.floor(MAX_BATCH_BYTES / 3.5)) });
  const items = [0, 1, 2, 3].map(item);
  await Promise.all(items.map((i) => big.add('a', i)));
  assert.equal(sizes.length, 2, `expected the cap to split the batch, got ${sizes.join(', ')}`);
  assert.ok(sizes[0]! <= MAX_BATCH_BYTES, `the first batch (${sizes[0]} bytes) is within the cap`);
  // An item larger than the cap on its own goes out alone, not held back.
  const huge = JSON.stringify({ pad: 'y'.repeat(MAX_BATCH_BYTES + 10) });
  sizes.length = 0;
  await Promise.all([big.add('a', items[0]!), big.add('a', huge), big.add('a', items[1]!)]);
  assert.deepEqual(
    sizes,
    [items[0]!.length, huge.length, items[1]!.length],
    'a lone oversized item is its own batch',
  );
});

test('the cap counts a payload as Redis and V8 hold it, not in UTF-16 units', async () => {
  const payloads: string[] = [];
  const b = new PublishBatcher(async (_c, payload) => {
    payloads.push(payload);
    return 1;
  });
  // Three bytes of UTF-8 per character: two of these fit under the cap, a third would not (in UTF-16 units all
  // three would have fitted, and the payload been 1.3 x the cap on the wire).
  const cjk = (n: number) => JSON.stringify({ n, text: '漢'.repeat(Math.floor(MAX_BATCH_BYTES / 7)) });
  await Promise.all([0, 1, 2].map((n) => b.add('a', cjk(n))));
  assert.deepEqual(
    payloads.map((p) => unbatch<{ n: number }>(p).map((m) => m.n)),
    [[0, 1], [2]],
  );
  assert.ok(
    Buffer.byteLength(payloads[0]!) <= MAX_BATCH_BYTES,
    'the first payload is within the cap in UTF-8',
  );

  // ASCII items joined with one that is not: V8 stores the whole joined string at two bytes per unit.
  payloads.length = 0;
  const ascii = (n: number) => JSON.stringify({ n, pad: 'x'.repeat(Math.floor(MAX_BATCH_BYTES * 0.3)) });
  await Promise.all([
    b.add('a', ascii(0)),
    b.add('a', JSON.stringify({ n: 1, text: '🤖' })),
    b.add('a', ascii(2)),
  ]);
  assert.deepEqual(
    payloads.map((p) => unbatch<{ n: number }>(p).map((m) => m.n)),
    [[0, 1], [2]],
  );
  assert.ok(2 * payloads[0]!.length <= MAX_BATCH_BYTES, 'the first payload is within the cap as a V8 string');
});
