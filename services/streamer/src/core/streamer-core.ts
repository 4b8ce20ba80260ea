// The streamer's media core, the one thing a signaling layer (WebSocket, WHEP, direct LAN) talks to.
// The app offers and the robot answers: `openViewer(offerSdp)` returns the answer plus a ViewerSession for
// trickled candidates, ICE restarts, stats and close. No WebSocket, no protocol messages here.
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { IceServerConfig, StreamerConfig, VideoCodecName } from '../config.js';
import { LayeredBitrate } from '../media/layered-bitrate.js';
import { wantsFreshKeyframe } from '../media/join-buffer.js';
import { detectEncoders, type EncoderDetection } from '../media/encoders.js';
import { WARM_UP_FRAMES, warmUpEncoders } from '../media/encode-warm-up.js';
import { SinkPipeline, preloadDecoders, type DecodedCodec, type SinkSnapshot } from '../media/sinks.js';
import { SourceHub } from '../media/source-hub.js';
import type { FloorSnapshot } from '../media/speaker-floor.js';
import type { VoiceActivity, VoiceActivitySnapshot } from '../media/voice-activity.js';
import type { SourcePipeline, SourcePipelineSnapshot } from '../media/source-pipeline.js';
import type {
  IceCandidateInit,
  OfferedMedia,
  PeerSessionOptions,
  PeerSession,
  PeerSessionFactory,
  RemoteTrack,
} from '../transport/peer-session.js';
import { createWeriftPeerSession, parseOfferedMedia } from '../transport/werift/werift-peer-session.js';
import { warmUpTransport } from '../transport/werift/warm-up.js';
import { IceServerProbe } from '@robostream/protocol/ice-server-probe';
import { THREADPOOL_RESERVE, ThreadBudget, threadPoolSize } from './thread-budget.js';
import { ViewerSession, AUDIO_KBPS, type MediaBinding, type ViewerStats } from './viewer-session.js';

/** A loopback session connects in well under a second even on a loaded robot; past this something is wrong. */
const TRANSPORT_WARM_UP_TIMEOUT_MS = 3000;
/** Per chain: a hardware encoder that cannot start must not hold the robot's start-up for long. */
const ENCODER_WARM_UP_TIMEOUT_MS = 2000;

export interface ViewerOptions {
  /** Session id (e.g. the signaling session id); a random UUID when absent. */
  id?: string;
  /** ICE servers for this session, e.g. TURN credentials minted per session; the configured ones when absent. */
  iceServers?: IceServerConfig[];
  iceTransportPolicy?: 'all' | 'relay';
  /** Robot cameras to put on the app's receiving video m-lines, in m-line order; every configured camera by default. */
  videoSources?: string[];
  /** Local ICE candidates as they are gathered (null ends them), including those gathered before the answer is returned. */
  onIceCandidate?: (candidate: IceCandidateInit | null) => void;
  /**
   * The app takes no trickled candidates (WHEP): wait for every local candidate before answering. By default only
   * a caller without onIceCandidate gets a complete answer; with it, ICE servers' candidates follow the answer.
   */
  completeAnswer?: boolean;
  /** How long a 'failed' viewer waits for an ICE restart before closing; 0 (default) closes it at once. */
  failedGraceMs?: number;
  /**
   * Whether the app may send media the robot plays (its token's `talk` grant). False: the app's sending m-lines
   * are answered as robot-sends-only (or declined), so no app track is ever received or decoded. Callers that
   * serve apps (the signaling endpoint) always set it; the default (true) is for the robot's own tools.
   */
  appMedia?: boolean;
}

export interface CoreSnapshot {
  encoders: { h264: string; vp8: string | null; usableH264: string[] };
  pipelines: SourcePipelineSnapshot[];
  /** Source pipelines currently running, i.e. capture+encode processes alive. */
  runningPipelines: number;
  /** Running video encoders (the figure "two viewers share one encoder" is checked against). */
  runningVideoEncoders: number;
  viewers: { id: string; state: string; videoCodec: VideoCodecName; bindings: MediaBinding[] }[];
  sinks: SinkSnapshot[];
  voice: VoiceActivitySnapshot & { floor: FloorSnapshot };
  threadPool: { size: number; inUse: number };
}

export class NoMatchingCodecError extends Error {
  constructor(offered: string[]) {
    super(
      `the offer has no video codec the robot can send (offered: ${offered.join(', ') || 'none'}; robot: h264, vp8)`,
    );
    this.name = 'NoMatchingCodecError';
  }
}

export interface StreamerCoreDeps {
  log?: Logger;
  peerSessionFactory?: PeerSessionFactory;
  /** Encoder detection result, to skip probing (tests, or a caller that already detected). */
  encoders?: EncoderDetection;
}

export class StreamerCore {
  private readonly viewerMap = new Map<string, ViewerSession>();
  private readonly sharedBitrates = new Map<string, LayeredBitrate>();
  private closed = false;
  private readonly iceProbe: IceServerProbe;

  private constructor(
    readonly config: StreamerConfig,
    private readonly encoders: EncoderDetection,
    private readonly hub: SourceHub,
    private readonly threads: ThreadBudget,
    private readonly log: Logger,
    private readonly createSession: PeerSessionFactory,
  ) {
    this.iceProbe = new IceServerProbe({ log });
    this.iceProbe.warm(config.iceServers);
  }

  /**
   * One loopback session through the transport (transport/werift/warm-up.ts), so the first viewer after start-up
   * is answered as fast as the next ones. Never throws: a failed warm-up only leaves the first session slower.
   */
  async warmUpTransport(): Promise<void> {
    try {
      const ms = await warmUpTransport(this.createSession, TRANSPORT_WARM_UP_TIMEOUT_MS);
      this.log.info({ ms: Math.round(ms) }, 'transport warmed up');
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'transport warm-up failed: the first session may take a few hundred ms longer',
      );
    }
  }

  /**
   * Runs each camera's capture-to-RTP chain, and the microphone's, once on synthetic input (media/encode-warm-up.ts),
   * so the first viewer's pipelines start as fast as later ones. Never throws: a failed warm-up only leaves that
   * viewer slower.
   */
  async warmUpEncoders(): Promise<void> {
    try {
      const chains = this.hub.warmUpDescriptions(WARM_UP_FRAMES);
      if (chains.length === 0) return;
      const { ms, warmed } = await warmUpEncoders(chains, this.log, ENCODER_WARM_UP_TIMEOUT_MS);
      this.log.info({ chains: chains.length, warmed, ms: Math.round(ms) }, 'encoders warmed up');
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'encoder warm-up failed: the first viewer starts its camera and microphone pipelines cold',
      );
    }
  }

  /** Loads the decoders of the app media this robot plays (its audio, its camera), so the first session does not. */
  preloadDecoders(): void {
    const codecs: DecodedCodec[] = [
      ...(this.sinkEnabled('audio') ? (['opus'] as const) : []),
      ...(this.sinkEnabled('video') ? (['h264', 'vp8'] as const) : []),
    ];
    if (codecs.length === 0) return;
    try {
      const ms = preloadDecoders(codecs, this.log);
      this.log.info({ codecs, ms: Math.round(ms) }, 'decoders loaded');
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message },
        'decoder preload failed: the first session builds its sinks cold',
      );
    }
  }

  /** Probes STUN/TURN servers ahead of the first session that will use them (e.g. those signaling hands out). */
  warmIceServers(servers: IceServerConfig[]): void {
    this.iceProbe.warm(servers);
  }

  /**
   * Detects encoders and checks the libuv pool is large enough for every source pipeline that could run.
   * Throws ThreadPoolTooSmallError / EncoderUnavailableError with a message naming the fix.
   */
  static async start(config: StreamerConfig, deps: StreamerCoreDeps = {}): Promise<StreamerCore> {
    const log = deps.log ?? pino({ name: 'streamer' });
    const threads = new ThreadBudget(threadPoolSize());
    const encoders = deps.encoders ?? (await detectEncoders(config.encoder));
    const codecs = encoders.vp8 ? 2 : 1;
    const audio = config.audioSource.kind === 'none' ? 0 : 1;
    // A camera's low layer is a pipeline of its own (its own encoder and appsink), per codec.
    const layers = config.lowLayerEnabled ? 2 : 1;
    // Each source pipeline holds two pool threads while running: its appsink pull and its bus poll.
    threads.reserve(
      2 * (config.videoSources.length * codecs * layers + audio),
      'the configured source pipelines',
    );
    log.info(
      { h264: encoders.h264.element, vp8: encoders.vp8?.element ?? null, threadPool: threads.size },
      'streamer core started',
    );
    const hub = new SourceHub(config, encoders, log);
    return new StreamerCore(
      config,
      encoders,
      hub,
      threads,
      log,
      deps.peerSessionFactory ?? createWeriftPeerSession,
    );
  }

  /** Answers the app's offer. The returned session's answerSdp goes back to the app. */
  async openViewer(offerSdp: string, options: ViewerOptions = {}): Promise<ViewerSession> {
    if (this.closed) throw new Error('streamer core is closed');
    const id = options.id ?? randomUUID();
    if (this.viewerMap.has(id)) throw new Error(`viewer ${id} already exists`);
    const offeredMedia = parseOfferedMedia(offerSdp);
    const videoCodec = this.chooseVideoCodec(offeredMedia);
    // Where an answer's time goes (the 'viewer opened' line): ICE server probe, offer applied, answer with gathering.
    const t0 = performance.now();
    const ms: { iceServers: number; offer: number; answer: number } = { iceServers: 0, offer: 0, answer: 0 };
    // Only servers that answer: werift waits out every unreachable one before its first connectivity check.
    const iceServers = await this.iceProbe.usable(options.iceServers ?? this.config.iceServers);
    ms.iceServers = Math.round(performance.now() - t0);
    const session = this.createSession(id, {
      iceServers,
      iceTransportPolicy: options.iceTransportPolicy ?? 'all',
      icePortRange: this.config.icePortRange,
      includeLoopback: this.config.iceIncludeLoopback,
      videoCodec,
      playoutDelayMaxMs: this.config.playoutDelayMaxMs < 0 ? null : this.config.playoutDelayMaxMs,
      bandwidth: this.transportBounds(offeredMedia, options.videoSources?.length),
      completeAnswer: options.completeAnswer ?? options.onIceCandidate === undefined,
    });
    if (options.onIceCandidate) session.onLocalCandidate(options.onIceCandidate);
    const bindings: MediaBinding[] = [];
    const sinkWork: (() => void)[] = [];
    // Playing the app's tracks (threads reserved, the voice pipeline kept running; the sink itself waits for the
    // first packet) waits until the answer is on its way: werift delivers the tracks an offer announces at once,
    // before the answer is made.
    const afterAnswer: (() => void)[] = [];
    let answered = false;
    const whenAnswered = (build: () => void): void => {
      if (answered) build();
      else afterAnswer.push(build);
    };
    let viewer: ViewerSession | null = null;
    try {
      const cameras = camerasByMid(offeredMedia, options.videoSources ?? this.hub.videoSourceIds);
      this.askJoiningKeyframes(id, [...cameras.values()], videoCodec);
      const offered = await session.applyOffer(offerSdp);
      ms.offer = Math.round(performance.now() - t0);
      const sends: {
        mid: string;
        sourceId: string;
        pipelineFor: () => ReturnType<SourceHub['video']> | null;
      }[] = [];
      for (const m of offered) {
        const appReceives = m.direction === 'recvonly' || m.direction === 'sendrecv';
        const appSends = m.direction === 'sendonly' || m.direction === 'sendrecv';
        let sourceId: string | null = null;
        if (appReceives && m.kind === 'video') sourceId = cameras.get(m.mid) ?? null;
        if (appReceives && m.kind === 'audio' && this.hub.hasAudio) sourceId = 'mic';
        const receiving = appSends && this.sinkEnabled(m.kind) && (options.appMedia ?? true);
        if (!sourceId && !receiving) {
          session.decline(m.mid);
        } else {
          if (sourceId) {
            const sid = sourceId;
            sends.push({
              mid: m.mid,
              sourceId: sid,
              pipelineFor: () => (m.kind === 'video' ? this.hub.video(sid, videoCodec) : this.hub.audio()),
            });
          }
          if (receiving)
            sinkWork.push(() => this.receiveInto(viewer as ViewerSession, session, m, whenAnswered));
        }
        bindings.push({ mid: m.mid, kind: m.kind, sourceId, receiving });
      }
      // send() before createAnswer so the answer carries the directions and narrowed codecs.
      const tracks = sends.map((s) => {
        const kind = offered.find((m) => m.mid === s.mid)?.kind ?? 'video';
        return { ...s, track: session.send(s.mid, kind === 'audio' ? 'opus' : videoCodec) };
      });
      viewer = new ViewerSession(id, videoCodec, session, this.log, bindings, '', options.failedGraceMs ?? 0);
      for (const work of sinkWork) work();
      viewer.answerSdp = await session.createAnswer();
      ms.answer = Math.round(performance.now() - t0);
      // After this turn of the event loop: the caller sends the answer first.
      setImmediate(() => {
        answered = true;
        for (const build of afterAnswer.splice(0)) build();
      });
      // Subscribing starts (or keeps) the shared pipelines warming while ICE and DTLS complete.
      for (const t of tracks) {
        const pipeline = t.pipelineFor();
        if (!pipeline) continue;
        viewer.attachSend(
          t.sourceId,
          t.track,
          pipeline,
          pipeline.spec.bitrate ? this.bitrateFor(pipeline) : null,
        );
      }
    } catch (err) {
      if (viewer) await viewer.close();
      else await session.close();
      throw err;
    }
    const v = viewer;
    this.viewerMap.set(id, v);
    v.onClose(() => this.viewerMap.delete(id));
    this.log.info(
      { viewer: id, videoCodec, bindings, appMedia: options.appMedia ?? true, ms },
      'viewer opened',
    );
    return v;
  }

  viewer(id: string): ViewerSession | undefined {
    return this.viewerMap.get(id);
  }

  /**
   * How many viewers at once the pool has room for with everything they may send played on the robot (their
   * microphone, and their camera on a display): past that, a viewer's media is refused at run time.
   */
  viewersWithAppMedia(): number {
    const perViewer = this.sinkThreads('audio') + this.sinkThreads('video');
    const free = this.threads.size - this.threads.inUse - THREADPOOL_RESERVE;
    return perViewer === 0 ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(free / perViewer));
  }

  get threadPool(): { size: number; inUse: number } {
    return { size: this.threads.size, inUse: this.threads.inUse };
  }

  /** Pool threads the sink of one track an app sends holds (audio into the voice pipeline when it has the speaker). */
  private sinkThreads(kind: 'audio' | 'video'): number {
    const toVoice = kind === 'audio' && this.hub.speakerInVoicePipeline;
    return SinkPipeline.threadsNeeded(kind, this.config.audioSink, this.config.videoSink, toVoice);
  }

  viewers(): ViewerSession[] {
    return [...this.viewerMap.values()];
  }

  /** Someone speaking near the robot, from the voice processor (telemetry). */
  get voiceActivity(): VoiceActivity {
    return this.hub.voiceActivity;
  }

  /** The source pipelines made so far, running or lingering (diagnostics and the latency probe). */
  sourcePipelines(): SourcePipeline[] {
    return this.hub.all();
  }

  /** Every camera's shared H.264 encoder and the audio encoder, for the recorder: no second capture. */
  recordingSources(): { cameras: { id: string; source: SourcePipeline }[]; audio: SourcePipeline | null } {
    return {
      cameras: this.hub.videoSourceIds.map((id) => ({ id, source: this.hub.video(id, 'h264') })),
      audio: this.hub.audio(),
    };
  }

  async viewerStats(): Promise<ViewerStats[]> {
    return Promise.all(this.viewers().map((v) => v.stats()));
  }

  introspect(): CoreSnapshot {
    const pipelines = this.hub.snapshot();
    return {
      encoders: {
        h264: this.encoders.h264.element,
        vp8: this.encoders.vp8?.element ?? null,
        usableH264: this.encoders.usableH264,
      },
      pipelines,
      runningPipelines: pipelines.filter((p) => p.running).length,
      runningVideoEncoders: pipelines.filter((p) => p.running && p.kind === 'video').length,
      viewers: this.viewers().map((v) => ({
        id: v.id,
        state: v.connectionState,
        videoCodec: v.videoCodec,
        bindings: v.bindings,
      })),
      sinks: this.viewers().flatMap((v) => v.sinkSnapshots()),
      voice: { ...this.hub.voiceActivity.snapshot(), floor: this.hub.speakerFloor.snapshot() },
      threadPool: this.threadPool,
    };
  }

  /** Closes every viewer and stops every pipeline; the process can then exit. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.viewers().map((v) => v.close()));
    this.hub.close();
  }

  private chooseVideoCodec(offered: OfferedMedia[]): VideoCodecName {
    const offeredCodecs = offered.filter((m) => m.kind === 'video').flatMap((m) => m.codecs);
    if (offeredCodecs.length === 0) return this.config.videoCodec;
    const usable = (c: string): c is VideoCodecName =>
      (c === 'h264' || c === 'vp8') && this.hub.codecAvailable(c);
    const preferred = this.config.videoCodec;
    if (!this.config.preferAppCodecOrder && offeredCodecs.includes(preferred) && usable(preferred))
      return preferred;
    const first = offeredCodecs.find(usable);
    if (!first) throw new NoMatchingCodecError([...new Set(offeredCodecs)]);
    return first;
  }

  private sinkEnabled(kind: 'audio' | 'video'): boolean {
    return (kind === 'audio' ? this.config.audioSink : this.config.videoSink) !== 'none';
  }

  private receiveInto(
    viewer: ViewerSession,
    session: PeerSession,
    m: OfferedMedia,
    whenAnswered: (build: () => void) => void,
  ): void {
    session.receive(m.mid, (track) => whenAnswered(() => this.playInto(viewer, m, track)));
  }

  /**
   * Plays one track the app sends (its microphone, its camera). Its threads are reserved now; the sink pipeline is
   * built on the track's first packet: the app sends nothing while its microphone or camera is off (most sessions
   * never talk), and building and stopping a pipeline cost the robot's main thread 3-6 and up to 16 ms.
   */
  private playInto(viewer: ViewerSession, m: OfferedMedia, track: RemoteTrack): void {
    if (viewer.isClosed) return;
    const toVoice = track.kind === 'audio' && this.hub.speakerInVoicePipeline;
    let release: () => void;
    try {
      release = this.threads.reserve(
        this.sinkThreads(track.kind),
        `the ${track.kind} sink of viewer ${viewer.id}`,
      );
    } catch (err) {
      this.log.error({ viewer: viewer.id, err: (err as Error).message }, 'cannot play app media');
      return;
    }
    const talker = `${viewer.id}/${m.mid}`;
    if (toVoice) {
      // The speaker plays in the voice pipeline: it runs while someone may talk, listened to or not.
      const releaseThreads = release;
      const keepVoice = this.hub.audio()?.subscribe(() => undefined);
      release = () => {
        releaseThreads();
        keepVoice?.();
        this.hub.speakerFloor.release(talker);
      };
    }
    let released = false;
    const releaseOnce = (): void => {
      if (!released) release();
      released = true;
    };
    viewer.holdUntilClosed(releaseOnce);
    let sink: SinkPipeline | null = null;
    let failed = false;
    track.onRtp((packet) => {
      if (!sink) {
        if (failed || viewer.isClosed) return;
        try {
          sink = new SinkPipeline(
            `sink/${talker}`,
            track.kind,
            track.codec,
            { audio: this.config.audioSink, video: this.config.videoSink },
            this.log,
            toVoice ? (pcm) => this.hub.speakerFloor.push(talker, pcm) : null,
          );
        } catch (err) {
          failed = true;
          releaseOnce();
          this.log.error(
            { viewer: viewer.id, mid: m.mid, err: (err as Error).message },
            'cannot build sink pipeline',
          );
          return;
        }
        viewer.attachSink(sink);
        // Its first packets are likely not a keyframe: the decoder starts on the one asked for here.
        if (track.kind === 'video') track.requestKeyframe();
      }
      sink.push(packet);
    });
  }

  /**
   * The send-side estimate covers everything on the transport: the video of every camera this app will get (at
   * the configured per-encoder bounds) plus the audio.
   */
  private transportBounds(
    offered: OfferedMedia[],
    requestedCameras: number | undefined,
  ): PeerSessionOptions['bandwidth'] {
    const receives = (m: OfferedMedia): boolean => m.direction === 'recvonly' || m.direction === 'sendrecv';
    const cameras = Math.max(
      1,
      Math.min(
        offered.filter((m) => m.kind === 'video' && receives(m)).length,
        requestedCameras ?? this.hub.videoSourceIds.length,
      ),
    );
    const audio =
      this.hub.hasAudio && offered.some((m) => m.kind === 'audio' && receives(m)) ? AUDIO_KBPS : 0;
    return {
      minKbps: cameras * this.config.bitrateMinKbps + audio,
      maxKbps: cameras * this.config.bitrateMaxKbps + audio,
      startKbps: cameras * this.config.bitrateStartKbps + audio,
    };
  }

  /**
   * A joining viewer's keyframes, asked for as soon as its offer is read: the encoder (8-138 ms for a forced
   * keyframe in the compose stack, a frame interval of it waiting for the next capture) then works while the offer
   * is applied and the answer made, not only while ICE and DTLS complete. Each camera's pipeline keeps the run from
   * its latest keyframe, so a keyframe out before the viewer subscribes still reaches it. Only running pipelines (a
   * stopped one starts on a keyframe), on the layer the viewer will start on, and not when the pipeline holds a
   * keyframe fresh enough already.
   */
  private askJoiningKeyframes(viewer: string, sourceIds: string[], codec: VideoCodecName): void {
    for (const sourceId of sourceIds) {
      const full = this.hub.video(sourceId, codec);
      if (!full.running) continue;
      const low =
        this.sharedBitrates.get(full.spec.key)?.startLayer() === 'low'
          ? this.hub.lowVideo(sourceId, codec)
          : null;
      const pipeline = low ?? full;
      if (!wantsFreshKeyframe(pipeline.recentKeyframeAgeMs())) continue;
      const outcome = pipeline.requestKeyframe(true);
      this.log.debug({ viewer, pipeline: pipeline.spec.key, reason: 'offer', outcome }, 'keyframe request');
    }
  }

  /** The bitrate (and layer) control of a camera's encodings, shared by every viewer of it in this codec. */
  private bitrateFor(pipeline: SourcePipeline): {
    shared: LayeredBitrate;
    bounds: { minKbps: number; maxKbps: number };
    startKbps: number;
    low: SourcePipeline | null;
  } {
    const bounds = { minKbps: this.config.bitrateMinKbps, maxKbps: this.config.bitrateMaxKbps };
    const low = this.hub.lowVideo(pipeline.spec.sourceId, pipeline.spec.codec as VideoCodecName);
    let shared = this.sharedBitrates.get(pipeline.spec.key);
    if (!shared) {
      const apply = (p: SourcePipeline) => (kbps: number) => {
        p.setBitrateKbps(kbps);
        this.log.info({ pipeline: p.spec.key, kbps }, 'encoder bitrate');
      };
      const lowBounds = {
        minKbps: Math.max(50, Math.round(this.config.bitrateMinKbps / 2)),
        maxKbps: this.config.lowLayerMaxKbps,
      };
      shared = new LayeredBitrate(
        bounds,
        this.config.bitrateStartKbps,
        apply(pipeline),
        low ? { bounds: lowBounds, apply: apply(low) } : null,
      );
      this.sharedBitrates.set(pipeline.spec.key, shared);
    }
    return { shared, bounds, startKbps: this.config.bitrateStartKbps, low };
  }
}

/** The camera each offered video m-line the app receives on gets: the cameras in order, one per m-line. */
function camerasByMid(offered: OfferedMedia[], cameras: readonly string[]): Map<string, string> {
  const byMid = new Map<string, string>();
  const left = [...cameras];
  for (const m of offered) {
    if (m.kind !== 'video' || (m.direction !== 'recvonly' && m.direction !== 'sendrecv')) continue;
    const sourceId = left.shift();
    if (sourceId === undefined) break;
    byMid.set(m.mid, sourceId);
  }
  return byMid;
}
