// One app connected to the robot: its peer session, what it receives from which shared source pipeline, and the
// sinks playing what it sends. Knows nothing of signaling: candidates and answers go through plain callbacks.
import type { Logger } from 'pino';
import type { VideoCodecName } from '../config.js';
import { ViewerBitrateEstimator, type BitrateBounds } from '../media/bitrate-controller.js';
import type { Layer, LayeredBitrate } from '../media/layered-bitrate.js';
import { LayerForwarder } from './layer-forwarder.js';
import type { SinkPipeline, SinkSnapshot } from '../media/sinks.js';
import type { SourcePipeline } from '../media/source-pipeline.js';
import type {
  IceCandidateInit,
  KeyframeReason,
  MediaKind,
  PeerConnectionState,
  PeerSession,
  SendTrack,
  TransportStats,
} from '../transport/peer-session.js';

/** Opus at 64 kbit/s plus RTP/SRTP/UDP/IP headers at 50 packets/s. */
export const AUDIO_KBPS = 80;
/** Share of the transport estimate given to encoders: the rest is packet overhead and retransmissions. */
const VIDEO_SHARE = 0.9;
/**
 * A PLI or FIR before the viewer's connection is up or within this long after is a joining viewer's: it has nothing
 * on screen until a keyframe comes (its first one lost on a lossy link, or not decodable), so it gets the joining
 * window (JOIN_KEYFRAME_MIN_INTERVAL_MS) rather than the limiter's, which kept a first picture up to 500 ms more.
 */
export const JOINING_PLI_WINDOW_MS = 1000;

export interface MediaBinding {
  mid: string;
  kind: MediaKind;
  /** Robot source sent on this m-line (a camera id, or `mic`), or null. */
  sourceId: string | null;
  /** True when the app sends media on this m-line that the robot plays. */
  receiving: boolean;
}

export interface SendStats {
  mid: string;
  sourceId: string;
  kind: MediaKind;
  packets: number;
  bytes: number;
  frames: number;
  /** Over the interval since the previous stats() call. */
  bitrateKbps: number;
  framesPerSecond: number;
  estimateKbps: number | null;
  /** Which encoding of the camera this viewer gets (video with a low layer), else null. */
  layer: Layer | null;
  layerSwitches: number;
}

export interface ViewerStats {
  id: string;
  state: PeerConnectionState;
  videoCodec: VideoCodecName;
  send: SendStats[];
  sinks: SinkSnapshot[];
  transport: TransportStats;
}

interface SendLink {
  mid: string;
  sourceId: string;
  kind: MediaKind;
  pipeline: SourcePipeline;
  /** Video: the layer switcher that feeds the track; null for audio. */
  forwarder: LayerForwarder | null;
  release: () => void;
  estimator: ViewerBitrateEstimator | null;
  shared: LayeredBitrate | null;
  counters: { packets: number; bytes: number; frames: number };
  last: { at: number; bytes: number; frames: number };
}

export class ViewerSession {
  private readonly links: SendLink[] = [];
  private readonly sinks: SinkPipeline[] = [];
  private readonly releases: (() => void)[] = [];
  private closed = false;
  private closeListeners: (() => void)[] = [];
  /** Set once the app sends transport-wide feedback: the send-side estimate then drives the encoders. */
  private transportKbps: number | null = null;
  private estimateLoggedAt = -Infinity;

  constructor(
    readonly id: string,
    readonly videoCodec: VideoCodecName,
    private readonly session: PeerSession,
    private readonly log: Logger,
    readonly bindings: MediaBinding[],
    public answerSdp: string,
    /** How long a 'failed' viewer waits for an ICE restart before it closes (0: at once). */
    failedGraceMs = 0,
  ) {
    session.onTargetBitrate((kbps, limited, detail) => {
      this.onTransportEstimate(kbps, limited);
      // Once a second at debug: what a lab run needs to tell why the rate moved; every feedback at trace (what the
      // first 500 ms of a bandwidth drop needs: in-flight bytes, delivery rate and bytes sent at each step).
      if (this.log.isLevelEnabled('trace')) {
        this.log.trace({ viewer: id, limited, ...detail() }, 'bandwidth estimate');
        return;
      }
      const now = performance.now();
      if (now - this.estimateLoggedAt >= 1000 && this.log.isLevelEnabled('debug')) {
        this.estimateLoggedAt = now;
        this.log.debug({ viewer: id, limited, ...detail() }, 'bandwidth estimate');
      }
    });
    session.onConnectionState((state) => {
      log.info({ viewer: id, state }, 'viewer connection state');
      if (state === 'connected') this.connectedAt ??= performance.now();
      if (state === 'closed' || (state === 'failed' && failedGraceMs === 0)) {
        void this.close();
      } else if (state === 'failed') {
        this.failedTimer ??= setTimeout(() => {
          if (this.session.connectionState === 'failed') void this.close();
          this.failedTimer = null;
        }, failedGraceMs);
      } else if (this.failedTimer && state !== 'disconnected') {
        clearTimeout(this.failedTimer);
        this.failedTimer = null;
      }
    });
  }

  private failedTimer: NodeJS.Timeout | null = null;
  /** When the connection first came up (null until then). */
  private connectedAt: number | null = null;

  /** The current local description: after gathering completes it lists every local candidate (WHEP answers). */
  get localSdp(): string {
    return this.session.localDescription() ?? this.answerSdp;
  }

  get connectionState(): PeerConnectionState {
    return this.session.connectionState;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The app closed its end of the connection (rather than its path dying or the robot ending it). */
  get closedByApp(): boolean {
    return this.session.closedByPeer;
  }

  /** @internal wiring by StreamerCore: robot media out. `low` is the camera's low layer, if it has one. */
  attachSend(
    sourceId: string,
    track: SendTrack,
    pipeline: SourcePipeline,
    bitrate: {
      shared: LayeredBitrate;
      bounds: BitrateBounds;
      startKbps: number;
      low: SourcePipeline | null;
    } | null,
  ): void {
    let forwarder: LayerForwarder | null = null;
    let counters = { packets: 0, bytes: 0, frames: 0 };
    let release: () => void;
    if (pipeline.spec.kind === 'video') {
      // Joined before the forwarder subscribes: a viewer that starts on the low layer starts from its keyframe.
      const start = bitrate
        ? bitrate.shared.join(this.id, (layer) => {
            this.log.info({ viewer: this.id, source: sourceId, layer }, 'viewer layer');
            forwarder?.switchTo(layer);
          })
        : 'full';
      const f = new LayerForwarder(
        { full: pipeline, low: bitrate?.low ?? null },
        pipeline.spec.codec as VideoCodecName,
        (packet, at) => track.write(packet, at),
        start,
      );
      forwarder = f;
      counters = f.counters;
      release = () => f.release();
    } else {
      const c = counters;
      release = pipeline.subscribe((packet) => {
        c.packets++;
        c.bytes += packet.length;
        track.write(packet);
      });
    }
    const link: SendLink = {
      mid: track.mid,
      sourceId,
      kind: pipeline.spec.kind,
      pipeline,
      forwarder,
      release,
      estimator: bitrate ? new ViewerBitrateEstimator(bitrate.bounds, bitrate.startKbps) : null,
      shared: bitrate?.shared ?? null,
      counters,
      last: { at: performance.now(), bytes: 0, frames: 0 },
    };
    const requestKeyframe = (reason: KeyframeReason | 'joining'): void => {
      // The app's keyframe request goes to the encoding it is watching.
      const joining =
        reason === 'connected' ||
        reason === 'ice-connected' ||
        reason === 'joining' ||
        this.connectedAt === null ||
        performance.now() - this.connectedAt < JOINING_PLI_WINDOW_MS;
      const outcome = (link.forwarder?.pipeline ?? pipeline).requestKeyframe(joining);
      this.log.debug({ viewer: this.id, mid: track.mid, reason, joining, outcome }, 'keyframe request');
    };
    track.onKeyframeRequest(requestKeyframe);
    // A new viewer's keyframe is encoded while ICE and DTLS complete; the send track holds it until they have.
    // Usually asked for already with the offer (StreamerCore.openViewer): then this finds it in the encoder
    // ('pending') or held, fresh enough, by the track (replayed from the pipeline).
    if (
      pipeline.spec.kind === 'video' &&
      this.session.connectionState !== 'connected' &&
      track.wantsFreshKeyframe()
    )
      requestKeyframe('joining');
    if (link.estimator && link.shared) {
      const { estimator, shared } = link;
      // The fallback for apps that do not send transport-wide feedback (REMB and receiver-report loss). It cannot
      // tell a limited link from a ramping one, so it never moves the viewer to the low layer.
      track.onLossReport((fraction) => {
        const kbps = estimator.onLossReport(fraction);
        if (this.transportKbps === null) shared.update(this.id, kbps, false);
      });
      track.onRemb((bps) => {
        const kbps = estimator.onRemb(bps);
        if (this.transportKbps === null) shared.update(this.id, kbps, false);
      });
    }
    this.links.push(link);
  }

  /** The transport's estimate, split evenly over this viewer's adaptive video encoders after audio and overhead. */
  private onTransportEstimate(kbps: number, limited: boolean): void {
    this.transportKbps = kbps;
    const each = this.videoShareKbps();
    if (each === null) return;
    for (const l of this.links) l.shared?.update(this.id, each, limited);
  }

  /** @internal wiring by StreamerCore: app media in (closed with the viewer; at once when it is closed). */
  attachSink(sink: SinkPipeline): void {
    if (this.closed) sink.close();
    else this.sinks.push(sink);
  }

  /** @internal wiring by StreamerCore: what app media holds (threads), released when the viewer closes. */
  holdUntilClosed(release: () => void): void {
    if (this.closed) release();
    else this.releases.push(release);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  addRemoteCandidate(candidate: IceCandidateInit | null): Promise<void> {
    return this.session.addRemoteCandidate(candidate);
  }

  /** Local candidates, including those gathered while the answer was made. null marks the end of gathering. */
  onLocalCandidate(listener: (candidate: IceCandidateInit | null) => void): void {
    this.session.onLocalCandidate(listener);
  }

  onConnectionState(listener: (state: PeerConnectionState) => void): void {
    this.session.onConnectionState(listener);
  }

  /**
   * ICE restart, app-initiated like the first offer: the app sends an offer with new ICE credentials (and the
   * same m-lines), the robot answers. Media bindings are kept.
   */
  /** The robot's addresses changed: let the app see the new path at once. */
  localAddressesChanged(): void {
    this.session.localAddressesChanged();
  }

  async restartIce(offerSdp: string): Promise<string> {
    if (this.closed) throw new Error(`viewer ${this.id} is closed`);
    await this.session.applyOffer(offerSdp);
    this.answerSdp = await this.session.createAnswer();
    return this.answerSdp;
  }

  async stats(): Promise<ViewerStats> {
    const transport = await this.session.getStats();
    const now = performance.now();
    const send = this.links.map((l): SendStats => {
      const seconds = Math.max(0.001, (now - l.last.at) / 1000);
      const s: SendStats = {
        mid: l.mid,
        sourceId: l.sourceId,
        kind: l.kind,
        ...l.counters,
        bitrateKbps: ((l.counters.bytes - l.last.bytes) * 8) / 1000 / seconds,
        framesPerSecond: l.kind === 'video' ? (l.counters.frames - l.last.frames) / seconds : 0,
        estimateKbps: l.estimator ? (this.videoShareKbps() ?? l.estimator.estimateKbps) : null,
        layer: l.forwarder && l.shared ? l.forwarder.layer : null,
        layerSwitches: l.forwarder?.counters.switches ?? 0,
      };
      l.last = { at: now, bytes: l.counters.bytes, frames: l.counters.frames };
      return s;
    });
    return {
      id: this.id,
      state: this.session.connectionState,
      videoCodec: this.videoCodec,
      send,
      sinks: this.sinks.map((s) => s.snapshot()),
      transport,
    };
  }

  private videoShareKbps(): number | null {
    if (this.transportKbps === null) return null;
    const video = this.links.filter((l) => l.shared !== null).length;
    const audio = this.links.some((l) => l.kind === 'audio') ? AUDIO_KBPS : 0;
    return video === 0 ? null : Math.max(0, this.transportKbps * VIDEO_SHARE - audio) / video;
  }

  sinkSnapshots(): SinkSnapshot[] {
    return this.sinks.map((s) => s.snapshot());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.failedTimer) clearTimeout(this.failedTimer);
    for (const l of this.links) {
      l.release();
      l.shared?.remove(this.id);
    }
    for (const s of this.sinks) s.close();
    for (const r of this.releases) r();
    await this.session.close();
    this.log.info({ viewer: this.id }, 'viewer closed');
    for (const l of this.closeListeners) l();
  }
}
