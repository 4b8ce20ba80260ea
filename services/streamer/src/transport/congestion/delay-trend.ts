// Delay-based congestion detection from send/arrival pairs, after the trendline detector of Google Congestion
// Control (draft-ietf-rmcat-gcc; the design Chromium's send-side estimator uses). A queue building up at the
// bottleneck shows as arrival gaps that grow faster than send gaps, long before the queue overflows and drops
// packets. So:
//  - packets sent within BURST_MS of each other form one group (a video frame leaves as one burst);
//  - each pair of consecutive groups gives a delay variation: arrival gap minus send gap;
//  - the accumulated, smoothed variation is regressed over arrival time across the last WINDOW groups; the slope
//    is how fast the queue grows (ms of delay per ms);
//  - the slope, scaled by the number of samples, is compared with a threshold that adapts to the path's own noise
//    (jitter from Wi-Fi or a cellular scheduler must not read as congestion).
// Clock offset between robot and app cancels: only differences of differences are used.

import { WindowMin } from './window-min.js';

export type DelaySignal = 'overuse' | 'normal' | 'underuse';

const BURST_MS = 5;
const WINDOW = 20;
const SMOOTHING = 0.9;
const TREND_GAIN = 4;
const MAX_DELTAS = 60;
const OVERUSE_TIME_MS = 10;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const THRESHOLD_MIN = 6;
const THRESHOLD_MAX = 600;
/** Queueing delay over the path's recent minimum that is congestion whatever the trend says (a standing queue). */
export const STANDING_QUEUE_MS = 250;
const BASE_DELAY_WINDOW_MS = 10_000;
const LEVEL_MS = 40;
const LEVEL_FOR_MS = 1000;
/**
 * A path step: one packet's one-way delay this much above the previous one's, sent at most STEP_SEND_GAP_MS
 * before it (the same frame or the one before at 30 fps). Our own queue cannot do that: behind the packet before
 * it, it adds at most this packet's serialization (10 ms for 1,240 bytes at 1 Mbit/s), which the caller's figure
 * covers, and less the longer the gap. A longer route, a hand-over or a radio stall can. Also above
 * STEP_JITTER_MARGIN times the path's packet-to-packet jitter.
 */
const STEP_MIN_MS = 45;
const STEP_SEND_GAP_MS = 40;
const STEP_JITTER_MARGIN = 4;
const STEP_JITTER_GAIN = 0.02;

interface Group {
  firstSendMs: number;
  lastSendMs: number;
  lastArrivalMs: number;
}

export class DelayTrend {
  private group: Group | null = null;
  private prev: Group | null = null;
  private accumulated = 0;
  private smoothed = 0;
  private readonly points: { x: number; y: number }[] = [];
  private firstArrivalMs: number | null = null;
  private deltas = 0;
  private threshold = 12.5;
  private lastThresholdUpdateMs: number | null = null;
  private overuseSinceMs: number | null = null;
  private overuseCount = 0;
  private prevTrend = 0;
  private state: DelaySignal = 'normal';
  /** The lowest one-way delay (arrival - send, offset unknown) of the last 10 s: the path without a queue. */
  private readonly baseDelay = new WindowMin(BASE_DELAY_WINDOW_MS);
  private lastQueueMs = 0;
  /** Since when the delay has stayed level above the standing-queue line (see rebaseOnLevelDelay). */
  private level: { since: number; d: number } | null = null;
  private rebaseCount = 0;
  /** The last packet fed (send time, one-way delay), for the path-step check; NaN before the first. */
  private lastSendMs = NaN;
  private lastDelayMs = NaN;
  /** Running mean of |delay difference| between packets sent together: the path's own packet jitter. */
  private packetJitterMs = 0;
  /** Path steps not yet taken out of the trend (see onGroupDelta). */
  private pendingStepMs = 0;
  private stepCount = 0;

  /** How often the path got longer at once (each one moved the base delay; see pathStep). */
  get steps(): number {
    return this.stepCount;
  }

  /** How often a level delay became the new base (each one means the cuts before it were for nothing). */
  get rebases(): number {
    return this.rebaseCount;
  }

  get signal(): DelaySignal {
    return this.state;
  }

  /** Delay above the lowest seen in the last 10 s: roughly what is queued on the path now. */
  get queueDelayMs(): number {
    return this.lastQueueMs;
  }

  get modifiedTrend(): number {
    return this.prevTrend;
  }

  /**
   * Feeds one acknowledged packet, in sequence order. `queueableMs` is the most delay one packet can add behind
   * the one before it in a queue: its size at the lowest rate the bottleneck has been seen to deliver. Returns
   * the signal after it.
   */
  packet(sendMs: number, arrivalMs: number, queueableMs = 0): DelaySignal {
    this.pathStep(sendMs, arrivalMs - sendMs, queueableMs);
    this.trackBaseDelay(sendMs, arrivalMs);
    const g = this.group;
    if (g === null) {
      this.group = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs };
      return this.state;
    }
    if (sendMs < g.firstSendMs) return this.state; // reordered from an earlier group: ignore
    if (sendMs - g.firstSendMs <= BURST_MS) {
      g.lastSendMs = Math.max(g.lastSendMs, sendMs);
      g.lastArrivalMs = Math.max(g.lastArrivalMs, arrivalMs);
      return this.state;
    }
    // g is complete.
    if (this.prev) this.onGroupDelta(this.prev, g);
    this.prev = g;
    this.group = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs };
    return this.state;
  }

  // A path that got longer at once is a new base delay, not a queue: without this, the 80 ms a cellular hand-over
  // adds read as a queue for the 10 s the old minimum stays in the window, and the arrivals' pause as a bottleneck
  // of a few hundred kbit/s (the lab's cellular scenario: 3,900 -> 344 kbit/s in one feedback). A stall that then
  // drains in a burst undoes itself: the burst's lower delays become the minimum again.
  private pathStep(sendMs: number, d: number, queueableMs: number): void {
    const gap = sendMs - this.lastSendMs;
    const jump = d - this.lastDelayMs;
    this.lastSendMs = sendMs;
    this.lastDelayMs = d;
    // NaN (the first packet) fails both tests.
    if (!(gap >= 0 && gap <= STEP_SEND_GAP_MS)) return;
    const threshold = Math.max(STEP_MIN_MS, STEP_JITTER_MARGIN * this.packetJitterMs, 2 * queueableMs);
    if (jump > threshold) {
      this.baseDelay.shift(jump);
      this.pendingStepMs += jump;
      this.stepCount++;
      return;
    }
    this.packetJitterMs += STEP_JITTER_GAIN * (Math.abs(jump) - this.packetJitterMs);
  }

  private trackBaseDelay(sendMs: number, arrivalMs: number): void {
    const d = arrivalMs - sendMs;
    this.lastQueueMs = d - this.baseDelay.push(arrivalMs, d);
    this.rebaseOnLevelDelay(arrivalMs, d);
  }

  // A queue the rate cuts do not drain is not a queue: the path itself got longer (a hand-over to a satellite or
  // cellular link, a route change). Cut after cut for the 10 s the old minimum stays in the window would take the
  // rate to the floor. A real standing queue drains within about a second of the first deep cut; a delay that stays
  // level (within LEVEL_MS) above STANDING_QUEUE_MS for LEVEL_FOR_MS (1 s) becomes the new base.
  private rebaseOnLevelDelay(arrivalMs: number, d: number): void {
    if (this.lastQueueMs < STANDING_QUEUE_MS) {
      this.level = null;
      return;
    }
    if (this.level === null || Math.abs(d - this.level.d) > LEVEL_MS) {
      this.level = { since: arrivalMs, d };
      return;
    }
    if (arrivalMs - this.level.since < LEVEL_FOR_MS) return;
    this.baseDelay.clear();
    this.baseDelay.push(arrivalMs, d);
    this.lastQueueMs = 0;
    this.level = null;
    this.rebaseCount++;
  }

  private onGroupDelta(a: Group, b: Group): void {
    const sendDelta = b.lastSendMs - a.lastSendMs;
    const arrivalDelta = b.lastArrivalMs - a.lastArrivalMs;
    // A path step inside these two groups is not a queue growing.
    const variation = arrivalDelta - sendDelta - this.pendingStepMs;
    this.pendingStepMs = 0;
    this.deltas = Math.min(this.deltas + 1, MAX_DELTAS);
    this.accumulated += variation;
    this.smoothed = SMOOTHING * this.smoothed + (1 - SMOOTHING) * this.accumulated;
    this.firstArrivalMs ??= b.lastArrivalMs;
    this.points.push({ x: b.lastArrivalMs - this.firstArrivalMs, y: this.smoothed });
    if (this.points.length > WINDOW) this.points.shift();
    if (this.points.length < WINDOW) return;
    const trend = slope(this.points);
    this.detect(trend, sendDelta, b.lastArrivalMs);
  }

  private detect(trend: number, sendDeltaMs: number, nowMs: number): void {
    const m = Math.min(this.deltas, MAX_DELTAS) * trend * TREND_GAIN;
    if (m > this.threshold) {
      this.overuseSinceMs ??= nowMs - sendDeltaMs / 2;
      this.overuseCount++;
      if (nowMs - this.overuseSinceMs > OVERUSE_TIME_MS && this.overuseCount > 1 && m >= this.prevTrend) {
        this.overuseSinceMs = null;
        this.overuseCount = 0;
        this.state = 'overuse';
      }
    } else if (m < -this.threshold) {
      this.overuseSinceMs = null;
      this.overuseCount = 0;
      this.state = 'underuse';
    } else {
      this.overuseSinceMs = null;
      this.overuseCount = 0;
      this.state = 'normal';
    }
    if (this.lastQueueMs > STANDING_QUEUE_MS && m >= 0) this.state = 'overuse';
    this.prevTrend = m;
    this.adaptThreshold(m, nowMs);
  }

  // The threshold follows |m| up slowly and down faster, so a noisy path raises it and a quiet one lowers it;
  // a sudden spike far above it (a real queue) does not drag it along.
  private adaptThreshold(m: number, nowMs: number): void {
    const last = this.lastThresholdUpdateMs ?? nowMs;
    this.lastThresholdUpdateMs = nowMs;
    const abs = Math.abs(m);
    if (abs > this.threshold + 15) return;
    const k = abs < this.threshold ? K_DOWN : K_UP;
    const dt = Math.min(nowMs - last, 100);
    this.threshold += k * (abs - this.threshold) * dt;
    this.threshold = Math.min(THRESHOLD_MAX, Math.max(THRESHOLD_MIN, this.threshold));
  }
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / points.length;
  const my = sy / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) * (p.x - mx);
  }
  return den === 0 ? 0 : num / den;
}
