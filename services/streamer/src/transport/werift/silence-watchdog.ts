// werift never reports 'disconnected' (only 'failed', 30 s after consent expires), so the session reports it
// itself when nothing (RTP or RTCP) has arrived from the app for DISCONNECTED_AFTER_MS: an app receiving video
// sends RTCP every second or so (transport feedback every 50-100 ms). Traffic coming back reports 'connected'.

/** Silence from a connected app after which the session reports 'disconnected' (Chromium uses about 2.5 s too). */
export const DISCONNECTED_AFTER_MS = 2500;
const CHECK_MS = 250;

export class SilenceWatchdog {
  private lastHeardAt = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private silentNow = false;

  constructor(
    private readonly onChange: (silent: boolean) => void,
    private readonly afterMs = DISCONNECTED_AFTER_MS,
  ) {}

  get silent(): boolean {
    return this.silentNow;
  }

  heard(): void {
    this.lastHeardAt = performance.now();
  }

  start(): void {
    this.lastHeardAt = performance.now();
    this.silentNow = false;
    if (this.timer) return;
    this.timer = setInterval(() => {
      const quiet = performance.now() - this.lastHeardAt > this.afterMs;
      if (quiet !== this.silentNow) {
        this.silentNow = quiet;
        this.onChange(quiet);
      }
    }, CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
