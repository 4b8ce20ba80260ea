/**
 * Routed messages published to one instance's channel within one turn of the event loop go out as one PUBLISH
 * whose payload is a JSON array of them. Under load this turns hundreds of PUBLISH commands (and as many
 * 'message' events on the receiving instance) into a few, at the price of waiting for the current turn to end.
 * Order per channel is kept: one batch at a time per channel, in arrival order.
 */
export type Publish = (channel: string, payload: string) => Promise<number>;

/** One batch: its items, and the one promise every item of it is answered with. */
interface Pending {
  items: string[];
  /** The payload's UTF-8 size so far: what Redis and ioredis's buffers hold. */
  bytes: number;
  /** Its length in UTF-16 units, and whether any item is not ASCII (V8 then holds it at two bytes per unit). */
  units: number;
  wide: boolean;
  result: Promise<number>;
  resolve: (receivers: number) => void;
  reject: (err: unknown) => void;
}

/**
 * A batch goes out at the end of the turn, or before an item would take it past this size (a single larger item
 * goes alone). Kept under V8's large-object size (128 KiB): a larger payload, and its copies in ioredis and in the
 * receiving instance, are large objects, promoted to the old generation the first time a scavenge finds them
 * alive (a payload waiting for its PUBLISH often is). In the relay bench's flood, the old generation's large-object
 * space grew to 1.5-6.5 MB per instance with 256 KiB batches and stayed under 1 MB with these. Measured as the
 * larger of the payload's UTF-8 size and its size as a V8 string (see `cost`), so non-ASCII text is not undercounted.
 */
export const MAX_BATCH_BYTES = 64 * 1024;

export class PublishBatcher {
  private readonly pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(private readonly publish: Publish) {}

  /**
   * Queues one JSON-encoded item; resolves with the number of subscribers that received its batch. The items of a
   * batch share one promise (not one each): under load a batch holds hundreds of items, and a promise and two
   * closures per item were a good part of the sending instance's garbage.
   */
  add(channel: string, json: string): Promise<number> {
    let p = this.pending.get(channel);
    const bytes = Buffer.byteLength(json);
    const wide = bytes !== json.length;
    if (p && cost(p.bytes + bytes + 1, p.units + json.length + 1, p.wide || wide) > MAX_BATCH_BYTES) {
      this.send(channel, p);
      p = undefined;
    }
    if (!p) {
      p = newBatch();
      this.pending.set(channel, p);
    }
    p.items.push(json);
    // Each item brings a comma or the closing bracket.
    p.bytes += bytes + 1;
    p.units += json.length + 1;
    p.wide ||= wide;
    const result = p.result;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return result;
  }

  private flush(): void {
    this.scheduled = false;
    for (const [channel, p] of this.pending) this.send(channel, p);
  }

  private send(channel: string, p: Pending): void {
    this.pending.delete(channel);
    const payload = p.items.length === 1 ? p.items[0]! : `[${p.items.join(',')}]`;
    this.publish(channel, payload).then(p.resolve, p.reject);
  }
}

function newBatch(): Pending {
  let resolve!: (receivers: number) => void;
  let reject!: (err: unknown) => void;
  const result = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The opening bracket.
  return { items: [], bytes: 1, units: 1, wide: false, result, resolve, reject };
}

/**
 * A payload's largest copy: its UTF-8 bytes, or, once one item is not ASCII, the whole joined string at two bytes
 * per UTF-16 unit (V8 stores a string with any character past Latin-1 that way; a Latin-1-only one is counted high).
 */
function cost(bytes: number, units: number, wide: boolean): number {
  return wide ? Math.max(bytes, 2 * units) : bytes;
}

/** The receiving side: a payload is one item or an array of them (so instances with and without batching mix). */
export function unbatch<T>(payload: string): T[] {
  const parsed = JSON.parse(payload) as T | T[];
  return Array.isArray(parsed) ? parsed : [parsed];
}
