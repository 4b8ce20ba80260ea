/**
 * How late the picture is: for every frame the compositor is about to show, the time from its capture on the robot
 * to its display here (requestVideoFrameCallback's `captureTime` and `expectedDisplayTime`, one clock).
 *
 * Chromium derives `captureTime` from the robot's RTCP sender reports and the round trip, which a receive-only
 * page knows only through RTCP XR (the offer asks for it: withReceiverRtt); without it there is no figure. The robot
 * stamps its reports when it sends a frame, so the figure leaves out capture and encode on the robot (a few ms to a
 * few tens of ms with a hardware encoder; measured per setup by the glass-to-glass bench) and counts everything
 * after: the network, the jitter buffer, decode and display.
 */
const WINDOW = 30;

interface FrameMetadata {
  captureTime?: number;
  expectedDisplayTime: number;
}

type FrameVideo = HTMLVideoElement & {
  requestVideoFrameCallback?(cb: (now: number, metadata: FrameMetadata) => void): number;
  cancelVideoFrameCallback?(handle: number): void;
};

export class FrameLatency {
  private readonly recent: number[] = [];
  private handle: number | null = null;

  constructor(private readonly video: HTMLVideoElement) {}

  start(): void {
    const v = this.video as FrameVideo;
    if (this.handle !== null || typeof v.requestVideoFrameCallback !== 'function') return;
    const onFrame = (_now: number, m: FrameMetadata): void => {
      if (typeof m.captureTime === 'number' && m.captureTime > 0) {
        this.recent.push(m.expectedDisplayTime - m.captureTime);
        if (this.recent.length > WINDOW) this.recent.shift();
      }
      this.handle = v.requestVideoFrameCallback!(onFrame);
    };
    this.handle = v.requestVideoFrameCallback(onFrame);
  }

  stop(): void {
    const v = this.video as FrameVideo;
    if (this.handle !== null) v.cancelVideoFrameCallback?.(this.handle);
    this.handle = null;
    this.recent.length = 0;
  }

  /** Median over the last frames shown, in ms; null before any frame carried a capture time. */
  get ms(): number | null {
    if (this.recent.length === 0) return null;
    const sorted = [...this.recent].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }
}
