// From what a page recorded (stats samples, displayed frames, flash levels seen) and the sender's flips to the
// figures of a scenario: freezes, frame rate, glass-to-glass, recovery, and the series the charts draw.
import { medianLuma, type ScreenFrame } from '../screen-watch.js';
import type { FlashSeen, Flip, PageResults } from './browser/lab-page.js';
import { flashLevel } from './flash-levels.js';

export interface ObservationWindow {
  /** Epoch ms: the observation starts (clean path, after the first frames). */
  startMs: number;
  /** The impairment: from impairStartMs to impairEndMs; figures cover impairStartMs..endMs. */
  impairStartMs: number;
  impairEndMs: number;
  endMs: number;
}

/**
 * How recovery is judged after the impairment ends: `frames` - frames flow again (half the clean frame rate over
 * a second); `bitrate` - the picture is back to what it was: 80 % of the clean bitrate over 2 s and 80 % of the
 * clean frame rate over 1 s. null: not a figure of this scenario.
 */
export type RecoverBy = 'frames' | 'bitrate' | null;

export interface Figures {
  freezeMs: number;
  freezeCount: number;
  fps: number;
  /** From the compositor's swap times (PageResults.shown), or Chromium's estimate when no screen watch ran. */
  g2gP50: number | null;
  g2gP95: number | null;
  g2gSamples: number;
  /** From requestVideoFrameCallback's expectedDisplayTime: one vsync off, its sign set by the renderer path. */
  g2gEstimatedP50: number | null;
  /** Null when not a figure of the scenario; when not recovered, the time observed after the impairment. */
  recoverMs: number | null;
  recovered: boolean;
  cleanKbps: number;
  cleanFps: number;
  /**
   * Frames decoded per second (getStats' framesDecoded) from the impairment's start to the end, and on the clean
   * stretch: what the robot and the path delivered, apart from how many of them the page's compositor got to show
   * (`fps`, `cleanFps`), which a busy machine lowers on its own.
   */
  decodedFps: number;
  cleanDecodedFps: number;
  /** Mean received bitrate during the impairment. */
  impairedKbps: number;
  nackCount: number;
  pliCount: number;
  packetsLost: number;
  sessionsOpened: number;
  iceRestarts: number;
  /** Mean time a frame spent in Chromium's jitter buffer (jitterBufferDelay / jitterBufferEmittedCount), ms. */
  jitterBufferCleanMs: number | null;
  jitterBufferImpairedMs: number | null;
}

/** Time series in seconds from the window's start, for charts. */
export interface Series {
  kbps: [number, number][];
  fps: [number, number][];
  g2g: [number, number][];
  freezes: [number, number][];
  /** The robot encoder's target bitrate, when known. */
  targetKbps: [number, number][];
}

export interface Analysis {
  figures: Figures;
  series: Series;
}

const percentile = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? null;
};

/** Chromium's own rule for a freeze: an inter-frame gap above max(3 x mean, mean + 150 ms) of the last frames. */
export function freezes(frames: number[], fromMs: number, toMs: number): [number, number][] {
  const out: [number, number][] = [];
  const recent: number[] = [];
  let prev = fromMs;
  const check = (at: number): void => {
    const gap = at - prev;
    const mean = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 1000 / 30;
    if (gap > Math.max(3 * mean, mean + 150)) out.push([prev, at]);
    else {
      recent.push(gap);
      if (recent.length > 30) recent.shift();
    }
    prev = at;
  };
  for (const f of frames) if (f > fromMs && f <= toMs) check(f);
  check(toMs);
  return out;
}

/** The changes of level in what the compositor swapped. */
export function shownLevels(frames: ScreenFrame[]): FlashSeen[] {
  const out: FlashSeen[] = [];
  let last = -1;
  for (const f of frames) {
    const luma = medianLuma(f);
    if (luma === null) continue;
    const level = flashLevel(luma);
    if (level !== last) out.push({ level, atEpochMs: f.atEpochMs });
    last = level;
  }
  return out;
}

/** Each displayed change of level, matched to the newest flip to that level before it was displayed. */
export function glassToGlass(
  seen: { level: number; atEpochMs: number }[],
  flips: Flip[],
): [number, number][] {
  const out: [number, number][] = [];
  for (const s of seen) {
    let match: Flip | undefined;
    for (const f of flips) if (f.level === s.level && f.atEpochMs <= s.atEpochMs) match = f;
    if (match) out.push([s.atEpochMs, s.atEpochMs - match.atEpochMs]);
  }
  return out;
}

function bitrates(r: PageResults): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < r.samples.length; i++) {
    const a = r.samples[i - 1]!;
    const b = r.samples[i]!;
    // Two samples close together (a getStats call delayed behind a stalled page) make a meaningless rate.
    if (a.pc !== b.pc || b.atEpochMs - a.atEpochMs < 150) continue;
    out.push([
      b.atEpochMs,
      Math.max(0, ((b.bytesReceived - a.bytesReceived) * 8) / (b.atEpochMs - a.atEpochMs)),
    ]);
  }
  return out;
}

const framesIn = (frames: number[], a: number, b: number): number =>
  frames.filter((f) => f >= a && f < b).length;
const meanIn = (xs: [number, number][], a: number, b: number): number => {
  const v = xs.filter(([t]) => t >= a && t < b).map(([, x]) => x);
  return v.length ? v.reduce((p, c) => p + c, 0) / v.length : 0;
};

function recovery(
  by: RecoverBy,
  frames: number[],
  kbps: [number, number][],
  w: ObservationWindow,
  cleanFps: number,
  cleanKbps: number,
): { ms: number | null; recovered: boolean } {
  if (!by) return { ms: null, recovered: true };
  const candidates = by === 'frames' ? frames.filter((f) => f >= w.impairEndMs) : kbps.map(([t]) => t);
  for (const t of candidates) {
    if (t < w.impairEndMs || t + 1000 > w.endMs) continue;
    const fps = framesIn(frames, t, t + 1000);
    const ok =
      by === 'frames'
        ? fps >= 0.5 * cleanFps
        : fps >= 0.8 * cleanFps && t + 2000 <= w.endMs && meanIn(kbps, t, t + 2000) >= 0.8 * cleanKbps;
    if (ok) return { ms: Math.max(0, Math.round(t - w.impairEndMs)), recovered: true };
  }
  return { ms: Math.round(w.endMs - w.impairEndMs), recovered: false };
}

/** A count over a..b (epoch ms) as a rate, one decimal. */
function perSecond(count: number, a: number, b: number): number {
  return b > a ? Math.round((10 * count) / ((b - a) / 1000)) / 10 : 0;
}

function counterDelta(
  r: PageResults,
  key: 'nackCount' | 'pliCount' | 'packetsLost' | 'framesDecoded',
  a: number,
  b: number,
): number {
  // Per peer connection (counters restart with a new one): the growth within the window.
  let total = 0;
  const byPc = new Map<number, number[]>();
  for (const s of r.samples)
    if (s.atEpochMs >= a && s.atEpochMs <= b) byPc.set(s.pc, [...(byPc.get(s.pc) ?? []), s[key]]);
  for (const v of byPc.values()) total += (v.at(-1) ?? 0) - (v[0] ?? 0);
  return total;
}

/** Jitter buffer delay per emitted frame within a..b, over each peer connection's growth. */
function jitterBufferMs(r: PageResults, a: number, b: number): number | null {
  const byPc = new Map<
    number,
    { first: PageResults['samples'][number]; last: PageResults['samples'][number] }
  >();
  for (const s of r.samples) {
    if (s.atEpochMs < a || s.atEpochMs > b) continue;
    const e = byPc.get(s.pc);
    byPc.set(s.pc, { first: e?.first ?? s, last: s });
  }
  let delay = 0;
  let emitted = 0;
  for (const { first, last } of byPc.values()) {
    delay += last.jitterBufferDelay - first.jitterBufferDelay;
    emitted += last.jitterBufferEmittedCount - first.jitterBufferEmittedCount;
  }
  return emitted > 0 ? Math.round((delay / emitted) * 10_000) / 10 : null;
}

export function analyze(
  r: PageResults,
  flips: Flip[],
  w: ObservationWindow,
  by: RecoverBy,
  targets: { kbps: number | null; atEpochMs: number }[] = [],
  /** Epoch ms the series' times count from (the main viewer's window, so that every viewer shares one axis). */
  originMs = w.startMs,
): Analysis {
  const kbps = bitrates(r);
  const cleanFps = framesIn(r.frames, w.startMs, w.impairStartMs) / ((w.impairStartMs - w.startMs) / 1000);
  const cleanKbps = meanIn(kbps, w.startMs, w.impairStartMs);
  const frozen = freezes(r.frames, w.impairStartMs, w.endMs);
  const g2g = glassToGlass(r.shown ?? r.seen, flips);
  const inWindow = (xs: [number, number][]): number[] =>
    xs.filter(([t]) => t >= w.impairStartMs && t <= w.endMs).map(([, ms]) => ms);
  const measured = inWindow(g2g);
  const rec = recovery(by, r.frames, kbps, w, cleanFps, cleanKbps);
  const rel = (t: number): number => Math.round((t - originMs) / 10) / 100;
  const fpsSeries: [number, number][] = [];
  for (let t = w.startMs; t + 1000 <= w.endMs; t += 500)
    fpsSeries.push([rel(t + 500), framesIn(r.frames, t, t + 1000)]);
  return {
    figures: {
      freezeMs: Math.round(frozen.reduce((a, [s, e]) => a + e - s, 0)),
      freezeCount: frozen.length,
      fps: perSecond(framesIn(r.frames, w.impairStartMs, w.endMs), w.impairStartMs, w.endMs),
      g2gP50: percentile(measured, 0.5),
      g2gP95: percentile(measured, 0.95),
      g2gSamples: measured.length,
      g2gEstimatedP50: r.shown
        ? percentile(inWindow(glassToGlass(r.seen, flips)), 0.5)
        : percentile(measured, 0.5),
      recoverMs: rec.ms,
      recovered: rec.recovered,
      cleanKbps: Math.round(cleanKbps),
      cleanFps: perSecond(framesIn(r.frames, w.startMs, w.impairStartMs), w.startMs, w.impairStartMs),
      decodedFps: perSecond(
        counterDelta(r, 'framesDecoded', w.impairStartMs, w.endMs),
        w.impairStartMs,
        w.endMs,
      ),
      cleanDecodedFps: perSecond(
        counterDelta(r, 'framesDecoded', w.startMs, w.impairStartMs),
        w.startMs,
        w.impairStartMs,
      ),
      impairedKbps: Math.round(meanIn(kbps, w.impairStartMs, w.impairEndMs)),
      nackCount: counterDelta(r, 'nackCount', w.impairStartMs, w.endMs),
      pliCount: counterDelta(r, 'pliCount', w.impairStartMs, w.endMs),
      packetsLost: counterDelta(r, 'packetsLost', w.impairStartMs, w.endMs),
      sessionsOpened: r.sessionsOpened,
      iceRestarts: r.iceRestarts,
      jitterBufferCleanMs: jitterBufferMs(r, w.startMs, w.impairStartMs),
      jitterBufferImpairedMs: jitterBufferMs(r, w.impairStartMs, w.impairEndMs),
    },
    series: {
      kbps: kbps.filter(([t]) => t >= w.startMs && t <= w.endMs).map(([t, v]) => [rel(t), Math.round(v)]),
      fps: fpsSeries,
      g2g: g2g.filter(([t]) => t >= w.startMs && t <= w.endMs).map(([t, v]) => [rel(t), Math.round(v)]),
      freezes: freezes(r.frames, w.startMs, w.endMs).map(([s, e]) => [rel(s), rel(e)]),
      targetKbps: targets
        .filter((x) => x.kbps !== null && x.atEpochMs >= w.startMs && x.atEpochMs <= w.endMs)
        .map((x) => [rel(x.atEpochMs), x.kbps ?? 0]),
    },
  };
}
