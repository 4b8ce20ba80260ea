// What the robot sent, by transport-wide sequence number, so that the app's transport feedback (which names
// sequence numbers and arrival times only) can be turned into send/arrival pairs. Sequence numbers are 16 bits on
// the wire and unwrapped here; entries older than `keepMs` are forgotten. It also counts the bytes in flight: sent
// and not yet reported received or lost (nor covered by a later feedback), which is what sits in the path's queues
// right now (feedback about arrivals lags by the very queue it would reveal).

export interface SentPacket {
  seq: number;
  size: number;
  sentAtMs: number;
  /** Set once feedback reported it lost: a later "received" is a retransmission, not a delay sample. */
  reportedLost: boolean;
  acked: boolean;
  /** No longer counted in flight: reported (received or lost), or its report was lost, or forgotten. */
  settled: boolean;
}

export class SendHistory {
  private readonly packets = new Map<number, SentPacket>();
  private lastSeq = -1;
  private outstanding = 0;
  /** Every packet before this unwrapped number has been settled by settleBefore. */
  private settledUpTo = -Infinity;

  constructor(private readonly keepMs = 5000) {}

  /** `wireSeq` is the 16-bit number the packet carried. */
  record(wireSeq: number, size: number, sentAtMs: number): void {
    const seq = this.unwrap(wireSeq);
    this.lastSeq = Math.max(this.lastSeq, seq);
    const old = this.packets.get(seq);
    if (old) this.settle(old);
    this.packets.set(seq, { seq, size, sentAtMs, reportedLost: false, acked: false, settled: false });
    this.outstanding += size;
    // Map keeps insertion order, which is send order: prune from the front.
    for (const [k, p] of this.packets) {
      if (sentAtMs - p.sentAtMs <= this.keepMs) break;
      this.settle(p);
      this.packets.delete(k);
    }
  }

  /** Bytes sent and not yet reported received or lost, nor passed by a later feedback (see settleBefore). */
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

  /**
   * A transport feedback starts at `wireSeq`: the app has reported everything before it, so packets before it
   * that were never reported were in a feedback that was lost. They stop counting as in flight (at 10 % loss,
   * feedback is lost too, and those bytes piled up to 180 kB of phantom queue within seconds).
   */
  settleBefore(wireSeq: number): void {
    const upTo = this.unwrap(wireSeq);
    const from = Math.max(this.settledUpTo, upTo - this.packets.size);
    for (let seq = from; seq < upTo; seq++) {
      const p = this.packets.get(seq);
      if (p) this.settle(p);
    }
    this.settledUpTo = Math.max(this.settledUpTo, upTo);
  }

  private settle(p: SentPacket): void {
    if (p.settled) return;
    p.settled = true;
    this.outstanding -= p.size;
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
