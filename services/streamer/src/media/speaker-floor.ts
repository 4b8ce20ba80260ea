// Which operator's decoded speech reaches the robot's speaker. The voice pipeline's speaker is one appsrc: two
// talkers pushed into it would play interleaved at double speed, so one talker holds the floor at a time, the
// first to speak, until it has been silent (sent nothing) for FLOOR_RELEASE_MS.
import type { GstAppSrc } from './gst-native.js';

export const FLOOR_RELEASE_MS = 300;

export interface FloorSnapshot {
  holder: string | null;
  /** PCM buffers played, and dropped because another talker held the floor (or the pipeline was not running). */
  played: number;
  dropped: number;
}

export class SpeakerFloor {
  private holder: string | null = null;
  private lastAt = -Infinity;
  private played = 0;
  private dropped = 0;

  constructor(private readonly speaker: () => GstAppSrc | undefined) {}

  /** Plays `pcm` when `talker` holds or can take the floor; returns whether it was played. */
  push(talker: string, pcm: Buffer, now = performance.now()): boolean {
    if (this.holder !== null && this.holder !== talker && now - this.lastAt < FLOOR_RELEASE_MS) {
      this.dropped++;
      return false;
    }
    const target = this.speaker();
    if (!target) {
      this.dropped++;
      return false;
    }
    this.holder = talker;
    this.lastAt = now;
    target.push(pcm);
    this.played++;
    return true;
  }

  /** A talker that left gives the floor back at once. */
  release(talker: string): void {
    if (this.holder === talker) this.holder = null;
  }

  snapshot(): FloorSnapshot {
    return { holder: this.holder, played: this.played, dropped: this.dropped };
  }
}
