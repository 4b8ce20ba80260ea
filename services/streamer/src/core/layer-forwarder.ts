// What one viewer receives of one camera when the camera has two encodings (full and low): packets of the current
// layer go to the viewer's send track; a switch subscribes the new layer, asks it for a keyframe and changes over
// at the first packet of that keyframe, so the app's decoder never sees a frame whose references it lacks. The two
// encoders number their packets and stamp their clocks independently, so the forwarder rewrites sequence numbers
// and RTP timestamps into one continuous stream (as an SFU does when it switches simulcast layers).
import type { VideoCodecName } from '../config.js';
import type { Layer } from '../media/layered-bitrate.js';
import { startsKeyframe } from '../media/rtp-keyframe.js';
import type { SourcePipeline } from '../media/source-pipeline.js';

const RTP_CLOCK_PER_MS = 90;

export interface ForwarderCounters {
  packets: number;
  bytes: number;
  frames: number;
  switches: number;
}

export class LayerForwarder {
  private current: Layer;
  private pending: Layer | null = null;
  private readonly subscriptions = new Map<Layer, () => void>();
  private seqDelta = 0;
  private tsDelta = 0;
  private lastOut: { seq: number; ts: number; at: number } | null = null;
  private rebase = false;
  readonly counters: ForwarderCounters = { packets: 0, bytes: 0, frames: 0, switches: 0 };

  constructor(
    private readonly layers: Record<Layer, SourcePipeline | null>,
    private readonly codec: VideoCodecName,
    private readonly write: (packet: Buffer, at?: number) => void,
    start: Layer = 'full',
  ) {
    this.current = layers[start] ? start : 'full';
    this.subscribe(this.current, true);
  }

  get layer(): Layer {
    return this.current;
  }

  /** The pipeline packets come from now (keyframe requests from the app go there). */
  get pipeline(): SourcePipeline {
    return this.layers[this.current]!;
  }

  switchTo(layer: Layer): void {
    if (this.pending !== null && this.pending !== layer) this.unsubscribe(this.pending);
    this.pending = null;
    if (layer === this.current || !this.layers[layer]) return;
    if (this.lastOut === null) {
      // Nothing sent yet (a viewer that starts on this layer): change at once; its first keyframe request (on
      // connection) goes to the new layer.
      this.unsubscribe(this.current);
      this.current = layer;
      this.subscribe(layer, true);
      return;
    }
    this.pending = layer;
    this.subscribe(layer);
    // A joining viewer's keyframe: the short window (the low encoder may have just started).
    this.layers[layer]!.requestKeyframe(true);
  }

  release(): void {
    for (const layer of [...this.subscriptions.keys()]) this.unsubscribe(layer);
  }

  /** `fromRecentKeyframe` while nothing was sent: the stream may start on a keyframe the layer has just encoded. */
  private subscribe(layer: Layer, fromRecentKeyframe = false): void {
    if (this.subscriptions.has(layer)) return;
    this.subscriptions.set(
      layer,
      this.layers[layer]!.subscribe((p, at) => this.onPacket(layer, p, at), { fromRecentKeyframe }),
    );
  }

  private unsubscribe(layer: Layer): void {
    this.subscriptions.get(layer)?.();
    this.subscriptions.delete(layer);
  }

  private onPacket(layer: Layer, packet: Buffer, at?: number): void {
    if (layer === this.current) return this.forward(packet, at);
    if (layer !== this.pending || !startsKeyframe(this.codec, packet)) return;
    // Change over at the new layer's keyframe; the old layer's packets stop here.
    const old = this.current;
    this.current = layer;
    this.pending = null;
    this.counters.switches++;
    this.rebase = true;
    this.unsubscribe(old);
    this.forward(packet);
  }

  private forward(packet: Buffer, at?: number): void {
    if (packet.length < 12) return;
    const seq = packet.readUInt16BE(2);
    const ts = packet.readUInt32BE(4);
    const now = performance.now();
    if (this.rebase && this.lastOut) {
      // Continue right after the last packet sent, with the time that passed since on the RTP clock.
      this.seqDelta = (this.lastOut.seq + 1 - seq) & 0xffff;
      const elapsed = Math.max(1, Math.round((now - this.lastOut.at) * RTP_CLOCK_PER_MS));
      this.tsDelta = (this.lastOut.ts + elapsed - ts) >>> 0;
    }
    this.rebase = false;
    let out = packet;
    if (this.seqDelta !== 0 || this.tsDelta !== 0) {
      // The source packet is shared by every viewer of the layer: rewrite a copy.
      out = Buffer.from(packet);
      out.writeUInt16BE((seq + this.seqDelta) & 0xffff, 2);
      out.writeUInt32BE((ts + this.tsDelta) >>> 0, 4);
    }
    this.lastOut = { seq: out.readUInt16BE(2), ts: out.readUInt32BE(4), at: now };
    this.counters.packets++;
    this.counters.bytes += out.length;
    // The RTP marker bit ends a video frame: a frame count without parsing the payload.
    if (((out[1] ?? 0) & 0x80) !== 0) this.counters.frames++;
    this.write(out, at);
  }
}
