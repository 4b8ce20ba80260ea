/**
 * Serves the hub's tap (see @robostream/protocol/gateway tap.ts) to readers on the local listener as
 * newline-delimited JSON. A reader that does not keep up loses records (counted, and reported to it in a
 * `{"dropped": n}` line once it catches up) instead of holding memory: the recorder must never slow the hub down.
 */
import type { ServerResponse } from 'node:http';
import type { TapRecord } from '@robostream/protocol/gateway';

interface Reader {
  res: ServerResponse;
  /** The socket's buffer is past its high-water mark: records are dropped until it drains. */
  blocked: boolean;
  dropped: number;
}

export class TapStream {
  private readonly readers = new Set<Reader>();
  private records = 0;

  constructor(private readonly maxReaders = 4) {}

  get readerCount(): number {
    return this.readers.size;
  }

  get recordCount(): number {
    return this.records;
  }

  get full(): boolean {
    return this.readers.size >= this.maxReaders;
  }

  /** Adds a reader (the caller checked `full`). */
  attach(res: ServerResponse): void {
    const reader: Reader = { res, blocked: false, dropped: 0 };
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    res.on('drain', () => {
      reader.blocked = false;
      if (reader.dropped > 0) {
        reader.blocked = !res.write(`${JSON.stringify({ dropped: reader.dropped })}\n`);
        reader.dropped = 0;
      }
    });
    res.on('close', () => this.readers.delete(reader));
    this.readers.add(reader);
  }

  publish(record: TapRecord): void {
    if (this.readers.size === 0) return;
    this.records++;
    const line = `${JSON.stringify(record)}\n`;
    for (const r of this.readers) {
      if (r.blocked) {
        r.dropped++;
        continue;
      }
      r.blocked = !r.res.write(line);
    }
  }

  close(): void {
    for (const r of this.readers) r.res.end();
    this.readers.clear();
  }
}

/** Epoch milliseconds with sub-millisecond resolution, from the monotonic clock. */
export function tapNow(): number {
  return performance.timeOrigin + performance.now();
}
