// Tells congestive loss from the path's own loss. A radio link (Wi-Fi, LTE at a cell edge) loses packets whatever
// the rate. GCC's plain loss rule (cut by half the loss while it is over 10 %) then ratchets the picture down to the
// floor, cut after cut (the lab's 10 % random loss did exactly that). Not cutting at all costs too: the more
// packets per frame, the more frames wait for a retransmission. With the app asking again once per measured round
// trip (see ../werift/receiver-rtt.ts) such a wait is short, so the rate only needs to come down part of the way:
// in the lab at 10 % loss, 60 % of the clean rate froze 0.8 s in 60 s against 3.4 s at 35 %.
//
// Congestive loss falls when the rate is cut; the path's own does not. So every loss cut is checked once the loss
// window has refilled at the new rate (CHECK_AFTER_MS): if the loss stayed (at least 3/4 of what triggered the
// cut), the path is lossy, and loss cuts go straight to, and stop at, FLOOR_RATIO of the rate the loss episode
// started at. The episode ends after CLEAN_FOR_MS under LOSS_LOW.
import { LOSS_LOW } from '../../media/bitrate-controller.js';

const CHECK_AFTER_MS = 1500;
const STAYED = 0.75;
const FLOOR_RATIO = 0.6;
const CLEAN_FOR_MS = 5000;

export class PathLoss {
  private check: { atMs: number; loss: number } | null = null;
  private episodeStartKbps: number | null = null;
  private lossy = false;
  private cleanSinceMs: number | null = null;

  /** A loss cut is waiting to show its effect: no further loss cut until it has (the delay detector still may). */
  get checking(): boolean {
    return this.check !== null;
  }

  /** The loss has proved to be the path's own: cuts stop at `floorKbps`. */
  get pathIsLossy(): boolean {
    return this.lossy;
  }

  /** What a loss cut on a lossy path goes to (0 while the loss may still be congestive). */
  get floorKbps(): number {
    return this.lossy && this.episodeStartKbps !== null ? FLOOR_RATIO * this.episodeStartKbps : 0;
  }

  /** The rate was just cut from `fromKbps` because of this much loss. */
  onLossCut(loss: number, fromKbps: number, nowMs: number): void {
    this.check = { atMs: nowMs, loss };
    this.episodeStartKbps ??= fromKbps;
  }

  /** The loss over the recent window, once per feedback. */
  observe(loss: number, nowMs: number): void {
    if (this.check && nowMs - this.check.atMs >= CHECK_AFTER_MS) {
      this.lossy = loss >= STAYED * this.check.loss;
      this.check = null;
    }
    if (loss >= LOSS_LOW) {
      this.cleanSinceMs = null;
      return;
    }
    this.cleanSinceMs ??= nowMs;
    if (nowMs - this.cleanSinceMs >= CLEAN_FOR_MS && this.check === null) {
      this.episodeStartKbps = null;
      this.lossy = false;
    }
  }
}
