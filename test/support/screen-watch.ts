// When a picture really left Chromium's compositor. requestVideoFrameCallback's expectedDisplayTime is Chromium's
// estimate, and it is one vsync off, in opposite directions, depending on the renderer path a stream takes
// (measured with this module against the same flips, 60 Hz headless compositor): a stream without a render
// time (playout delay min = max = 0, the robot's default) is reported 16.7 ms after the frame was swapped; one
// that goes through Chromium's smoothing algorithm (no playout delay, as Chromium-to-Chromium calls do) 16.7 ms
// before it. Latency figures taken from it favour the smoothed stream by two vsyncs.
// The DevTools screencast hands over every frame the compositor swaps, with its swap time; reading the watched
// element's pixels in each says when a change was swapped, the same way for every path.
import type { CDPSession, Page } from 'playwright-core';

/** One swapped frame: its swap time and the luma (BT.601, 0..255) at a 5 x 3 grid inside the element's box. */
export interface ScreenFrame {
  atEpochMs: number;
  lumas: number[];
}

interface Shot {
  atEpochMs: number;
  data: string;
}

interface ScreencastFrame {
  data: string;
  sessionId: number;
  metadata: { timestamp?: number };
}

/** Small frames: the grid is all that is read, and encoding them stays cheap next to the video's own work. */
const WIDTH = 64;
const HEIGHT = 36;
/** Frames decoded per page call (each is a few hundred bytes of PNG). */
const BATCH = 400;

export class ScreenWatch {
  private readonly shots: Shot[] = [];
  /** The frames as stop() read them, once. */
  private read: Promise<ScreenFrame[]> | null = null;

  private constructor(
    private readonly page: Page,
    private readonly cdp: CDPSession,
    private readonly selector: string,
  ) {
    cdp.on('Page.screencastFrame', (f: ScreencastFrame) => {
      if (f.metadata.timestamp !== undefined)
        this.shots.push({ atEpochMs: f.metadata.timestamp * 1000, data: f.data });
      // Chromium sends the next frame only after this one is acknowledged.
      void cdp.send('Page.screencastFrameAck', { sessionId: f.sessionId }).catch(() => undefined);
    });
  }

  /** Starts watching `page`; `selector` names the element whose picture is read (the first match). */
  static async start(page: Page, selector: string): Promise<ScreenWatch> {
    const cdp = await page.context().newCDPSession(page);
    const watch = new ScreenWatch(page, cdp, selector);
    await cdp.send('Page.startScreencast', {
      format: 'png',
      maxWidth: WIDTH,
      maxHeight: HEIGHT,
      everyNthFrame: 1,
    });
    return watch;
  }

  /** How many frames have come so far (the first can take a few hundred ms on a loaded machine). */
  get received(): number {
    return this.shots.length;
  }

  /** Stops the screencast and reads every frame swapped since start (once: later calls get the same frames). */
  stop(): Promise<ScreenFrame[]> {
    this.read ??= this.stopAndRead();
    return this.read;
  }

  private async stopAndRead(): Promise<ScreenFrame[]> {
    await this.cdp.send('Page.stopScreencast').catch(() => undefined);
    await this.cdp.detach().catch(() => undefined);
    const out: ScreenFrame[] = [];
    for (let i = 0; i < this.shots.length; i += BATCH) {
      const batch = this.shots.slice(i, i + BATCH);
      const lumas = await this.page.evaluate(readGrid, {
        selector: this.selector,
        frames: batch.map((s) => s.data),
      });
      batch.forEach((s, j) => out.push({ atEpochMs: s.atEpochMs, lumas: lumas[j] ?? [] }));
    }
    return out;
  }
}

/** Runs in the page: decodes each PNG and reads the 5 x 3 grid inside the element's box (scaled to the shot). */
async function readGrid(o: { selector: string; frames: string[] }): Promise<number[][]> {
  const el = document.querySelector(o.selector);
  const box = el?.getBoundingClientRect();
  if (!box || box.width === 0) return o.frames.map(() => []);
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return o.frames.map(() => []);
  const out: number[][] = [];
  for (const data of o.frames) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    ctx.drawImage(bitmap, 0, 0);
    const scale = bitmap.width / window.innerWidth;
    const px = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const lumas: number[] = [];
    for (let j = 0; j < 3; j++)
      for (let i = 0; i < 5; i++) {
        const x = Math.floor((box.left + ((i + 0.5) / 5) * box.width) * scale);
        const y = Math.floor((box.top + ((j + 0.5) / 3) * box.height) * scale);
        if (x < 0 || y < 0 || x >= bitmap.width || y >= bitmap.height) continue;
        const at = (y * bitmap.width + x) * 4;
        lumas.push(0.299 * (px[at] ?? 0) + 0.587 * (px[at + 1] ?? 0) + 0.114 * (px[at + 2] ?? 0));
      }
    out.push(lumas);
  }
  return out;
}

/** The median of a frame's grid (the lab's moving bar covers two columns at most). */
export function medianLuma(f: ScreenFrame): number | null {
  if (f.lumas.length === 0) return null;
  const s = [...f.lumas].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? null;
}
