// Draws a text file over a running test picture (a test source's `overlayFile`): the file is re-read ten times a
// second and the text element updated when it changed. A simulated robot writes its pose there, so whoever
// watches the camera sees the robot respond to driving; a missing file draws nothing.
import { readFile } from 'node:fs/promises';
import type { GstElement } from './gst-native.js';

const PERIOD_MS = 100;
/** Enough for a few lines of status; a runaway file must not become a wall of text. */
const MAX_CHARS = 400;

export class OverlayFileFollower {
  private timer: NodeJS.Timeout | null = null;
  private shown: string | null = null;
  private reading = false;

  /** @param element the running pipeline's text element (undefined while it is stopped) */
  constructor(
    private readonly path: string,
    private readonly element: () => GstElement | undefined,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), PERIOD_MS);
    this.timer.unref();
    void this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.shown = null;
  }

  private async refresh(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    let text = '';
    try {
      text = (await readFile(this.path, 'utf8')).slice(0, MAX_CHARS).trimEnd();
    } catch {
      // Not written yet, or gone: nothing to draw.
    } finally {
      this.reading = false;
    }
    if (!this.timer || text === this.shown) return;
    const el = this.element();
    if (!el) return;
    el['text'] = text;
    this.shown = text;
  }
}
