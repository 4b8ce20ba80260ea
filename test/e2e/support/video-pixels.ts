// Pixel samples of a playing <video>, taken in the page: the frame drawn to a small canvas, as grey levels.
import type { Page } from 'playwright-core';

export interface FrameSample {
  width: number;
  height: number;
  /** 64x36 grey levels (0-255) of the current frame */
  grey: number[];
  currentTime: number;
}

export async function sampleVideo(page: Page, selector: string): Promise<FrameSample | null> {
  return page.evaluate((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel);
    if (!v || v.readyState < 2 || v.videoWidth === 0) return null;
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 36;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    if (!ctx) return null;
    ctx.drawImage(v, 0, 0, c.width, c.height);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const grey: number[] = [];
    for (let i = 0; i < d.length; i += 4)
      grey.push(Math.round(((d[i] ?? 0) + (d[i + 1] ?? 0) + (d[i + 2] ?? 0)) / 3));
    return { width: v.videoWidth, height: v.videoHeight, grey, currentTime: v.currentTime };
  }, selector);
}

/** Not blank: the frame has real contrast (a black, white or flat grey frame has none). */
export function spread(s: FrameSample): number {
  return Math.max(...s.grey) - Math.min(...s.grey);
}

/** How many sampled pixels changed clearly (by more than 32 grey levels) between two samples. */
export function changedPixels(a: FrameSample, b: FrameSample): number {
  let n = 0;
  for (let i = 0; i < a.grey.length; i++) if (Math.abs((a.grey[i] ?? 0) - (b.grey[i] ?? 0)) > 32) n++;
  return n;
}
