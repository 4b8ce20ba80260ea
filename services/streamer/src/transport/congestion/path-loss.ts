// Tells congestive loss from the path's own loss. A radio link (Wi-Fi, LTE at a cell edge) loses packets whatever
// the rate; cutting the rate for that loss only ratchets the picture down to the floor (the lab's 10 % random loss
// did exactly that with GCC's plain loss rule). Congestive loss falls when the rate is cut. So every loss cut is
// checked once the loss window has refilled at the new rate: if the loss stayed (at least 3/4 of what triggered the
// cut), it is the path's, and the loss thresholds move up by it; the delay detector still catches a real queue.
// The path's loss is forgotten slowly (2 points a second) whenever less is measured, so a link that got better is
// treated as clean again within seconds.

const CHECK_AFTER_MS = 1500;
const STAYED = 0.75;
const MAX_PATH_LOSS = 0.3;
const FORGET_PER_S = 0.02;

export class PathLoss {
  private level = 0;
  private check: { atMs: number; loss: number } | null = null;

  /** Loss the path shows whatever the rate: add it to the loss thresholds. */
  get fraction(): number {
    return this.level;
  }

  /** A loss cut is waiting to show its effect: no further loss cut until it has (the delay detector still may). */
  get checking(): boolean {
    return this.check !== null;
  }

  /** The rate was just cut because of this much loss. */
  onLossCut(loss: number, nowMs: number): void {
    this.check = { atMs: nowMs, loss };
  }

  /** The loss over the recent window, once per feedback. */
  observe(loss: number, nowMs: number, dtS: number): void {
    if (this.check && nowMs - this.check.atMs >= CHECK_AFTER_MS) {
      if (loss >= STAYED * this.check.loss) this.level = Math.min(MAX_PATH_LOSS, Math.max(this.level, loss));
      this.check = null;
    }
    if (loss < this.level) this.level = Math.max(loss, this.level - FORGET_PER_S * dtS);
  }
}
