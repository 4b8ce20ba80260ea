/**
 * Bounded per-destination queues in front of a transport, in three lanes:
 * - priority: e-stop and deadman, sent before anything queued;
 * - reliable: commands, replies, events, announcements; bounded, push() says false when full so that the
 *   caller can tell the sender (a reliable message is never dropped silently);
 * - lossy: telemetry, one bounded queue per key (service); when full the oldest is dropped and counted.
 * Frames go straight to the transport while it is below the high-water mark; the queues only fill when the
 * peer reads slower than we write.
 */
import type { DeliveryClass } from '../links/app-link.js';

export interface OutboxSink {
  send(frame: string, cls: DeliveryClass): void;
  bufferedAmount(cls: DeliveryClass): number;
}

export interface ReliableItem {
  frame: string;
  /** Called if the item is discarded unsent (destination closed): the sender must hear about it. */
  onDiscard?: () => void;
}

export interface OutboxOptions {
  reliableLimit: number;
  lossyLimitPerKey: number;
  highWaterBytes: number;
  /** Encodes a drop report for `key`; absent: drops are only counted (services receive no telemetry). */
  dropReport?: (key: string, dropped: number, total: number) => string;
  onDrop?: (key: string, count: number) => void;
  /** Minimum ms between two drop reports of one key while its queue stays non-empty. */
  dropReportIntervalMs?: number;
}

/** A FIFO with O(1) shift (arrays shift in O(n), which hurts under a flood). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }
}

interface LossyQueue {
  q: Fifo<string>;
  pendingDrops: number;
  totalDrops: number;
  lastReportAt: number;
}

export class Outbox {
  private readonly priority = new Fifo<string>();
  private readonly reliable = new Fifo<ReliableItem>();
  private readonly lossy = new Map<string, LossyQueue>();
  private lossyOrder: string[] = [];
  private lossyCursor = 0;
  private closed = false;

  constructor(
    private readonly sink: OutboxSink,
    private readonly opts: OutboxOptions,
  ) {}

  /** Messages waiting in the gateway (not counting what the transport buffers). */
  get depth(): number {
    let n = this.priority.length + this.reliable.length;
    for (const l of this.lossy.values()) n += l.q.length;
    return n;
  }

  pushPriority(frame: string): void {
    if (this.closed) return;
    this.priority.push(frame);
    this.flush();
  }

  /** false: the queue is full and the frame was NOT queued. */
  pushReliable(item: ReliableItem): boolean {
    if (this.closed) return false;
    if (this.reliable.length === 0 && this.priority.length === 0 && this.below('reliable')) {
      this.sink.send(item.frame, 'reliable');
      return true;
    }
    if (this.reliable.length >= this.opts.reliableLimit) return false;
    this.reliable.push(item);
    this.flush();
    return true;
  }

  pushLossy(key: string, frame: string): void {
    if (this.closed) return;
    let l = this.lossy.get(key);
    if (!l) {
      l = { q: new Fifo(), pendingDrops: 0, totalDrops: 0, lastReportAt: 0 };
      this.lossy.set(key, l);
      this.lossyOrder.push(key);
    }
    if (l.q.length === 0 && this.below('lossy') && this.priority.length === 0 && this.reliable.length === 0) {
      this.sink.send(frame, 'lossy');
      this.maybeReport(key, l);
      return;
    }
    if (l.q.length >= this.opts.lossyLimitPerKey) {
      l.q.shift();
      l.pendingDrops++;
      l.totalDrops++;
      this.opts.onDrop?.(key, 1);
    }
    l.q.push(frame);
    this.flush();
  }

  /** Sends what the transport will take now; call again when the transport drains. */
  flush(): void {
    if (this.closed) return;
    while (this.priority.length > 0 && this.below('reliable'))
      this.sink.send(this.priority.shift()!, 'reliable');
    if (this.priority.length > 0) return;
    while (this.reliable.length > 0 && this.below('reliable'))
      this.sink.send(this.reliable.shift()!.frame, 'reliable');
    // Lossy after reliable: telemetry never delays a reply on a shared transport (a websocket: one buffer).
    const keys = this.lossyOrder;
    let idle = 0;
    while (keys.length > 0 && idle < keys.length && this.below('lossy')) {
      const key = keys[this.lossyCursor % keys.length]!;
      this.lossyCursor = (this.lossyCursor + 1) % keys.length;
      const l = this.lossy.get(key)!;
      const frame = l.q.shift();
      if (frame === undefined) {
        idle++;
        continue;
      }
      idle = 0;
      this.sink.send(frame, 'lossy');
    }
    for (const [key, l] of this.lossy) this.maybeReport(key, l);
  }

  /** Drops everything queued, telling each reliable item's sender through onDiscard. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const item of this.reliable.drain()) item.onDiscard?.();
    this.priority.drain();
    this.lossy.clear();
  }

  private maybeReport(key: string, l: LossyQueue): void {
    if (l.pendingDrops === 0 || !this.opts.dropReport) return;
    const now = Date.now();
    // Report once the backlog has cleared, or periodically during a long flood.
    if (l.q.length > 0 && now - l.lastReportAt < (this.opts.dropReportIntervalMs ?? 250)) return;
    const frame = this.opts.dropReport(key, l.pendingDrops, l.totalDrops);
    if (this.reliable.length >= this.opts.reliableLimit) return;
    l.pendingDrops = 0;
    l.lastReportAt = now;
    if (this.reliable.length === 0 && this.below('reliable')) this.sink.send(frame, 'reliable');
    else this.reliable.push({ frame });
  }

  private below(cls: DeliveryClass): boolean {
    return this.sink.bufferedAmount(cls) < this.opts.highWaterBytes;
  }
}
