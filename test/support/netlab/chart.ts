// A scenario's timeline as a PNG: an inline SVG (four panels sharing the time axis: received bitrate, frame rate,
// glass-to-glass, freezes; robostream and the baseline; the impairment shaded), screenshotted by the same
// Chromium the lab uses. No chart library: a few lines of SVG are all it takes.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_EXECUTABLE, CHROMIUM_FLAGS } from '../chromium.js';
import type { Series } from './timeline.js';

export interface ChartRun {
  label: string;
  colour: string;
  series: Series;
}

export interface ChartSpec {
  title: string;
  /** Seconds from the observation start. */
  durationS: number;
  impairments: { fromS: number; toS: number; label: string }[];
  runs: ChartRun[];
}

const W = 1200;
const LEFT = 70;
const RIGHT = 20;
const PANEL_H = 150;
const GAP = 40;
const TOP = 76;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function timelineSvg(spec: ChartSpec): string {
  const plotW = W - LEFT - RIGHT;
  const x = (s: number): number => LEFT + (Math.min(Math.max(s, 0), spec.durationS) / spec.durationS) * plotW;
  const panels: {
    title: string;
    max: number;
    pick: (s: Series) => [number, number][];
    dots?: boolean;
    unit: string;
  }[] = [
    {
      title: 'received bitrate (kbit/s); dashed: robot encoder target',
      max: Math.max(500, ...spec.runs.flatMap((r) => r.series.kbps.map(([, v]) => v))) * 1.05,
      pick: (s) => s.kbps,
      unit: 'kbit/s',
    },
    { title: 'displayed frames per second', max: 35, pick: (s) => s.fps, unit: 'fps' },
    {
      title: 'glass-to-glass (ms, clipped at 2000)',
      max: Math.min(2000, Math.max(200, ...spec.runs.flatMap((r) => r.series.g2g.map(([, v]) => v))) * 1.05),
      pick: (s) => s.g2g,
      dots: true,
      unit: 'ms',
    },
  ];
  const parts: string[] = [];
  const height = TOP + panels.length * (PANEL_H + GAP) + 40 + spec.runs.length * 18 + 40;
  parts.push(`<rect width="${W}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${LEFT}" y="28" font-size="16" font-weight="bold">${esc(spec.title)}</text>`);
  spec.runs.forEach((r, i) =>
    parts.push(
      `<rect x="${LEFT + i * 200}" y="36" width="14" height="14" fill="${r.colour}"/>` +
        `<text x="${LEFT + 20 + i * 200}" y="48" font-size="13">${esc(r.label)}</text>`,
    ),
  );
  const shade = (y0: number, h: number): void => {
    for (const imp of spec.impairments)
      parts.push(
        `<rect x="${x(imp.fromS)}" y="${y0}" width="${Math.max(1, x(imp.toS) - x(imp.fromS))}" height="${h}" fill="#f3d9d9"/>`,
      );
  };
  panels.forEach((p, i) => {
    const y0 = TOP + i * (PANEL_H + GAP);
    const y = (v: number): number => y0 + PANEL_H - (Math.min(v, p.max) / p.max) * PANEL_H;
    shade(y0, PANEL_H);
    parts.push(
      `<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#888"/>`,
    );
    parts.push(`<text x="${LEFT}" y="${y0 - 6}" font-size="13">${esc(p.title)}</text>`);
    for (const f of [0, 0.5, 1])
      parts.push(
        `<text x="${LEFT - 6}" y="${y(p.max * f) + 4}" font-size="11" text-anchor="end">${Math.round(p.max * f)}</text>`,
      );
    for (const r of spec.runs) {
      const pts = p.pick(r.series);
      if (p.dots)
        for (const [t, v] of pts)
          parts.push(`<circle cx="${x(t)}" cy="${y(v)}" r="2.5" fill="${r.colour}"/>`);
      else if (pts.length)
        parts.push(
          `<polyline fill="none" stroke="${r.colour}" stroke-width="1.6" points="${pts.map(([t, v]) => `${x(t)},${y(v)}`).join(' ')}"/>`,
        );
      if (i === 0 && r.series.targetKbps.length)
        parts.push(
          `<polyline fill="none" stroke="${r.colour}" stroke-dasharray="5,4" stroke-width="1" points="${r.series.targetKbps.map(([t, v]) => `${x(t)},${y(v)}`).join(' ')}"/>`,
        );
    }
  });
  const fy = TOP + panels.length * (PANEL_H + GAP);
  parts.push(
    `<text x="${LEFT}" y="${fy - 6}" font-size="13">freezes (Chromium's rule: gap above max(3 x mean, mean + 150 ms))</text>`,
  );
  shade(fy, spec.runs.length * 18);
  spec.runs.forEach((r, i) => {
    parts.push(
      `<text x="${LEFT - 6}" y="${fy + i * 18 + 13}" font-size="11" text-anchor="end">${esc(r.label)}</text>`,
    );
    for (const [s, e] of r.series.freezes)
      parts.push(
        `<rect x="${x(s)}" y="${fy + i * 18 + 2}" width="${Math.max(1.5, x(e) - x(s))}" height="14" fill="${r.colour}"/>`,
      );
  });
  const ay = fy + spec.runs.length * 18 + 20;
  const step = spec.durationS > 120 ? 20 : spec.durationS > 40 ? 10 : 5;
  for (let s = 0; s <= spec.durationS; s += step)
    parts.push(`<text x="${x(s)}" y="${ay}" font-size="11" text-anchor="middle">${s} s</text>`);
  spec.impairments.forEach((imp) =>
    parts.push(
      `<text x="${x(imp.fromS) + 4}" y="${TOP + 14}" font-size="11" fill="#a33">${esc(imp.label)}</text>`,
    ),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Writes the chart as a PNG at `path` (directories made as needed). */
export async function writeTimelinePng(path: string, spec: ChartSpec): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_EXECUTABLE,
    args: CHROMIUM_FLAGS,
    headless: true,
  });
  try {
    const page = await browser.newPage({ viewport: { width: W, height: 900 } });
    await page.setContent(`<!doctype html><body style="margin:0">${timelineSvg(spec)}</body>`);
    await page.locator('svg').screenshot({ path });
  } finally {
    await browser.close();
  }
}
