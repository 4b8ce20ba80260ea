/**
 * Bounded per-destination queues in front of a transport, in four lanes:
 * - priority: e-stop and deadman, sent before anything queued;
 * - reliable: commands, replies, events, announcements; bounded, push() says false when full so that the
 *   caller can tell the sender (a reliable message is never dropped silently);
 * - lossy: telemetry, one bounded queue per key (service); when full the oldest is dropped and counted;
 * - large: any frame above the chunk threshold, reliable or telemetry, sent as chunk frames on the reliable
 *   class, one message after another, and only while nothing else waits and the transport holds at most its
 *   low-water mark: a 5 MB map never stands between the robot and an e-stop, a command or a velocity.
 * Frames go straight to the transport while it is below the high-water mark; the queues only fill when the
 * peer reads slower than we write.
 */
import { CHUNK_THRESHOLD_BYTES, planChunks, type ChunkPlan } from '@robostream/protocol/gateway';
import { tooLarge } from './frames.js';
import type { DeliveryClass } from '../links/app-link.js';

export interface OutboxSink {
  send(frame: string, cls: DeliveryClass): void;
  bufferedAmount(cls: DeliveryClass): number;
}

export interface ReliableItem {
  frame: string;
  /** Called if the item is discarded unsent (destination closed): the sender must hear about it. */
  onDiscard?: () => void;
  /** Whose message it is, named on its chunk frames when it is large (gateway -> app). */
  service?: string;
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
  /** Large messages waiting (or in transfer) at most; beyond, reliable ones are refused, telemetry dropped. */
  largeLimit: number;
  /**
   * Chunks of large messages go only while the transport holds at most this: its low-water mark, so that its
   * drain event comes back for the next chunk.
   */
  largeWaterBytes: number;
  /** Name chunk frames with the message's service (gateway -> app); not toward services. */
  chunkService?: boolean;
}

interface LargeItem {
  frame: string;
  onDiscard?: () => void;
  service?: string;
  /** Set for telemetry: a newer one of the same key replaces it while it waits. */
  lossyKey?: string;
  /** Set once its first chunk went out. */
  plan: ChunkPlan | null;
}

/** How soon the large lane looks at its transport again when no drain event came. */
const LARGE_RETRY_MS = 20;

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
  private readonly large: LargeItem[] = [];
  private chunkSeq = 0;
  private largeRetry: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly sink: OutboxSink,
    private readonly opts: OutboxOptions,
  ) {}

  /** Messages waiting in the gateway (not counting what the transport buffers). */
  get depth(): number {
    let n = this.priority.length + this.reliable.length + this.large.length;
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
    if (tooLarge(item.frame, CHUNK_THRESHOLD_BYTES)) {
      if (this.large.length >= this.opts.largeLimit) return false;
      this.large.push({ ...item, plan: null });
      this.flush();
      return true;
    }
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
    if (tooLarge(frame, CHUNK_THRESHOLD_BYTES)) return this.pushLargeLossy(key, l, frame);
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
    this.sendChunks();
  }

  /**
   * Large telemetry keeps telemetry's promise (the newest matters, the oldest is dropped and reported): a newer
   * one replaces the one of its key still waiting; one in transfer is finished.
   */
  private pushLargeLossy(key: string, l: LossyQueue, frame: string): void {
    const waiting = this.large.findIndex((x) => x.lossyKey === key && x.plan === null);
    const full = this.large.length >= this.opts.largeLimit;
    if (waiting >= 0 || full) {
      l.pendingDrops++;
      l.totalDrops++;
      this.opts.onDrop?.(key, 1);
    }
    if (waiting >= 0) this.large[waiting] = { frame, service: key, lossyKey: key, plan: null };
    else if (!full) this.large.push({ frame, service: key, lossyKey: key, plan: null });
    this.flush();
  }

  /** Chunks of the large lane, while nothing else waits and the transport is at its low-water mark or below. */
  private sendChunks(): void {
    while (
      this.large.length > 0 &&
      this.priority.length === 0 &&
      this.reliable.length === 0 &&
      this.sink.bufferedAmount('reliable') <= this.opts.largeWaterBytes
    ) {
      const item = this.large[0]!;
      item.plan ??= planChunks(item.frame, {
        id: `g${(++this.chunkSeq).toString(36)}`,
        ...(this.opts.chunkService && item.service !== undefined ? { service: item.service } : {}),
      });
      const chunk = item.plan.next();
      if (chunk !== undefined) this.sink.send(chunk, 'reliable');
      if (item.plan.sent >= item.plan.count) this.large.shift();
    }
    // Drain events normally bring us back; a transport whose drain fires elsewhere must not stall the lane.
    if (this.large.length > 0 && this.largeRetry === undefined) {
      this.largeRetry = setTimeout(() => {
        this.largeRetry = undefined;
        this.flush();
      }, LARGE_RETRY_MS);
      this.largeRetry.unref?.();
    }
  }

  /** Drops everything queued, telling each reliable item's sender through onDiscard. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const item of this.reliable.drain()) item.onDiscard?.();
    for (const item of this.large.splice(0)) item.onDiscard?.();
    clearTimeout(this.largeRetry);
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
