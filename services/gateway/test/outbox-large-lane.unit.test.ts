/**
 * The outbox's large lane against a fake transport whose buffer the test drains by hand: chunks go only when
 * nothing else waits and the buffer is at its low-water mark, e-stops and commands overtake a transfer, large
 * telemetry keeps drop-oldest, and the lane is bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reassembler, type ChunkFrame } from '@robostream/protocol/gateway';
import { Outbox, type OutboxOptions } from '../src/hub/outbox.js';
import type { DeliveryClass } from '../src/links/app-link.js';

class FakeSink {
  readonly sent: Array<{ frame: string; cls: DeliveryClass }> = [];
  buffered = 0;
  send(frame: string, cls: DeliveryClass): void {
    this.sent.push({ frame, cls });
    this.buffered += frame.length;
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  types(): string[] {
    return this.sent.map((s) => (JSON.parse(s.frame) as { type: string }).type);
  }
}

const opts = (o: Partial<OutboxOptions> = {}): OutboxOptions => ({
  reliableLimit: 100,
  lossyLimitPerKey: 4,
  highWaterBytes: 64 * 1024,
  largeLimit: 2,
  largeWaterBytes: 16 * 1024,
  chunkService: true,
  ...o,
});
const big = (n: number, type = 'event') =>
  JSON.stringify({ v: 1, type, service: 'map', payload: 'm'.repeat(n) });
const small = (type: string, extra: object = {}) => JSON.stringify({ v: 1, type, ...extra });

test('a large message goes as chunks only at the low-water mark; e-stop and commands overtake it', () => {
  const sink = new FakeSink();
  const out = new Outbox(sink, opts());
  const frame = big(200_000);
  assert.equal(out.pushReliable({ frame, service: 'map' }), true);
  // One chunk (about 16 KiB) takes the buffer past the mark; the rest waits for a drain.
  assert.equal(sink.sent.length, 1);
  assert.equal(sink.sent[0]!.cls, 'reliable');
  const first = JSON.parse(sink.sent[0]!.frame) as ChunkFrame;
  assert.equal(first.type, 'chunk');
  assert.equal(first.service, 'map');

  // Mid-transfer, an e-stop and a command are sent at once, without waiting for the chunks.
  out.pushPriority(small('estop', { source: { kind: 'service', service: 'bumper' }, at: 1 }));
  out.pushReliable({ frame: small('reply', { ref: 'c1' }) });
  assert.deepEqual(sink.types(), ['chunk', 'estop', 'reply']);

  // Drains bring the next chunks, one per drain at this buffer size, until the message is out whole.
  const r = new Reassembler({
    maxPartials: 1,
    idleTimeoutMs: 1e6,
    admit: () => ({ ok: true, maxBytes: 1e9 }),
  });
  let whole: string | null = null;
  for (let i = 0; i < 100 && out.depth > 0; i++) {
    sink.buffered = 0;
    out.flush();
  }
  for (const s of sink.sent) {
    const c = JSON.parse(s.frame) as ChunkFrame;
    if (c.type !== 'chunk') continue;
    const res = r.accept(c);
    if (res.kind === 'complete') whole = res.frame;
  }
  assert.equal(whole, frame);
  assert.equal(out.depth, 0);
});

test('large telemetry: a newer one replaces the one waiting, counted as a drop; reliable ones beyond the limit are refused', () => {
  const sink = new FakeSink();
  const drops: number[] = [];
  const out = new Outbox(sink, opts({ onDrop: (_k, n) => drops.push(n) }));
  sink.buffered = 1_000_000; // the transport is full: everything waits
  out.pushLossy('map', big(50_000, 'telemetry'));
  out.pushLossy('map', big(60_000, 'telemetry'));
  assert.equal(drops.length, 1, 'the older waiting one was dropped');
  assert.equal(out.depth, 1);
  assert.equal(out.pushReliable({ frame: big(70_000) }), true);
  assert.equal(out.pushReliable({ frame: big(80_000) }), false, 'the lane holds two');
  let discarded = 0;
  out.close();
  assert.equal(discarded, 0);
  const out2 = new Outbox(sink, opts());
  out2.pushReliable({ frame: big(70_000), onDiscard: () => discarded++ });
  out2.close();
  assert.equal(discarded, 1, 'a large reliable message dropped at close tells its sender');
});
