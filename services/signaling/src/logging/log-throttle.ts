/**
 * At most one log line per key and interval. Lines a client can cause at will (protocol violations) must not let
 * it fill the disk: the first line of each interval is written with the number dropped before it.
 */
export class LogThrottle {
  private readonly keys = new Map<string, { until: number; dropped: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The number of lines dropped since the last one written for this key, or undefined to drop this one too. */
  admit(key: string): number | undefined {
    const t = this.now();
    const k = this.keys.get(key);
    if (k && t < k.until) {
      k.dropped++;
      return undefined;
    }
    // Keys are error codes, a small set; the bound only guards against a caller passing something unbounded.
    if (!k && this.keys.size >= 256) this.keys.clear();
    this.keys.set(key, { until: t + this.intervalMs, dropped: 0 });
    return k?.dropped ?? 0;
  }
}
