// What the robot sent, by transport-wide sequence number, so that the app's transport feedback (which names
// sequence numbers and arrival times only) can be turned into send/arrival pairs. Sequence numbers are 16 bits on
// the wire and unwrapped here; entries older than `keepMs` are forgotten. It also counts the bytes in flight: sent
// and not yet reported received or lost, which is what sits in the path's queues right now (feedback about
// arrivals lags by the very queue it would reveal).

export interface SentPacket {
  seq: number;
  size: number;
  sentAtMs: number;
  /** Set once feedback reported it lost: a later "received" is a retransmission, not a delay sample. */
  reportedLost: boolean;
  acked: boolean;
}

export class SendHistory {
  private readonly packets = new Map<number, SentPacket>();
  private lastSeq = -1;
  private outstanding = 0;

  constructor(private readonly keepMs = 5000) {}

  /** `wireSeq` is the 16-bit number the packet carried. */
  record(wireSeq: number, size: number, sentAtMs: number): void {
    const seq = this.unwrap(wireSeq);
    this.lastSeq = Math.max(this.lastSeq, seq);
    const old = this.packets.get(seq);
    if (old) this.settle(old);
    this.packets.set(seq, { seq, size, sentAtMs, reportedLost: false, acked: false });
    this.outstanding += size;
    // Map keeps insertion order, which is send order: prune from the front.
    for (const [k, p] of this.packets) {
      if (sentAtMs - p.sentAtMs <= this.keepMs) break;
      this.settle(p);
      this.packets.delete(k);
    }
  }

  /** Bytes sent and not yet reported received or lost (a packet whose feedback never came counts until pruned). */
  get inFlightBytes(): number {
    return this.outstanding;
  }

  markAcked(p: SentPacket): void {
    this.settle(p);
    p.acked = true;
  }

  markLost(p: SentPacket): void {
    this.settle(p);
    p.reportedLost = true;
  }

  private settle(p: SentPacket): void {
    if (!p.acked && !p.reportedLost) this.outstanding -= p.size;
  }

  get(wireSeq: number): SentPacket | undefined {
    return this.packets.get(this.unwrap(wireSeq));
  }

  get size(): number {
    return this.packets.size;
  }

  /** The unwrapped sequence number closest to the last one sent. */
  unwrap(wireSeq: number): number {
    if (this.lastSeq < 0) return wireSeq;
    const base = this.lastSeq - (this.lastSeq & 0xffff);
    let seq = base + (wireSeq & 0xffff);
    if (seq - this.lastSeq > 0x8000) seq -= 0x10000;
    else if (this.lastSeq - seq > 0x8000) seq += 0x10000;
    return seq;
  }
}
