/**
 * Joining chunk frames back into the frame they were cut from, with every bound a receiver facing a hostile or
 * broken peer needs:
 * - the declared total is checked at the first chunk (admit: the service's cap, who may send), so a refused
 *   message costs the receiver nothing more than one chunk;
 * - at most `maxPartials` messages in transfer per peer, and optionally a byte budget shared by many peers;
 * - chunks must come in order (they travel on reliable ordered paths): a gap, a repeat, a change of count,
 *   total or service, more bytes than declared, fewer at the last chunk: `bad_message`, the partial dropped;
 * - a message with no chunk for `idleTimeoutMs` is dropped and reported (`incomplete_message`).
 * The chunks of a refused or dropped message that still arrive are ignored (one error per message, not per
 * chunk). Nothing here throws on peer input.
 */
import type { ChunkFrame } from './chunk-frame.js';
import type { GatewayErrorCode } from './errors.js';
import { utf8Length } from './chunk-writer.js';

export type ChunkResult =
  /** Taken; more to come. */
  | { kind: 'partial' }
  /** The last chunk: `frame` is the whole message's text. */
  | { kind: 'complete'; id: string; frame: string; service?: string }
  /** Refused (this chunk and the rest of its message): tell the sender, ref = id. */
  | { kind: 'refused'; id: string; code: GatewayErrorCode; message: string; service?: string }
  /** A later chunk of a message refused or dropped before: nothing to say again. */
  | { kind: 'ignored' };

export type Admission =
  { ok: true; maxBytes: number } | { ok: false; code: GatewayErrorCode; message: string };

/** Bytes reserved by all reassemblers sharing it (e.g. one gateway's every link and service). */
export class ReassemblyBudget {
  private used = 0;
  constructor(readonly limitBytes: number) {}
  get usedBytes(): number {
    return this.used;
  }
  reserve(n: number): boolean {
    if (this.used + n > this.limitBytes) return false;
    this.used += n;
    return true;
  }
  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

export interface ReassemblerOptions {
  /** Messages in transfer at once from this peer. */
  maxPartials: number;
  /** A message with no new chunk for this long is dropped (an idle bound: a slow link may take longer overall). */
  idleTimeoutMs: number;
  /** Decides at a message's first chunk whether it may come, and how big it may be. */
  admit: (first: ChunkFrame) => Admission;
  /** A partial message was dropped for its idle timeout. */
  onExpired?: (id: string, service: string | undefined) => void;
  budget?: ReassemblyBudget;
  now?: () => number;
}

interface Partial {
  parts: string[];
  bytes: number;
  count: number;
  total: number;
  service: string | undefined;
  lastAt: number;
}

/** Ids whose late chunks are ignored; bounded, the oldest forgotten first. */
const REMEMBERED_REFUSALS = 64;

export class Reassembler {
  private readonly partials = new Map<string, Partial>();
  private readonly refused = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ReassemblerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Messages in transfer now. */
  get inTransfer(): number {
    return this.partials.size;
  }

  /** Bytes held in partial messages now. */
  get heldBytes(): number {
    let n = 0;
    for (const p of this.partials.values()) n += p.bytes;
    return n;
  }

  accept(c: ChunkFrame): ChunkResult {
    const p = this.partials.get(c.id);
    if (!p) return c.index === 0 ? this.begin(c) : this.refuseUnknown(c);
    const bytes = utf8Length(c.data);
    const problem =
      c.index !== p.parts.length
        ? `chunk ${c.index} of message ${c.id} out of order (expected ${p.parts.length})`
        : c.count !== p.count || c.total !== p.total || c.service !== p.service
          ? `chunk ${c.index} of message ${c.id} changes its count, total or service`
          : p.bytes + bytes > p.total
            ? `message ${c.id} is longer than its declared ${p.total} bytes`
            : c.index === p.count - 1 && p.bytes + bytes !== p.total
              ? `message ${c.id} ended at ${p.bytes + bytes} of its declared ${p.total} bytes`
              : null;
    if (problem) {
      this.drop(c.id, p);
      return this.refuse(c.id, 'bad_message', problem, p.service);
    }
    p.parts.push(c.data);
    p.bytes += bytes;
    p.lastAt = this.now();
    if (p.parts.length < p.count) return { kind: 'partial' };
    this.drop(c.id, p);
    return { kind: 'complete', id: c.id, frame: p.parts.join(''), ...svc(p.service) };
  }

  /** Drops every partial message whose last chunk is older than the idle timeout; the timer calls it. */
  sweep(): void {
    const limit = this.now() - this.o.idleTimeoutMs;
    for (const [id, p] of this.partials) {
      if (p.lastAt > limit) continue;
      this.drop(id, p);
      this.remember(id);
      this.o.onExpired?.(id, p.service);
    }
  }

  /** Forgets everything (the peer is gone): releases the budget and stops the timer. */
  clear(): void {
    for (const [id, p] of this.partials) this.drop(id, p);
    this.refused.clear();
  }

  private begin(c: ChunkFrame): ChunkResult {
    this.refused.delete(c.id); // an id may be reused once its earlier message is over
    if (c.index >= c.count || c.count > c.total)
      return this.refuse(
        c.id,
        'bad_message',
        `chunk ${c.index} of ${c.count} for ${c.total} bytes`,
        c.service,
      );
    if (this.partials.size >= this.o.maxPartials) {
      const message = `${this.o.maxPartials} chunked messages are in transfer already; send one after another`;
      return this.refuse(c.id, 'queue_full', message, c.service);
    }
    const a = this.o.admit(c);
    if (!a.ok) return this.refuse(c.id, a.code, a.message, c.service);
    if (c.total > a.maxBytes) {
      const message = `message of ${c.total} bytes; ${c.service ?? 'this service'} accepts at most ${a.maxBytes}`;
      return this.refuse(c.id, 'message_too_large', message, c.service);
    }
    if (this.o.budget && !this.o.budget.reserve(c.total)) {
      const message = 'the receiver is reassembling too many bytes at once; retry later';
      return this.refuse(c.id, 'queue_full', message, c.service);
    }
    const p: Partial = { parts: [], bytes: 0, count: c.count, total: c.total, service: c.service, lastAt: 0 };
    this.partials.set(c.id, p);
    this.armTimer();
    return this.accept(c);
  }

  private refuseUnknown(c: ChunkFrame): ChunkResult {
    if (this.refused.has(c.id)) return { kind: 'ignored' };
    return this.refuse(
      c.id,
      'bad_message',
      `chunk ${c.index} of message ${c.id}, whose chunk 0 never came`,
      c.service,
    );
  }

  private refuse(id: string, code: GatewayErrorCode, message: string, service?: string): ChunkResult {
    this.remember(id);
    return { kind: 'refused', id, code, message, ...svc(service) };
  }

  private remember(id: string): void {
    this.refused.add(id);
    if (this.refused.size > REMEMBERED_REFUSALS) {
      const oldest = this.refused.values().next().value;
      if (oldest !== undefined) this.refused.delete(oldest);
    }
  }

  private drop(id: string, p: Partial): void {
    if (this.partials.get(id) !== p) return;
    this.partials.delete(id);
    this.o.budget?.release(p.total);
    if (this.partials.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private armTimer(): void {
    if (this.timer !== undefined) return;
    const every = Math.max(10, Math.min(1_000, Math.floor(this.o.idleTimeoutMs / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    // In Node, a transfer in progress must not keep a finished program alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}

const svc = (service: string | undefined) => (service === undefined ? {} : { service });
