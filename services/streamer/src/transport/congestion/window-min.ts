// The lowest value seen within a sliding time window, in O(1) amortized per sample: a monotonic deque whose front
// is the window's minimum (later, lower samples make earlier, higher ones irrelevant). The estimator keeps three:
// the path's base one-way delay, what is always in flight, and the lowest recent delivery rate.

export class WindowMin {
  private readonly samples: { at: number; v: number }[] = [];

  constructor(private readonly windowMs: number) {}

  /** Forgets samples older than the window before `nowMs`. */
  expire(nowMs: number): void {
    while (this.samples.length > 0 && this.samples[0]!.at < nowMs - this.windowMs) this.samples.shift();
  }

  /** Adds a sample at `atMs` (after expiring the old ones); returns the window's minimum. */
  push(atMs: number, value: number): number {
    this.expire(atMs);
    while (this.samples.length > 0 && this.samples[this.samples.length - 1]!.v >= value) this.samples.pop();
    this.samples.push({ at: atMs, v: value });
    return this.samples[0]!.v;
  }

  /** The window's minimum, or null when empty. */
  get min(): number | null {
    return this.samples[0]?.v ?? null;
  }

  /** Every sample moves by `delta` (the order, hence the deque, stays as it is). */
  shift(delta: number): void {
    for (const s of this.samples) s.v += delta;
  }

  clear(): void {
    this.samples.length = 0;
  }
}
