// A joining viewer's first frames, held while its transport is not up yet. The robot asks the shared encoder for a
// keyframe as soon as the app's offer comes; the keyframe usually comes out while ICE and DTLS are still being
// done, and a transport drops what it cannot send yet. Held here instead, the keyframe and the frames after it go
// out the moment DTLS is up, so the first picture does not wait for the next source frame and a keyframe's encoding
// after the connection (measured on the 2-core machine: 15-30 ms, more under load).
//
// Each video source pipeline holds one too, fed with everything it encodes: a viewer that subscribes after its
// keyframe came out (asked for before the answer was made, it can beat the subscription) starts from that run,
// with the keyframe's own time, so its age still counts from when it was encoded.
//
// Frames are grouped by RTP timestamp: an H.264 keyframe starts with its SPS/PPS packet, which is not itself an
// IDR slice, so the held run starts at the first packet of the frame in which a keyframe packet is seen. A held run
// older than `maxAgeMs` is dropped (its first picture would show the operator the past, and a receiver that paces
// frames by their timestamps would keep that delay for a while): then the transport asks for a fresh keyframe once
// it is up and keeps using the buffer as a gate, so the app's stream starts on that keyframe and no frame it could
// not decode goes out before it. Memory is bounded by that age: nothing is held without a keyframe.

/**
 * Three frame intervals at 30 fps: a direct session is up 25-60 ms after the answer, so its held keyframe is fresh;
 * a relayed or distant one takes longer and gets a keyframe of its own when it is up.
 */
export const JOIN_HOLD_MAX_MS = 100;

/**
 * Whether a keyframe held for `ageMs` (null: none held) is worth replacing by a fresh one now: by the time the
 * transport is up (DTLS follows ICE within a round trip or two), one older than half the hold may be too old to send.
 */
export function wantsFreshKeyframe(ageMs: number | null, maxAgeMs = JOIN_HOLD_MAX_MS): boolean {
  return ageMs === null || ageMs > maxAgeMs / 2;
}

export class JoinBuffer {
  private held: Buffer[] = [];
  private heldAt = 0;
  /** The RTP timestamp of the held keyframe (a keyframe's later slices also start with an IDR packet). */
  private heldTs: number | null = null;
  private frame: Buffer[] = [];
  private frameTs: number | null = null;
  private frameAt = 0;

  constructor(
    private readonly isKeyframeStart: (packet: Buffer) => boolean,
    readonly maxAgeMs: number,
  ) {}

  /** Packets held now (for tests and stats). */
  get size(): number {
    return this.held.length;
  }

  /** How long ago the held keyframe began, or null when none is held. */
  heldAgeMs(now: number): number | null {
    return this.held.length > 0 ? now - this.heldAt : null;
  }

  push(packet: Buffer, now: number): void {
    if (packet.length < 12) return;
    const ts = packet.readUInt32BE(4);
    if (ts !== this.frameTs) {
      this.frameTs = ts;
      this.frame = [];
      this.frameAt = now;
    }
    this.frame.push(packet);
    if (this.heldTs !== ts && this.isKeyframeStart(packet)) {
      // A newer keyframe: what was held before it is no longer needed.
      this.held = [...this.frame];
      this.heldAt = this.frameAt;
      this.heldTs = ts;
      return;
    }
    if (this.held.length === 0) return;
    if (now - this.heldAt > this.maxAgeMs) return this.clear();
    this.held.push(packet);
  }

  /**
   * A copy of the held packets and when their keyframe began, when that was at most maxAgeMs ago (else null);
   * the buffer keeps them (the source pipeline's own buffer, shared by every viewer that joins).
   */
  peek(now: number): { packets: Buffer[]; at: number } | null {
    return this.held.length > 0 && now - this.heldAt <= this.maxAgeMs
      ? { packets: [...this.held], at: this.heldAt }
      : null;
  }

  /** The held packets, in order, when their keyframe began at most maxAgeMs ago (else none); empties the buffer. */
  take(now: number): Buffer[] {
    const out = this.held.length > 0 && now - this.heldAt <= this.maxAgeMs ? this.held : [];
    this.clear();
    return out;
  }

  clear(): void {
    this.held = [];
    this.heldTs = null;
  }
}
