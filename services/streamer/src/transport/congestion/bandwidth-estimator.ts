// Send-side bandwidth estimation for one peer connection: every RTP packet the robot sends is recorded with its
// transport-wide sequence number; every transport feedback from the app is matched against that record and fed to
// the delay detector, the acknowledged-rate meter and the loss window; the rate controller turns those into a
// target for everything this connection sends (video, audio, retransmissions). Pure: time comes in as arguments.
import { DelayTrend, type DelaySignal } from './delay-trend.js';
import { RateControl, type RateBounds } from './rate-control.js';
import { SendHistory } from './send-history.js';
import type { FeedbackPacket } from './transport-feedback.js';

const ACKED_WINDOW_MS = 500;
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
  }

  /** One transport feedback, received at `nowMs` (robot clock). Returns the new target in kbit/s. */
  onFeedback(packets: FeedbackPacket[], nowMs: number): number {
    this.feedbacks++;
    for (const p of packets) {
      const sent = this.history.get(p.seq);
      if (!sent) continue;
      if (!p.received) {
        if (!sent.reportedLost && !sent.acked) {
          sent.reportedLost = true;
          this.pushLoss(nowMs, true);
        }
        continue;
      }
      if (sent.acked) continue; // reported twice
      sent.acked = true;
      if (sent.reportedLost) {
        // A late arrival or a retransmission under the same number: it got through, but its arrival time says
        // nothing about the queue.
        this.pushLoss(nowMs, false);
        continue;
      }
      this.pushLoss(nowMs, false);
      this.trend.packet(sent.sentAtMs, p.arrivalMs);
      this.pushAcked(p.arrivalMs, sent.size);
    }
    this.trimLoss(nowMs);
    return this.rate.update(
      this.trend.signal,
      this.ackedKbps(),
      this.lossFraction(),
      nowMs,
      this.trend.queueDelayMs,
    );
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
