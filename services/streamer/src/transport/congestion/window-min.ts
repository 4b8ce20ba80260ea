// The lowest value seen within a sliding time window, in O(1) amortized per sample: a monotonic deque whose front
// is the window's minimum (later, lower samples make earlier, higher ones irrelevant). The estimator keeps three:
// the path's base one-way delay, what is always in flight, and the lowest recent delivery rate. It is fed per
// acknowledged packet, so the deque is two arrays of numbers rather than an object per sample.

export class WindowMin {
  private readonly at: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly windowMs: number) {}

  /** Forgets samples older than the window before `nowMs`. */
  expire(nowMs: number): void {
    while (this.at.length > 0 && this.at[0]! < nowMs - this.windowMs) {
      this.at.shift();
      this.values.shift();
    }
  }

  /** Adds a sample at `atMs` (after expiring the old ones); returns the window's minimum. */
  push(atMs: number, value: number): number {
    this.expire(atMs);
    while (this.values.length > 0 && this.values[this.values.length - 1]! >= value) {
      this.at.pop();
      this.values.pop();
    }
    this.at.push(atMs);
    this.values.push(value);
    return this.values[0]!;
  }

  /** The window's minimum, or null when empty. */
  get min(): number | null {
    return this.values[0] ?? null;
  }

  /** Every sample moves by `delta` (the order, hence the deque, stays as it is). */
  shift(delta: number): void {
    for (let i = 0; i < this.values.length; i++) this.values[i]! += delta;
  }

  clear(): void {
    this.at.length = 0;
    this.values.length = 0;
  }
}
