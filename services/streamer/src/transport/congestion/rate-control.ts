// Turns the delay detector's signal, the acknowledged throughput and the reported loss into a target send rate
// (additive-increase / multiplicative-decrease, after GCC's rate controller, tuned for an operator's picture):
//  - overuse: cut to 85 % of what actually got through (the acknowledged rate), at most once per CUT_GAP_MS, and
//    remember that rate as the link's capacity. When a queue already stands on the path, cut deeper (down to half)
//    so it drains within about a second instead of several: frames queued behind it are late frames on screen;
//  - underuse: hold (the queue is draining; sending more would refill it);
//  - normal: grow. Near the remembered capacity, additively (10 % of the rate per second); well under it (after a
//    deep cut) or well above it (the capacity is stale: the link got better) multiplicatively (35 % per second), so
//    a stream that was cut by a bandwidth drop is back within seconds of the link recovering, not tens of seconds;
//  - loss above 10 % cuts by half the loss fraction; 2-10 % holds. Loss that did not fall when the rate was cut is
//    the path's own (PathLoss): cuts then go to a floor (35 % of where the episode started) and stop there, so a
//    lossy radio link gets a moderate rate instead of being ratcheted down to the minimum;
//  - the target never runs far ahead of what the encoder actually produces (1.5 x acknowledged + 100 kbit/s), so a
//    quiet scene does not bank a rate the path was never shown to carry.

import { LOSS_HIGH, LOSS_LOW, clampKbps, type BitrateBounds } from '../../media/bitrate-controller.js';
import { PathLoss } from './path-loss.js';

export type RateBounds = BitrateBounds;

const DECREASE_FACTOR = 0.85;
const CUT_GAP_MS = 300;
/** A standing queue of this much delay halves the post-cut rate (it drains in about this long). */
const DRAIN_HORIZON_MS = 1000;
const ADDITIVE_PER_S = 0.1;
const MULTIPLICATIVE_PER_S = 1.35;
const CAPACITY_MARGIN = 1.15;
const FAR_UNDER = 0.7;
const RECUT_BELOW = 0.7;
const HEADROOM = 1.5;
const HEADROOM_KBPS = 100;

export type RateState = 'increase' | 'hold';

export class RateControl {
  private target: number;
  private state: RateState = 'increase';
  private lastUpdateMs: number | null = null;
  private lastCutMs = -Infinity;
  private capacityKbps: number | null = null;
  private readonly pathLoss = new PathLoss();

  constructor(
    private readonly bounds: RateBounds,
    startKbps: number,
  ) {
    this.target = clamp(startKbps, bounds);
  }

  get targetKbps(): number {
    return this.target;
  }

  /** The lowest target allowed. */
  get minKbps(): number {
    return this.bounds.minKbps;
  }

  get linkCapacityKbps(): number | null {
    return this.capacityKbps;
  }

  /** The capacity learned from cuts was wrong (they answered a longer path, not a queue): probe upwards fast. */
  forgetCapacity(): void {
    this.capacityKbps = null;
  }

  /** When the rate was last cut (delay or loss), on the caller's clock; -Infinity before the first cut. */
  get lastCutAtMs(): number {
    return this.lastCutMs;
  }

  /**
   * One update per feedback. `ackedKbps` is null until enough has been acknowledged to measure it;
   * `lossFraction` is over the recent window.
   */
  update(
    signal: 'overuse' | 'normal' | 'underuse',
    ackedKbps: number | null,
    lossFraction: number,
    nowMs: number,
    queueDelayMs = 0,
  ): number {
    const dtS = this.lastUpdateMs === null ? 0 : Math.min(nowMs - this.lastUpdateMs, 1000) / 1000;
    this.lastUpdateMs = nowMs;
    const mayCut = nowMs - this.lastCutMs >= CUT_GAP_MS;

    if (signal === 'overuse') {
      const through = ackedKbps ?? this.target;
      const drain = Math.min(1, Math.max(0.5, 1 - queueDelayMs / DRAIN_HORIZON_MS));
      const cut = DECREASE_FACTOR * drain * through;
      // A second cut soon after the first only when the path turned out much narrower than the first one assumed.
      if (mayCut || cut < RECUT_BELOW * this.target) {
        this.target = Math.min(this.target, cut);
        this.capacityKbps = this.capacityKbps === null ? through : 0.5 * this.capacityKbps + 0.5 * through;
        this.lastCutMs = nowMs;
      }
      this.state = 'hold';
    } else if (signal === 'underuse') {
      this.state = 'hold';
    } else {
      this.state = 'increase';
    }

    this.pathLoss.observe(lossFraction, nowMs);
    if (lossFraction > LOSS_HIGH) {
      if (mayCut && signal !== 'overuse' && !this.pathLoss.checking) {
        const before = this.target;
        // On a path that loses whatever the rate, straight to the floor and no further (see PathLoss).
        if (this.pathLoss.pathIsLossy) this.target = Math.min(this.target, this.pathLoss.floorKbps);
        else this.target *= 1 - 0.5 * lossFraction;
        if (this.target < before) {
          this.lastCutMs = nowMs;
          this.pathLoss.onLossCut(lossFraction, before, nowMs);
        }
      }
    } else if (this.state === 'increase' && lossFraction < LOSS_LOW && dtS > 0) {
      this.grow(dtS);
      if (ackedKbps !== null) this.target = Math.min(this.target, HEADROOM * ackedKbps + HEADROOM_KBPS);
    }
    this.target = clamp(this.target, this.bounds);
    return this.target;
  }

  private grow(dtS: number): void {
    const cap = this.capacityKbps;
    if (cap !== null && this.target > cap * CAPACITY_MARGIN) this.capacityKbps = null; // the link got better
    // Far under the capacity (after a deep cut that drained a queue) the link carried more a moment ago: climb
    // back fast, and slow down near it.
    if (this.capacityKbps !== null && this.target > this.capacityKbps * FAR_UNDER)
      this.target += this.target * ADDITIVE_PER_S * dtS;
    else this.target *= MULTIPLICATIVE_PER_S ** dtS;
  }
}

const clamp = clampKbps;
