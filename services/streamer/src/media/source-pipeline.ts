// One capture + encode for one source, shared by every viewer: RTP packets come out of an appsink and are
// handed to each subscriber. The pipeline starts with the first subscriber and stops `lingerMs` after the last
// one leaves (a viewer reconnecting within the linger finds it still warm).
import type { Logger } from 'pino';
import type { VideoCodecName } from '../config.js';
import type { GstAppSink, GstBusMessage, GstElement } from './gst-native.js';
import { PipelineRunner, type PipelineError } from './pipeline-runner.js';
import { isStandaloneParameterSets, startsKeyframe } from './rtp-keyframe.js';
import { OverlayFileFollower } from './overlay-file.js';
import { OVERLAY_ELEMENT } from './sources.js';
import { JoinBuffer, JOIN_HOLD_MAX_MS } from './join-buffer.js';

export const RTP_APPSINK = 'rtpout';
const ENCODER_ELEMENT = 'venc';

export type MediaCodec = VideoCodecName | 'opus';

export interface SourcePipelineSpec {
  /** Unique per source and codec, e.g. `video/front/h264`. */
  key: string;
  sourceId: string;
  kind: 'video' | 'audio';
  codec: MediaCodec;
  /** Encoder used (x264, v4l2, vp8, opus...), for introspection. */
  encoder: string;
  /** gst-launch description ending in `appsink name=rtpout`, for a starting bitrate (null for audio). */
  describe(bitrateKbps: number | null): string;
  /** How to change the encoder bitrate while playing; null for audio or encoders that cannot. */
  bitrate: { property: string; toValue(kbps: number): number } | null;
  initialBitrateKbps: number | null;
  /** A test source's overlay file, followed while the pipeline runs (overlay-file.ts). */
  overlayFile?: string;
}

export interface SourcePipelineOptions {
  lingerMs: number;
  keyframeMinIntervalMs: number;
  log: Logger;
  /** Called after the pipeline stopped (a dependent pipeline releases what it held). */
  onStop?: () => void;
  /** Bus messages other than errors and warnings (the voice processor's voice activity). */
  onBusMessage?: (msg: GstBusMessage) => void;
}

/** `at`: when the packet came out of the encoder, for packets replayed to a new subscriber (else now). */
export type PacketListener = (packet: Buffer, at?: number) => void;

export interface SourcePipelineSnapshot {
  key: string;
  sourceId: string;
  kind: 'video' | 'audio';
  codec: MediaCodec;
  encoder: string;
  running: boolean;
  subscribers: number;
  starts: number;
  stops: number;
  packetsOut: number;
  keyframesOut: number;
  forcedKeyUnits: number;
  keyframeRequests: number;
  bitrateKbps: number | null;
  lastError: string | null;
}

/** Keyframes for joining viewers: at most one per this, whatever keyframeMinIntervalMs is (a join storm). */
export const JOIN_KEYFRAME_MIN_INTERVAL_MS = 100;

/**
 * A forced keyframe not out of the encoder yet answers any request that comes meanwhile; past this, the encoder
 * is taken to have missed it (an encoder may ignore the event) and requests are handled as usual.
 */
export const FORCED_KEYFRAME_PENDING_MS = 250;

export type KeyframeRequestOutcome =
  'sent' | 'scheduled' | 'coalesced' | 'pending' | 'not-running' | 'not-video';

export class SourcePipeline {
  private readonly listeners = new Set<PacketListener>();
  private runner: PipelineRunner | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private keyframeTimer: NodeJS.Timeout | null = null;
  private lastForcedAt = -Infinity;
  /** A keyframe was forced and has not come out yet. */
  private forcedPending = false;
  private bitrateKbps: number | null;
  private closed = false;
  private readonly counters = {
    starts: 0,
    stops: 0,
    packetsOut: 0,
    keyframesOut: 0,
    forcedKeyUnits: 0,
    keyframeRequests: 0,
  };
  private lastError: string | null = null;
  /** Packets dropped from the stream so far (sequence numbers after them are shifted down to close the gap). */
  private seqShift = 0;
  private errorListeners = new Set<(err: PipelineError) => void>();
  private readonly overlay: OverlayFileFollower | null;
  /** The run from the latest keyframe while it is fresh, replayed to a subscriber that joins meanwhile (video). */
  private recent: JoinBuffer | null = null;
  /** The RTP timestamp of the latest keyframe counted. */
  private lastKeyframeTs: number | null = null;

  constructor(
    readonly spec: SourcePipelineSpec,
    private readonly options: SourcePipelineOptions,
  ) {
    this.bitrateKbps = spec.initialBitrateKbps;
    this.overlay = spec.overlayFile
      ? new OverlayFileFollower(spec.overlayFile, () => this.element(OVERLAY_ELEMENT))
      : null;
  }

  get running(): boolean {
    return this.runner !== null;
  }

  get key(): string {
    return this.spec.key;
  }

  /** A named element of the running pipeline (undefined while stopped). */
  element(name: string): GstElement | undefined {
    return this.runner?.element(name);
  }

  /**
   * Adds a listener; starts the pipeline if it is the first. Returns the release function (idempotent). With
   * `fromRecentKeyframe` (a viewer whose stream starts here) the run from a keyframe encoded within
   * JOIN_HOLD_MAX_MS is replayed to it first, with that keyframe's time.
   */
  subscribe(listener: PacketListener, options: { fromRecentKeyframe?: boolean } = {}): () => void {
    if (this.closed) throw new Error(`source pipeline ${this.spec.key} is closed`);
    const recent = options.fromRecentKeyframe ? this.recent?.peek(performance.now()) : null;
    if (recent) for (const packet of recent.packets) listener(packet, recent.at);
    this.listeners.add(listener);
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (!this.runner) this.start();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.scheduleStop();
    };
  }

  onError(listener: (err: PipelineError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** How long ago the keyframe a new subscriber would start from was encoded (null: none within the hold). */
  recentKeyframeAgeMs(now = performance.now()): number | null {
    return this.recent?.heldAgeMs(now) ?? null;
  }

  /**
   * Asks the encoder for a keyframe, at most once per keyframeMinIntervalMs: a request inside the window is
   * deferred to its end (one deferred request stands for all that arrive meanwhile), so a burst of PLIs from
   * several viewers costs one keyframe. `urgent` is a viewer that just connected and can show nothing until a
   * keyframe comes: its window is JOIN_KEYFRAME_MIN_INTERVAL_MS only (measured: a viewer joining within 500 ms
   * of another's keyframe waited ~400 ms more for its first frame). A request while a forced keyframe is still
   * being encoded is answered by that keyframe ('pending'): a viewer connecting just after the robot asked for
   * its joining keyframe would otherwise cost a second one.
   */
  requestKeyframe(urgent = false): KeyframeRequestOutcome {
    if (this.spec.kind !== 'video') return 'not-video';
    if (!this.runner) return 'not-running';
    this.counters.keyframeRequests++;
    if (this.forcedPending && performance.now() - this.lastForcedAt < FORCED_KEYFRAME_PENDING_MS)
      return 'pending';
    const interval = urgent
      ? Math.min(JOIN_KEYFRAME_MIN_INTERVAL_MS, this.options.keyframeMinIntervalMs)
      : this.options.keyframeMinIntervalMs;
    const wait = this.lastForcedAt + interval - performance.now();
    if (wait <= 0) {
      this.forceKeyUnit();
      return 'sent';
    }
    if (this.keyframeTimer) {
      if (!urgent) return 'coalesced';
      clearTimeout(this.keyframeTimer); // brought forward; it still stands for the requests it coalesced
    }
    this.keyframeTimer = setTimeout(() => {
      this.keyframeTimer = null;
      this.forceKeyUnit();
    }, wait);
    return 'scheduled';
  }

  /** Sets the shared encoder's bitrate (already clamped by the caller); no-op when the encoder cannot change it. */
  setBitrateKbps(kbps: number): boolean {
    const control = this.spec.bitrate;
    if (!control) return false;
    const rounded = Math.round(kbps);
    this.bitrateKbps = rounded;
    const encoder = this.runner?.element(ENCODER_ELEMENT);
    if (encoder) encoder[control.property] = control.toValue(rounded);
    return true;
  }

  snapshot(): SourcePipelineSnapshot {
    return {
      key: this.spec.key,
      sourceId: this.spec.sourceId,
      kind: this.spec.kind,
      codec: this.spec.codec,
      encoder: this.spec.encoder,
      running: this.running,
      subscribers: this.listeners.size,
      ...this.counters,
      bitrateKbps: this.bitrateKbps,
      lastError: this.lastError,
    };
  }

  /** Stops at once, whatever the subscribers; used at shutdown. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    const runner = new PipelineRunner(
      this.spec.key,
      // Rebuilt at each start so a restart uses the bitrate the last viewers settled on.
      this.spec.describe(this.bitrateKbps),
      this.options.log,
    );
    runner.onError((err) => {
      this.lastError = err.message;
      for (const l of this.errorListeners) l(err);
    });
    if (this.options.onBusMessage) runner.onMessage(this.options.onBusMessage);
    runner.start();
    this.runner = runner;
    this.counters.starts++;
    this.lastForcedAt = -Infinity;
    this.forcedPending = false;
    this.recent =
      this.spec.kind === 'video'
        ? new JoinBuffer((p) => startsKeyframe(this.spec.codec as VideoCodecName, p), JOIN_HOLD_MAX_MS)
        : null;
    const sink = runner.element(RTP_APPSINK) as GstAppSink | undefined;
    if (!sink) throw new Error(`${this.spec.key}: pipeline has no appsink named ${RTP_APPSINK}`);
    this.pullLoop(runner, sink);
    this.overlay?.start();
    this.options.log.info({ pipeline: this.spec.key, encoder: this.spec.encoder }, 'source pipeline started');
  }

  // Each pull holds one libuv thread until a sample or a flush; a null sample means the pipeline stopped.
  private pullLoop(runner: PipelineRunner, sink: GstAppSink): void {
    sink.pull((buf) => {
      if (!buf || this.runner !== runner) return;
      if (this.spec.codec === 'h264' && isStandaloneParameterSets(buf)) {
        this.seqShift++;
        return this.pullLoop(runner, sink);
      }
      // The buffer is this pull's own: renumber it in place before any viewer sees it.
      if (this.seqShift !== 0 && buf.length >= 12)
        buf.writeUInt16BE((buf.readUInt16BE(2) - this.seqShift) & 0xffff, 2);
      this.counters.packetsOut++;
      if (this.spec.kind === 'video' && startsKeyframe(this.spec.codec as VideoCodecName, buf)) {
        // Once per picture: its parameter sets and each of its slices open it alike.
        const ts = buf.readUInt32BE(4);
        if (ts !== this.lastKeyframeTs) this.counters.keyframesOut++;
        this.lastKeyframeTs = ts;
        this.forcedPending = false;
      }
      this.recent?.push(buf, performance.now());
      for (const listener of this.listeners) {
        try {
          listener(buf);
        } catch (err) {
          this.options.log.warn(
            { pipeline: this.spec.key, err: (err as Error).message },
            'packet listener failed',
          );
        }
      }
      this.pullLoop(runner, sink);
    });
  }

  private forceKeyUnit(): void {
    if (!this.runner) return;
    // This keyframe answers every request waiting for one.
    if (this.keyframeTimer) clearTimeout(this.keyframeTimer);
    this.keyframeTimer = null;
    this.lastForcedAt = performance.now();
    this.forcedPending = true;
    this.counters.forcedKeyUnits++;
    this.runner.forceKeyUnit(RTP_APPSINK);
  }

  private scheduleStop(): void {
    if (this.lingerTimer || !this.runner) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      if (this.listeners.size === 0) this.stop();
    }, this.options.lingerMs);
  }

  private stop(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.keyframeTimer) clearTimeout(this.keyframeTimer);
    this.lingerTimer = null;
    this.keyframeTimer = null;
    if (!this.runner) return;
    const runner = this.runner;
    this.runner = null;
    this.recent = null;
    this.overlay?.stop();
    runner.stop();
    this.counters.stops++;
    this.options.onStop?.();
    this.options.log.info({ pipeline: this.spec.key }, 'source pipeline stopped');
  }
}
