/**
 * Sending big messages as chunks without holding up anything else on the same path. Small frames are sent by
 * the caller straight away; big ones queue here and their chunks go out only while the transport holds at most
 * `lowWaterBytes` (a data channel's or websocket's bufferedAmount). So an e-stop or a command sent during a
 * 5 MB transfer waits behind at most that much plus one chunk, never behind the rest of the transfer.
 * Big messages go one after another, in the order given. Works in Node and in browsers.
 */
import { CHUNK_DATA_BYTES, CHUNK_THRESHOLD_BYTES, MAX_CHUNKS } from './chunk-frame.js';
import { needsChunks, planChunks, utf8Length, type ChunkPlan } from './chunk-writer.js';

export interface ChunkSink {
  send(frame: string): void;
  /** Bytes handed to send() and not yet on the wire. */
  bufferedAmount(): number;
  /** false: the path is gone; queued transfers are dropped. */
  isOpen(): boolean;
}

export interface ChunkedSenderOptions {
  /** Chunks are sent only while the sink holds at most this many bytes (default 16 KiB). */
  lowWaterBytes?: number;
  /** Transfers waiting at most (default 16); beyond, send() answers false. */
  maxQueued?: number;
  /** How often to look at the sink again when no drain event arrives (default 10 ms). */
  pollMs?: number;
  chunkBytes?: number;
  thresholdBytes?: number;
}

interface Transfer {
  plan: ChunkPlan;
  resolve: (sent: boolean) => void;
}

export class ChunkedSender {
  private readonly queue: Transfer[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private seq = 0;
  private readonly lowWater: number;

  constructor(
    private readonly sink: ChunkSink,
    private readonly o: ChunkedSenderOptions = {},
  ) {
    this.lowWater = o.lowWaterBytes ?? 16 * 1024;
  }

  /** True when `frame` is big enough to go through send() here rather than straight to the sink. */
  isLarge(frame: string): boolean {
    return needsChunks(frame, this.o.thresholdBytes ?? CHUNK_THRESHOLD_BYTES);
  }

  /** A fresh transfer id for frames that carry no id of their own. */
  nextId(): string {
    return `k${(++this.seq).toString(36)}`;
  }

  /**
   * Queues `frame` as chunks under transfer `id` (`service`: on app -> gateway chunks, where it goes). Resolves
   * true when the last chunk was handed to the sink, false when it was cancelled or the path closed; returns
   * null (nothing queued) when too many transfers wait.
   */
  send(frame: string, id: string, service?: string): Promise<boolean> | null {
    if (this.queue.length >= (this.o.maxQueued ?? 16)) return null;
    // Small chunks grow for a huge message rather than exceed MAX_CHUNKS.
    const chunkBytes = Math.max(
      this.o.chunkBytes ?? CHUNK_DATA_BYTES,
      Math.ceil(utf8Length(frame) / (MAX_CHUNKS - 1)) + 4,
    );
    const plan = planChunks(frame, {
      id,
      chunkBytes,
      ...(service === undefined ? {} : { service }),
    });
    return new Promise((resolve) => {
      this.queue.push({ plan, resolve });
      this.pump();
    });
  }

  /** Stops transfer `id` (e.g. the receiver refused it). True if it was waiting or in progress. */
  cancel(id: string): boolean {
    const i = this.queue.findIndex((t) => t.plan.id === id);
    if (i < 0) return false;
    this.queue.splice(i, 1)[0]!.resolve(false);
    return true;
  }

  /** Transfers not yet fully handed to the sink. */
  get pending(): number {
    return this.queue.length;
  }

  /** Sends what the sink takes now; call it from the transport's drain event (it also polls by itself). */
  pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.sink.isOpen()) return this.close();
    while (this.queue.length > 0 && this.sink.bufferedAmount() <= this.lowWater) {
      const t = this.queue[0]!;
      const frame = t.plan.next();
      if (frame !== undefined) this.sink.send(frame);
      if (t.plan.sent >= t.plan.count) {
        this.queue.shift();
        t.resolve(true);
      }
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => this.pump(), this.o.pollMs ?? 10);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Drops every queued transfer (the path closed). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.queue.splice(0)) t.resolve(false);
  }
}
