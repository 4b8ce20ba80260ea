// One MCAP file being written: channels registered on first use, messages queued through one promise chain (the
// MCAP writer needs each call to finish before the next), bytes waiting for the disk bounded. A write error (a
// full disk) fails the segment once and drops everything after it: the caller decides what to do, the media path
// never waits for the disk and never sees the error.
import { open, type FileHandle } from 'node:fs/promises';
import { McapWriter } from '@mcap/core';
import { FileHandleWritable } from '@mcap/nodejs';

export interface ChannelSpec {
  topic: string;
  schemaName: string;
  /** JSON Schema text of one message. */
  schema: string;
  metadata?: Record<string, string>;
}

export interface SegmentOptions {
  path: string;
  chunkBytes: number;
  maxPendingBytes: number;
  /** Written into the MCAP header's `profile`/`library` and a metadata record. */
  metadata: Record<string, string>;
  onError: (err: Error) => void;
}

const encoder = new TextEncoder();

export class McapSegment {
  private writer: McapWriter | null = null;
  private handle: FileHandle | null = null;
  private writable: FileHandleWritable | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly channels = new Map<string, Promise<number>>();
  private readonly sequences = new Map<string, number>();
  private pending = 0;
  private failedWith: Error | null = null;
  private ended = false;
  readonly startedAt = Date.now();
  messages = 0;
  dropped = 0;

  constructor(private readonly o: SegmentOptions) {
    this.chain = this.run(async () => {
      this.handle = await open(o.path, 'wx');
      this.writable = new FileHandleWritable(this.handle);
      // Chunks are the unit a crash can lose: the file holds every chunk written before it (McapStreamReader
      // reads them without the summary that end() would write).
      this.writer = new McapWriter({ writable: this.writable, chunkSize: o.chunkBytes });
      await this.writer.start({ profile: '', library: 'robostream recorder' });
      await this.writer.addMetadata({ name: 'robostream', metadata: new Map(Object.entries(o.metadata)) });
    });
  }

  get path(): string {
    return this.o.path;
  }

  get failed(): boolean {
    return this.failedWith !== null;
  }

  /** Bytes in the file so far (written records; the chunk being filled is not counted). */
  get bytes(): number {
    return this.writable ? Number(this.writable.position()) : 0;
  }

  /** Queues one message; false (and counted) when the disk is behind or the segment failed. */
  add(channel: ChannelSpec, logTimeNs: bigint, publishTimeNs: bigint, data: Uint8Array): boolean {
    if (this.failedWith || this.ended || this.pending + data.byteLength > this.o.maxPendingBytes) {
      this.dropped++;
      return false;
    }
    const channelId = this.channel(channel);
    const sequence = (this.sequences.get(channel.topic) ?? 0) + 1;
    this.sequences.set(channel.topic, sequence);
    this.pending += data.byteLength;
    this.messages++;
    this.chain = this.run(async () => {
      this.pending -= data.byteLength;
      await this.writer?.addMessage({
        channelId: await channelId,
        sequence,
        logTime: logTimeNs,
        publishTime: publishTimeNs,
        data,
      });
    });
    return true;
  }

  /** Writes the summary and closes the file; the promise settles when it is on disk (or failed). */
  end(): Promise<void> {
    if (this.ended) return this.chain;
    this.ended = true;
    this.chain = this.run(async () => {
      await this.writer?.end();
    }).finally(async () => {
      await this.handle?.close().catch(() => undefined);
      this.handle = null;
    });
    return this.chain;
  }

  private channel(spec: ChannelSpec): Promise<number> {
    let id = this.channels.get(spec.topic);
    if (!id) {
      id = this.chain.then(async () => {
        const w = this.writer;
        if (!w) return 0;
        const schemaId = await w.registerSchema({
          name: spec.schemaName,
          encoding: 'jsonschema',
          data: encoder.encode(spec.schema),
        });
        return w.registerChannel({
          topic: spec.topic,
          schemaId,
          messageEncoding: 'json',
          metadata: new Map(Object.entries(spec.metadata ?? {})),
        });
      });
      this.channels.set(spec.topic, id);
    }
    return id;
  }

  private run(step: () => Promise<void>): Promise<void> {
    return this.chain.then(async () => {
      if (this.failedWith) return;
      try {
        await step();
      } catch (err) {
        this.failedWith = err as Error;
        this.o.onError(err as Error);
      }
    });
  }
}
