/**
 * Chunking of large gateway messages: the writer's cuts, the reassembler's bounds and errors (including a
 * property-based fuzz of random splits and hostile chunk sequences), and the paced sender.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ChunkedSender,
  Reassembler,
  ReassemblyBudget,
  appToGateway,
  gatewayToApp,
  needsChunks,
  planChunks,
  serviceToGateway,
  utf8Length,
  type ChunkFrame,
  type ChunkResult,
  type ReassemblerOptions,
} from '../src/gateway/index.js';

function chunksOf(frame: string, id: string, chunkBytes: number, service?: string): ChunkFrame[] {
  const plan = planChunks(frame, { id, chunkBytes, ...(service ? { service } : {}) });
  const out: ChunkFrame[] = [];
  for (let f = plan.next(); f !== undefined; f = plan.next()) out.push(JSON.parse(f) as ChunkFrame);
  assert.equal(out.length, plan.count);
  return out;
}

const open = (o: Partial<ReassemblerOptions> = {}) =>
  new Reassembler({
    maxPartials: 4,
    idleTimeoutMs: 60_000,
    admit: () => ({ ok: true, maxBytes: 1 << 30 }),
    ...o,
  });

test('utf8Length agrees with Buffer.byteLength, lone surrogates included', () => {
  for (const s of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\ud800', 'x\udc00y', '\ud83d\ude00\ud83d']) {
    assert.equal(utf8Length(s), Buffer.byteLength(s), JSON.stringify(s));
  }
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === Buffer.byteLength(s)));
});

test('a frame is cut on code-point boundaries into chunks of at most chunkBytes, each a valid envelope', () => {
  const frame = JSON.stringify({ v: 1, type: 'event', payload: { text: 'ab€😀'.repeat(3000) } });
  const chunks = chunksOf(frame, 'm1', 1000);
  for (const c of chunks) {
    assert.ok(utf8Length(c.data) <= 1000);
    assert.ok(!/^[\udc00-\udfff]/.test(c.data), 'no chunk starts inside a surrogate pair');
    assert.equal(serviceToGateway.check(c).ok, true);
    assert.equal(gatewayToApp.check(c).ok, true);
  }
  assert.equal(chunks.map((c) => c.data).join(''), frame);
  assert.equal(chunks[0]!.total, Buffer.byteLength(frame));
  const appChunk = chunksOf(frame, 'm2', 4000, 'mapper')[0]!;
  assert.equal(appToGateway.check(appChunk).ok, true);
  assert.equal(
    appToGateway.check({ ...appChunk, service: undefined }).ok,
    false,
    'app chunks name the service',
  );
  assert.equal(needsChunks(frame), true);
  assert.equal(needsChunks('{"v":1}'), false);
});

test('reassembly: interleaved messages complete, the bounds refuse with typed errors', () => {
  const r = open({ maxPartials: 2 });
  const a = chunksOf('A'.repeat(50), 'a', 10);
  const b = chunksOf('B'.repeat(30), 'b', 10);
  const results: ChunkResult[] = [];
  for (let i = 0; i < 5; i++) {
    results.push(r.accept(a[i]!));
    if (b[i]) results.push(r.accept(b[i]!));
  }
  const complete = results.filter((x) => x.kind === 'complete');
  assert.deepEqual(
    complete.map((x) => x.kind === 'complete' && [x.id, x.frame]),
    [
      ['b', 'B'.repeat(30)],
      ['a', 'A'.repeat(50)],
    ],
  );

  // Too many at once.
  r.accept(chunksOf('x'.repeat(20), 'p1', 10)[0]!);
  r.accept(chunksOf('x'.repeat(20), 'p2', 10)[0]!);
  const third = r.accept(chunksOf('x'.repeat(20), 'p3', 10)[0]!);
  assert.equal(third.kind === 'refused' && third.code, 'queue_full');
  assert.equal(r.accept(chunksOf('x'.repeat(20), 'p3', 10)[1]!).kind, 'ignored', 'one error per message');

  // Over the cap: refused at the first chunk, the rest ignored.
  const capped = open({ admit: () => ({ ok: true, maxBytes: 100 }) });
  const big = chunksOf('y'.repeat(500), 'big', 100);
  const first = capped.accept(big[0]!);
  assert.equal(first.kind === 'refused' && first.code, 'message_too_large');
  assert.equal(first.kind === 'refused' && first.id, 'big');
  for (const c of big.slice(1)) assert.equal(capped.accept(c).kind, 'ignored');
  assert.equal(capped.inTransfer, 0);

  // Admission refusals pass through with their own code.
  const closed = open({ admit: () => ({ ok: false, code: 'not_operator', message: 'no' }) });
  const no = closed.accept(big[0]!);
  assert.equal(no.kind === 'refused' && no.code, 'not_operator');
});

test('reassembly: gaps, repeats, changed totals and short messages are bad_message; the id may be reused after', () => {
  const r = open();
  const c = chunksOf('z'.repeat(40), 'q', 10);
  const cases: Array<[string, ChunkFrame[], RegExp]> = [
    ['gap', [c[0]!, c[2]!], /out of order/],
    ['repeat', [c[0]!, c[0]!], /out of order/],
    ['changed total', [c[0]!, { ...c[1]!, total: 41 }], /changes/],
    ['longer', [c[0]!, { ...c[1]!, data: 'z'.repeat(35) }], /longer than/],
    ['short last', [c[0]!, c[1]!, c[2]!, { ...c[3]!, data: 'z' }], /ended at/],
    ['no chunk 0', [c[1]!], /never came/],
    ['index past count', [{ ...c[0]!, index: 0, count: 50 }], /chunk 0 of 50/],
  ];
  for (const [what, seq, msg] of cases) {
    const results = seq.map((x) => r.accept(x));
    const last = results.at(-1)!;
    assert.equal(last.kind, 'refused', what);
    assert.equal(last.kind === 'refused' && last.code, 'bad_message', what);
    assert.match(last.kind === 'refused' ? last.message : '', msg, what);
    assert.equal(r.inTransfer, 0, `${what}: nothing held`);
    // A fresh transfer with the same id works.
    const done = c.map((x) => r.accept(x)).at(-1)!;
    assert.equal(done.kind, 'complete', `${what}: id reusable`);
  }
});

test('reassembly: an idle partial is dropped and reported; the budget is shared and released', async () => {
  const expired: string[] = [];
  const budget = new ReassemblyBudget(100);
  const r1 = open({ idleTimeoutMs: 40, onExpired: (id) => expired.push(id), budget });
  const r2 = open({ budget });
  const slow = chunksOf('s'.repeat(60), 'slow', 10);
  assert.equal(r1.accept(slow[0]!).kind, 'partial');
  assert.equal(budget.usedBytes, 60);
  const other = r2.accept(chunksOf('o'.repeat(60), 'o', 10)[0]!);
  assert.equal(other.kind === 'refused' && other.code, 'queue_full', 'over the shared budget');
  await new Promise((res) => setTimeout(res, 120));
  assert.deepEqual(expired, ['slow']);
  assert.equal(budget.usedBytes, 0);
  assert.equal(r1.accept(slow[1]!).kind, 'ignored');
  r1.clear();
  r2.clear();
});

test('fuzz: any frame split at any chunk size reassembles exactly', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary', maxLength: 3000 }),
      fc.integer({ min: 4, max: 700 }),
      (text, size) => {
        const frame = JSON.stringify({ v: 1, type: 'event', payload: text });
        const r = open();
        const results = chunksOf(frame, 'f', size).map((c) => r.accept(c));
        const last = results.at(-1)!;
        return (
          results.slice(0, -1).every((x) => x.kind === 'partial') &&
          last.kind === 'complete' &&
          last.frame === frame &&
          r.inTransfer === 0
        );
      },
    ),
    { numRuns: 300 },
  );
});

test('fuzz: hostile chunk sequences never throw, only give typed results, and never hold more than their bounds', () => {
  const ids = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
  const chunk = fc.record({
    v: fc.constant(1 as const),
    type: fc.constant('chunk' as const),
    id: ids,
    index: fc.integer({ min: 0, max: 6 }),
    count: fc.integer({ min: 1, max: 6 }),
    total: fc.integer({ min: 1, max: 400 }),
    data: fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }),
    service: fc.option(fc.constantFrom('map', 'lidar'), { nil: undefined }),
  });
  const MAX = 300;
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 80 }), (seq) => {
      const budget = new ReassemblyBudget(700);
      const r = new Reassembler({
        maxPartials: 3,
        idleTimeoutMs: 60_000,
        budget,
        admit: (c) =>
          c.service === 'lidar'
            ? { ok: false, code: 'service_down', message: 'down' }
            : { ok: true, maxBytes: MAX },
      });
      for (const c of seq) {
        const res = r.accept(c as ChunkFrame);
        if (
          res.kind === 'refused' &&
          !['bad_message', 'queue_full', 'message_too_large', 'service_down'].includes(res.code)
        )
          return false;
        if (res.kind === 'complete' && utf8Length(res.frame) !== c.total) return false;
        if (r.inTransfer > 3 || r.heldBytes > 3 * MAX || budget.usedBytes > 700) return false;
      }
      r.clear();
      return budget.usedBytes === 0;
    }),
    { numRuns: 500 },
  );
});

test('fuzz: hostile chunks of other ids interleaved with real transfers never disturb them', () => {
  const hostile = fc.record({
    v: fc.constant(1 as const),
    type: fc.constant('chunk' as const),
    id: fc.constantFrom('h0', 'h1', 'h2', 'h3'),
    index: fc.integer({ min: 0, max: 8 }),
    count: fc.integer({ min: 1, max: 8 }),
    total: fc.integer({ min: 1, max: 200 }),
    data: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
  });
  const transfer = fc.record({
    text: fc.string({ unit: 'binary', maxLength: 400 }),
    size: fc.integer({ min: 4, max: 90 }),
  });
  fc.assert(
    fc.property(
      fc.array(transfer, { minLength: 1, maxLength: 3 }),
      fc.array(hostile, { maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      (transfers, noise, picks) => {
        const r = open({ maxPartials: 8 });
        const frames = transfers.map((t, i) =>
          JSON.stringify({ v: 1, type: 'event', payload: { i, t: t.text } }),
        );
        const queues: ChunkFrame[][] = transfers.map((t, i) => chunksOf(frames[i]!, `v${i}`, t.size));
        queues.push(noise as ChunkFrame[]);
        const done = new Map<string, string>();
        // Each pick takes the next chunk of one queue: real transfers keep their own order, noise comes between.
        let k = 0;
        while (queues.some((q) => q.length > 0)) {
          const live = queues.filter((q) => q.length > 0);
          const res = r.accept(live[(picks[k++] ?? 0) % live.length]!.shift()!);
          if (res.kind === 'complete') done.set(res.id, res.frame);
        }
        r.clear();
        return frames.every((f, i) => done.get(`v${i}`) === f);
      },
    ),
    { numRuns: 300 },
  );
});

test("paced sender: chunks only go while the sink is below its mark; small frames are the caller's", async () => {
  const sent: string[] = [];
  let buffered = 0;
  const sender = new ChunkedSender(
    {
      send: (f) => (sent.push(f), (buffered += f.length)),
      bufferedAmount: () => buffered,
      isOpen: () => true,
    },
    { lowWaterBytes: 1000, chunkBytes: 400, pollMs: 5 },
  );
  const frame = JSON.stringify({ v: 1, type: 'event', payload: 'p'.repeat(4000) });
  assert.equal(sender.isLarge(frame), false, 'below the 16 KiB threshold by default');
  const done = sender.send(frame, 'big')!;
  // The sink takes chunks until it holds more than the mark, then nothing until it drains.
  const first = sent.length;
  assert.ok(first >= 2 && first <= 4, `${first} chunks before the sink filled`);
  buffered = 0;
  sender.pump();
  assert.ok(sent.length > first);
  const drainer = setInterval(() => (buffered = 0), 2);
  assert.equal(await done, true);
  clearInterval(drainer);
  const r = open();
  const last = sent.map((f) => r.accept(JSON.parse(f) as ChunkFrame)).at(-1)!;
  assert.equal(last.kind === 'complete' && last.frame, frame);

  // Cancelled mid-way (the receiver refused it).
  buffered = 10_000;
  const cancelled = sender.send(frame, 'c2')!;
  assert.equal(sender.cancel('c2'), true);
  assert.equal(await cancelled, false);
  assert.equal(sender.pending, 0);
});
