// Bitrate adaptation for a shared encoder.
//
// Per viewer: a loss-based estimate in the manner of GCC's sender side (RFC draft-ietf-rmcat-gcc section 6):
// receiver-report fraction lost above 10% cuts the estimate by half the loss, below 2% raises it by 8% per report,
// in between holds. The viewer's latest REMB (the browser's own receive-side estimate) caps it.
//
// Several viewers share one encoder, so the encoder runs at the MINIMUM of its viewers' estimates, clamped to the
// configured bounds: every viewer gets a stream its path can carry, at the cost of the best-connected viewers
// getting less than they could. (Per-viewer quality would need one encode per viewer or simulcast/SVC; the
// issue asks for one encode per source.) The floor bounds the damage one bad viewer can do to the others.
// Changes under 5% are not applied, to avoid touching the encoder on every report.

export interface BitrateBounds {
  minKbps: number;
  maxKbps: number;
}

/** Loss above this cuts the rate, below LOSS_LOW lets it grow (GCC's loss rule; the send-side estimator too). */
export const LOSS_HIGH = 0.1;
export const LOSS_LOW = 0.02;
const INCREASE = 1.08;
const APPLY_THRESHOLD = 0.05;

export const clampKbps = (kbps: number, b: BitrateBounds): number =>
  Math.min(b.maxKbps, Math.max(b.minKbps, kbps));

export class ViewerBitrateEstimator {
  private lossKbps: number;
  private rembKbps = Infinity;

  constructor(
    private readonly bounds: BitrateBounds,
    startKbps: number,
  ) {
    this.lossKbps = clampKbps(startKbps, bounds);
  }

  get estimateKbps(): number {
    return clampKbps(Math.min(this.lossKbps, this.rembKbps), this.bounds);
  }

  /** fractionLost in [0, 1], as carried in an RTCP receiver report block (already divided by 256). */
  onLossReport(fractionLost: number): number {
    if (fractionLost > LOSS_HIGH) this.lossKbps *= 1 - 0.5 * fractionLost;
    else if (fractionLost < LOSS_LOW) this.lossKbps *= INCREASE;
    // Never climb far above what REMB allows, so a later REMB drop is not hidden behind a large loss estimate.
    this.lossKbps = clampKbps(Math.min(this.lossKbps, this.rembKbps * 1.5), this.bounds);
    return this.estimateKbps;
  }

  onRemb(bitsPerSecond: number): number {
    this.rembKbps = bitsPerSecond / 1000;
    return this.estimateKbps;
  }
}

export class SharedEncoderBitrate {
  private readonly estimates = new Map<string, number>();
  private appliedKbps: number;

  constructor(
    private readonly bounds: BitrateBounds,
    startKbps: number,
    private readonly apply: (kbps: number) => void,
  ) {
    this.appliedKbps = clampKbps(startKbps, bounds);
  }

  get targetKbps(): number {
    if (this.estimates.size === 0) return this.appliedKbps;
    return clampKbps(Math.min(...this.estimates.values()), this.bounds);
  }

  get currentKbps(): number {
    return this.appliedKbps;
  }

  update(viewerId: string, estimateKbps: number): void {
    this.estimates.set(viewerId, estimateKbps);
    this.maybeApply();
  }

  remove(viewerId: string): void {
    this.estimates.delete(viewerId);
    if (this.estimates.size > 0) this.maybeApply();
  }

  private maybeApply(): void {
    const target = this.targetKbps;
    if (Math.abs(target - this.appliedKbps) / this.appliedKbps < APPLY_THRESHOLD) return;
    this.appliedKbps = target;
    this.apply(target);
  }
}
