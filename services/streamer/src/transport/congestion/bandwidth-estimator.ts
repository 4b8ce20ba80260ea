// Send-side bandwidth estimation for one peer connection: every RTP packet the robot sends is recorded with its
// transport-wide sequence number; every transport feedback from the app is matched against that record and fed to
// the delay detector, the acknowledged-rate meter and the loss window; the rate controller turns those into a
// target for everything this connection sends (video, audio, retransmissions). Pure: time comes in as arguments.
import { DelayTrend, type DelaySignal } from './delay-trend.js';
import { RateControl, type RateBounds } from './rate-control.js';
import { SendHistory } from './send-history.js';
import type { FeedbackPacket } from './transport-feedback.js';
import { WindowMin } from './window-min.js';

const ACKED_WINDOW_MS = 500;
const DELIVERY_LOW_WINDOW_MS = 5000;
/** The delivery rate while a queue builds is the bottleneck's rate: measured over a short window to see it fast. */
const DELIVERY_WINDOW_MS = 100;
/**
 * A queue this deep and still growing is congestion now, before the trend detector's window has filled: a drop
 * from 3 to 1 Mbit/s fills a 400 ms modem buffer in about 150 ms, and every packet it then drops freezes the picture
 * for a round trip through the full queue. Well above a cellular path's +-20 ms jitter.
 */
const FAST_QUEUE_MS = 60;
const FAST_RISE_MS = 30;
/**
 * The same, earlier: what is in flight already says a queue this deep is standing while the measured one-way delay
 * (which lags by that very queue) has only started to rise. In the lab a keyframe at the moment of a drop to 1 Mbit/s
 * put 54 kB (430 ms) in the modem's queue one feedback before the delay passed FAST_QUEUE_MS.
 */
const IN_FLIGHT_QUEUE_MS = 150;
const IN_FLIGHT_RISE_MS = 20;
/**
 * The path's jitter: a running mean of how much the queueing delay moves from one feedback to the next (about
 * 13 ms with +-20 ms of cellular jitter, 1-2 ms on a wired path). Either rise above must be JITTER_MARGIN times
 * that: jitter alone set off a fast cut every second or two on the lab's cellular path and took the rate to the
 * minimum.
 */
const JITTER_GAIN = 0.05;
const JITTER_MARGIN = 4;
const RISE_WINDOW_MS = 200;
const IN_FLIGHT_BASE_WINDOW_MS = 10_000;
const LOSS_WINDOW_MS = 1000;
const LIMITED_FOR_MS = 10_000;

export interface EstimatorSnapshot {
  targetKbps: number;
  ackedKbps: number | null;
  lossFraction: number;
  queueDelayMs: number;
  signal: DelaySignal;
  linkCapacityKbps: number | null;
  feedbacks: number;
  /** What the bottleneck delivered over the last 100 ms of arrivals. */
  deliveryKbps: number | null;
  /** Sent and not yet reported received or lost. */
  inFlightBytes: number;
  /** The in-flight bytes as queueing delay at the delivery rate, above their 10 s minimum. */
  inFlightQueueMs: number;
  /** Everything sent so far (media and retransmissions): two snapshots give the send rate between them. */
  sentBytes: number;
}

export class BandwidthEstimator {
  private readonly history = new SendHistory();
  private readonly trend = new DelayTrend();
  private readonly rate: RateControl;
  private readonly acked: { at: number; size: number }[] = [];
  private ackedBytes = 0;
  private readonly lossWindow: { at: number; lost: boolean }[] = [];
  private lostInWindow = 0;
  private feedbacks = 0;
  private acked0: number | null = null;
  private rebasesSeen = 0;
  private stepsSeen = 0;
  /** Lowest delivery rate measured in the last few seconds (see queueableMs). */
  private readonly deliveryLow = new WindowMin(DELIVERY_LOW_WINDOW_MS);
  private readonly queueSamples: { at: number; q: number }[] = [];
  /** The lowest in-flight time of the last 10 s: what is always in flight (the path without a queue). */
  private readonly inFlightBase = new WindowMin(IN_FLIGHT_BASE_WINDOW_MS);
  private queueNow = 0;
  private jitterMs = 0;
  private deliveryNow: number | null = null;
  private sentBytes = 0;

  constructor(bounds: RateBounds, startKbps: number) {
    this.rate = new RateControl(bounds, startKbps);
  }

  get targetKbps(): number {
    return this.rate.targetKbps;
  }

  /**
   * The path has shown its limit: a cut (queueing delay or loss) in the last LIMITED_FOR_MS, or a remembered
   * capacity the rate has not outgrown since. A session still probing upwards is not limited.
   */
  limited(nowMs: number): boolean {
    return this.rate.linkCapacityKbps !== null || nowMs - this.rate.lastCutAtMs < LIMITED_FOR_MS;
  }

  get active(): boolean {
    return this.feedbacks > 0;
  }

  onPacketSent(wireSeq: number, size: number, atMs: number): void {
    this.history.record(wireSeq, size, atMs);
    this.sentBytes += size;
  }

  /** One transport feedback, received at `nowMs` (robot clock). Returns the new target in kbit/s. */
  onFeedback(packets: FeedbackPacket[], nowMs: number): number {
    this.feedbacks++;
    if (packets.length > 0) this.history.settleBefore(packets[0]!.seq);
    for (const p of packets) {
      const sent = this.history.get(p.seq);
      if (!sent) continue;
      if (!p.received) {
        if (!sent.reportedLost && !sent.acked) {
          this.history.markLost(sent);
          this.pushLoss(nowMs, true);
        }
        continue;
      }
      if (sent.acked) continue; // reported twice
      this.history.markAcked(sent);
      if (sent.reportedLost) {
        // A late arrival or a retransmission under the same number: it got through, but its arrival time says
        // nothing about the queue.
        this.pushLoss(nowMs, false);
        continue;
      }
      this.pushLoss(nowMs, false);
      this.trend.packet(sent.sentAtMs, p.arrivalMs, this.queueableMs(sent.size));
      this.pushAcked(p.arrivalMs, sent.size);
    }
    this.trimLoss(nowMs);
    if (this.trend.steps !== this.stepsSeen) {
      // What is always in flight grew with the path: the old minimum would read the longer path as a queue.
      this.stepsSeen = this.trend.steps;
      this.inFlightBase.clear();
    }
    if (this.trend.rebases !== this.rebasesSeen) {
      // The "queue" was a longer path: what the cuts learned about the link's capacity is wrong.
      this.rebasesSeen = this.trend.rebases;
      this.rate.forgetCapacity();
    }
    const acked = this.ackedKbps();
    const delivery = this.deliveryKbps();
    this.trackDeliveryLow(delivery, nowMs);
    const queueNow = this.queueNowMs(delivery, nowMs);
    this.queueNow = queueNow;
    this.deliveryNow = delivery;
    if (this.queueRising(nowMs, queueNow)) {
      // Cut from what the bottleneck delivers now, and deep enough to drain what is already queued.
      const through = acked === null || delivery === null ? (acked ?? delivery) : Math.min(acked, delivery);
      return this.rate.update(
        'overuse',
        through,
        this.lossFraction(),
        nowMs,
        Math.max(queueNow, this.trend.queueDelayMs),
      );
    }
    return this.rate.update(this.trend.signal, acked, this.lossFraction(), nowMs, this.trend.queueDelayMs);
  }

  /**
   * The one-way queueing delay is past FAST_QUEUE_MS and grew by FAST_RISE_MS within RISE_WINDOW_MS, or what is in
   * flight is past IN_FLIGHT_QUEUE_MS while the delay grew by IN_FLIGHT_RISE_MS (a queue the delay has yet to show);
   * either rise well beyond the path's own jitter.
   */
  private queueRising(nowMs: number, inFlightQueueMs: number): boolean {
    const q = this.trend.queueDelayMs;
    const prev = this.queueSamples[this.queueSamples.length - 1];
    if (prev) this.jitterMs += JITTER_GAIN * (Math.abs(q - prev.q) - this.jitterMs);
    this.queueSamples.push({ at: nowMs, q });
    while (this.queueSamples.length > 0 && this.queueSamples[0]!.at < nowMs - RISE_WINDOW_MS)
      this.queueSamples.shift();
    let low = q;
    for (const s of this.queueSamples) low = Math.min(low, s.q);
    // A rise the path's own jitter makes every few feedbacks is not a queue (a cellular scheduler's +-20 ms).
    const noise = JITTER_MARGIN * this.jitterMs;
    const rise = q - low;
    if (q >= FAST_QUEUE_MS && rise >= Math.max(FAST_RISE_MS, noise)) return true;
    return inFlightQueueMs >= IN_FLIGHT_QUEUE_MS && rise >= Math.max(IN_FLIGHT_RISE_MS, noise);
  }

  /**
   * How much is queued on the path now, as best known: the larger of the in-flight figure and the measured one-way
   * queueing delay. What a retransmission waits behind, so a packet's next resend waits at least this long.
   */
  get pathQueueMs(): number {
    return Math.max(this.queueNow, this.trend.queueDelayMs);
  }

  /**
   * How much is queued on the path right now, from the bytes in flight at the delivery rate, above the lowest
   * such figure of the last 10 s (what is always in flight: a feedback interval and the path's own delay).
   */
  private queueNowMs(deliveryKbps: number | null, nowMs: number): number {
    if (deliveryKbps === null || deliveryKbps <= 0) return 0;
    const ms = (this.history.inFlightBytes * 8) / deliveryKbps;
    return ms - this.inFlightBase.push(nowMs, ms);
  }

  /**
   * The most delay a packet of `size` bytes can add behind the one sent just before it in a queue: its
   * serialization at the lowest delivery rate of the last few seconds (the bottleneck is at least that fast), or at
   * the lowest rate the encoder is allowed before any was measured.
   */
  private queueableMs(size: number): number {
    return (size * 8) / Math.max(this.deliveryLow.min ?? 0, this.rate.minKbps);
  }

  private trackDeliveryLow(kbps: number | null, nowMs: number): void {
    if (kbps === null) this.deliveryLow.expire(nowMs);
    else this.deliveryLow.push(nowMs, kbps);
  }

  /** Acknowledged bytes over the last DELIVERY_WINDOW_MS of arrivals, or null with too little to measure. */
  private deliveryKbps(): number | null {
    const last = this.acked[this.acked.length - 1];
    if (!last) return null;
    let bytes = 0;
    let first = last.at;
    let n = 0;
    for (let i = this.acked.length - 1; i >= 0 && this.acked[i]!.at >= last.at - DELIVERY_WINDOW_MS; i--) {
      bytes += this.acked[i]!.size;
      first = this.acked[i]!.at;
      n++;
    }
    const spanMs = last.at - first;
    return n < 4 || spanMs < DELIVERY_WINDOW_MS / 4 ? null : (bytes * 8) / spanMs;
  }

  snapshot(): EstimatorSnapshot {
    return {
      targetKbps: Math.round(this.rate.targetKbps),
      ackedKbps: this.ackedKbps() === null ? null : Math.round(this.ackedKbps()!),
      lossFraction: this.lossFraction(),
      queueDelayMs: Math.round(this.trend.queueDelayMs),
      signal: this.trend.signal,
      linkCapacityKbps: this.rate.linkCapacityKbps,
      feedbacks: this.feedbacks,
      deliveryKbps: this.deliveryNow === null ? null : Math.round(this.deliveryNow),
      inFlightBytes: this.history.inFlightBytes,
      inFlightQueueMs: Math.round(this.queueNow),
      sentBytes: this.sentBytes,
    };
  }

  private pushAcked(arrivalMs: number, size: number): void {
    this.acked0 ??= arrivalMs;
    this.acked.push({ at: arrivalMs, size });
    this.ackedBytes += size;
    while (this.acked.length > 0 && this.acked[0]!.at < arrivalMs - ACKED_WINDOW_MS) {
      this.ackedBytes -= this.acked.shift()!.size;
    }
  }

  private ackedKbps(): number | null {
    const last = this.acked[this.acked.length - 1];
    if (!last || this.acked0 === null || last.at - this.acked0 < ACKED_WINDOW_MS / 2) return null;
    const spanMs = Math.min(ACKED_WINDOW_MS, last.at - this.acked0);
    return (this.ackedBytes * 8) / spanMs;
  }

  private pushLoss(at: number, lost: boolean): void {
    this.lossWindow.push({ at, lost });
    if (lost) this.lostInWindow++;
  }

  private trimLoss(nowMs: number): void {
    while (this.lossWindow.length > 0 && this.lossWindow[0]!.at < nowMs - LOSS_WINDOW_MS) {
      if (this.lossWindow.shift()!.lost) this.lostInWindow--;
    }
  }

  private lossFraction(): number {
    return this.lossWindow.length === 0 ? 0 : this.lostInWindow / this.lossWindow.length;
  }
}
