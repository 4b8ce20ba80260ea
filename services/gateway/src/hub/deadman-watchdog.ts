/**
 * Trips when the operator (the lock holder) has been silent for longer than the window, or its link vanished,
 * so that services can stop the robot. Clears when an operator is heard from again. No lock: nothing to watch.
 * One timer per window, re-armed lazily, rather than a timer reset per message (operators send at high rates).
 */
import type { DeadmanStatus, LockHolder } from '@robostream/protocol/gateway';

export interface DeadmanChange {
  status: DeadmanStatus;
  holder: LockHolder | null;
  silentMs: number;
}

export class DeadmanWatchdog {
  private holder: LockHolder | null = null;
  private lastHeard = 0;
  private timer: NodeJS.Timeout | null = null;
  private tripped = false;

  constructor(
    private readonly windowMs: number,
    private readonly onChange: (change: DeadmanChange) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get status(): DeadmanStatus {
    return this.tripped ? 'tripped' : 'ok';
  }

  /** A new operator holds the lock (take or takeover); taking it counts as being heard from. */
  watch(holder: LockHolder): void {
    this.holder = holder;
    this.heard();
  }

  /** Any frame from the operator. Hot path: a comparison and an assignment. */
  heard(): void {
    this.lastHeard = this.now();
    if (this.tripped) {
      this.tripped = false;
      this.onChange({ status: 'ok', holder: this.holder, silentMs: 0 });
    }
    if (!this.timer) this.arm(this.windowMs);
  }

  /** The operator released the lock on purpose: nothing to watch, and no reason to stop. */
  released(): void {
    this.holder = null;
    this.disarm();
    if (this.tripped) {
      this.tripped = false;
      this.onChange({ status: 'ok', holder: null, silentMs: 0 });
    }
  }

  /** The operator's link is gone without a release: stop now rather than after the window. */
  holderLost(): void {
    const silentMs = Math.round(this.now() - this.lastHeard);
    const holder = this.holder;
    this.holder = null;
    this.disarm();
    if (!this.tripped) {
      this.tripped = true;
      this.onChange({ status: 'tripped', holder, silentMs });
    }
  }

  stop(): void {
    this.disarm();
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private check(): void {
    this.timer = null;
    if (!this.holder) return;
    const silent = this.now() - this.lastHeard;
    if (silent < this.windowMs) {
      this.arm(this.windowMs - silent);
      return;
    }
    if (!this.tripped) {
      this.tripped = true;
      this.onChange({ status: 'tripped', holder: this.holder, silentMs: Math.round(silent) });
    }
    // Stay unarmed until the operator is heard from again (heard() re-arms).
  }
}
