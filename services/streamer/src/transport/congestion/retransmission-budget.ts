// How fast a sender may retransmit: a token bucket filled at the bandwidth estimate, at most BURST_MS of it banked.
// Chromium's sender bounds retransmissions by its estimate too (over a one-second window); a bucket also spreads
// a burst of NACKs out instead of answering a second's worth at once.
//
// Why: when a bandwidth drop overflows the bottleneck's queue, the app NACKs what the queue dropped, again every
// round trip it measures, and answering everything at once sends more into the queue that is already full. In the
// network lab (3 Mbit/s stream, 1 Mbit/s cap, 400 ms queue) 60 kB of retransmissions left within 220 ms while the
// target was 517 kbit/s, the queue overflowed a second time and the picture froze for 1.35 s. Pure: time and rate
// come in as arguments.

/** A lost burst this long at the estimated rate can be repaired at once (a 200 ms radio fade). */
export const BURST_MS = 250;

export class RetransmissionBudget {
  private tokens: number | null = null;
  private lastMs = 0;

  /** Takes `bytes` and returns true when the bucket holds them at `nowMs` with the estimate at `rateKbps`. */
  take(bytes: number, nowMs: number, rateKbps: number): boolean {
    const depth = (rateKbps * BURST_MS) / 8;
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.tokens = Math.min(depth, this.tokens === null ? depth : this.tokens + (rateKbps * elapsed) / 8);
    if (bytes > this.tokens) return false;
    this.tokens -= bytes;
    return true;
  }
}
