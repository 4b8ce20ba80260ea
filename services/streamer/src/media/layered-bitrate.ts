// Two encodings of one camera for viewers on different links: the full picture, and a low layer (half the width
// and height, a low bitrate) for viewers whose link cannot carry what the best-connected viewer gets. One encode
// per viewer would cost a CPU core per spectator; one shared encode at the minimum of everyone (the earlier
// design) let one spectator on a bad link pull the operator's picture down to what that link carries.
//
// The rule needs no notion of who the operator is: every viewer gets the best layer its own estimate carries.
//  - A viewer whose estimate is under LOW_RATIO x the best viewer's estimate, and whose own link has shown its
//    limit (its estimator saw congestion: a viewer still ramping up after joining is not limited, only new),
//    moves to the low layer; it moves back
//    once its estimate reaches BACK_RATIO x the full layer's current rate. A viewer alone is never moved (the
//    full encoder simply follows its link). At least DWELL_MS between two moves of one viewer, so an estimate
//    that wobbles around the line does not cost a keyframe each time.
//  - The full encoder runs at the minimum of its limited viewers' estimates (those whose link has shown its limit),
//    or, while none is limited, at the highest estimate: a viewer that just joined starts from the configured
//    start rate, and counting that would cut everyone else's picture for the second it takes to learn its link
//    (measured in the lab: 3.5 -> 0.3 Mbit/s for the operator when a spectator joined). The low encoder runs at
//    the minimum of its own viewers' estimates.
//  - A viewer that joins while others watch a full layer richer than the low one starts on the low layer: its
//    link is unknown, and the full layer's first second (a keyframe at the operator's rate) would overflow a
//    spectator's small link before its estimator could tell (measured: 2-6 fps and a replaced session).
//  - A viewer on the low layer cannot show that its link carries more (it is sent only the low rate), so it is
//    tried on the full layer once its link shows no limit for a while (the first trial TRIAL_FIRST_MS after
//    joining, later ones TRIAL_AFTER_MS, doubling up to TRIAL_MAX_MS after each failed one). During a trial
//    (TRIAL_MS) the full encoder does not follow the viewer; a trial fails when the viewer's link shows its limit
//    under LOW_RATIO x the best estimate, and the viewer goes back to the low layer at once.
// Moves are announced through `onLayer`; the viewer switches at the next keyframe of the new layer.
import { SharedEncoderBitrate, type BitrateBounds } from './bitrate-controller.js';

export type Layer = 'full' | 'low';

const LOW_RATIO = 0.6;
const BACK_RATIO = 0.9;
export const LAYER_DWELL_MS = 2000;
export const TRIAL_FIRST_MS = 4000;
export const TRIAL_AFTER_MS = 10_000;
const TRIAL_MAX_MS = 60_000;
export const TRIAL_MS = 3000;

interface ViewerState {
  kbps: number;
  limited: boolean;
  layer: Layer;
  movedAt: number;
  onLayer: (layer: Layer) => void;
  /** When the viewer on the low layer is next tried on the full one. */
  nextTrialAt: number;
  trialWaitMs: number;
  /** Set while a trial on the full layer runs: when it ends. */
  trialUntil: number | null;
}

export class LayeredBitrate {
  private readonly viewers = new Map<string, ViewerState>();
  private readonly full: SharedEncoderBitrate;
  private readonly low: SharedEncoderBitrate | null;
  private readonly lowMaxKbps: number;

  constructor(
    fullBounds: BitrateBounds,
    fullStartKbps: number,
    applyFull: (kbps: number) => void,
    low: { bounds: BitrateBounds; apply: (kbps: number) => void } | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.full = new SharedEncoderBitrate(fullBounds, fullStartKbps, applyFull);
    this.low = low ? new SharedEncoderBitrate(low.bounds, low.bounds.maxKbps, low.apply) : null;
    this.lowMaxKbps = low?.bounds.maxKbps ?? Infinity;
  }

  get fullKbps(): number {
    return this.full.currentKbps;
  }

  layerOf(viewerId: string): Layer | null {
    return this.viewers.get(viewerId)?.layer ?? null;
  }

  /** The layer a viewer joining now starts on: the full one, or the low one while others watch a richer full layer. */
  startLayer(): Layer {
    return this.low && this.viewers.size > 0 && this.full.currentKbps > this.lowMaxKbps ? 'low' : 'full';
  }

  /** Adds a viewer on its start layer (startLayer) and returns that layer. */
  join(viewerId: string, onLayer: (layer: Layer) => void): Layer {
    const now = this.now();
    const layer = this.startLayer();
    this.viewers.set(viewerId, {
      kbps: Infinity,
      limited: false,
      layer,
      movedAt: layer === 'low' ? now : -Infinity,
      onLayer,
      nextTrialAt: now + TRIAL_FIRST_MS,
      trialWaitMs: TRIAL_AFTER_MS,
      trialUntil: null,
    });
    if (layer === 'low') onLayer('low');
    return layer;
  }

  /** `limited`: the viewer's estimate is held down by its link (congestion seen), not still ramping up. */
  update(viewerId: string, kbps: number, limited = true): void {
    const v = this.viewers.get(viewerId);
    if (!v) return;
    v.kbps = kbps;
    v.limited = limited;
    this.rebalance();
  }

  remove(viewerId: string): void {
    if (!this.viewers.delete(viewerId)) return;
    this.low?.remove(viewerId);
    this.rebalance();
  }

  private rebalance(): void {
    const now = this.now();
    const known = [...this.viewers.values()].filter((v) => Number.isFinite(v.kbps));
    const best = Math.max(0, ...known.map((v) => v.kbps));
    for (const [id, v] of this.viewers) {
      if (v.trialUntil !== null && now >= v.trialUntil) {
        v.trialUntil = null; // it held: a full-layer viewer like any other
        v.trialWaitMs = TRIAL_AFTER_MS;
      }
      if (!Number.isFinite(v.kbps)) continue;
      const tooSlow = v.limited && v.kbps < LOW_RATIO * best;
      let want: Layer = v.layer;
      let trial = false;
      if (!this.low || this.viewers.size < 2) want = 'full';
      else if (v.layer === 'full' && tooSlow) want = 'low';
      else if (v.layer === 'low' && v.kbps >= BACK_RATIO * this.full.currentKbps) want = 'full';
      else if (v.layer === 'low' && !v.limited && now >= v.nextTrialAt) [want, trial] = ['full', true];
      const failedTrial = v.trialUntil !== null && want === 'low';
      if (want !== v.layer && (failedTrial || trial || now - v.movedAt >= LAYER_DWELL_MS)) {
        if (v.layer === 'low') this.low?.remove(id);
        if (failedTrial) {
          v.trialUntil = null;
          v.trialWaitMs = Math.min(2 * v.trialWaitMs, TRIAL_MAX_MS);
        }
        if (want === 'low') v.nextTrialAt = now + v.trialWaitMs;
        v.trialUntil = trial ? now + TRIAL_MS : v.trialUntil;
        v.layer = want;
        v.movedAt = now;
        v.onLayer(want);
      }
      if (v.layer === 'low') this.low?.update(id, v.kbps);
    }
    this.applyFull();
  }

  /** The full encoder's rate: the limited viewers' minimum, else the best estimate (see the rule at the top). */
  private applyFull(): void {
    // A viewer on trial shows whether its link carries the full layer; the encoder does not follow it meanwhile.
    const on = [...this.viewers.entries()].filter(
      ([, v]) => v.layer === 'full' && v.trialUntil === null && Number.isFinite(v.kbps),
    );
    if (on.length === 0) return;
    const limited = on.filter(([, v]) => v.limited);
    const kbps =
      limited.length > 0
        ? Math.min(...limited.map(([, v]) => v.kbps))
        : Math.max(...on.map(([, v]) => v.kbps));
    // One shared entry: SharedEncoderBitrate keeps its own bounds and change threshold.
    this.full.update('layer', kbps);
  }
}
