// The robot's recorder (docs/recording.md): the black box (always on, the last N seconds in a ring of files) and
// on-demand recordings, fed by the shared encoders' RTP (no second capture, no re-encode), the gateway's tap and
// the streamer's own session events, into MCAP files under one directory with bounded disk use.
// Nothing here may stop streaming: packet listeners never throw and never wait, a slow or full disk drops
// recorded messages (counted) and a failed file is retried later.
import type { Logger } from 'pino';
import type { TapRecord } from '@robostream/protocol/gateway';
import type { RecordingConfig } from './recording-config.js';
import { H264Depacketizer, rtpPayloadOffset, type AccessUnit } from './h264-depacketizer.js';
import { McapSegment, type ChannelSpec } from './mcap-segment.js';
import { RecordingStore, recordingName, type RecordingKind, type RecordingFile } from './recording-store.js';
import {
  audioChannel,
  gatewayChannel,
  sessionChannel,
  timeOf,
  videoChannel,
  type SessionEvent,
} from './channels.js';
import { GatewayTapClient } from './gateway-tap-client.js';

/** What the recorder needs of a shared source pipeline (SourcePipeline satisfies it). */
export interface RecordedSource {
  subscribe(listener: (packet: Buffer) => void): () => void;
  requestKeyframe(urgent?: boolean): unknown;
}

export interface RecorderFeeds {
  cameras: { id: string; source: RecordedSource }[];
  audio: RecordedSource | null;
}

export class RecorderStateError extends Error {
  constructor(
    readonly code: 'not_recording' | 'already_recording',
    message: string,
  ) {
    super(message);
    this.name = 'RecorderStateError';
  }
}

/** Epoch nanoseconds from the monotonic clock (one clock for media, gateway and session events). */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

const msToNs = (ms: number): bigint => BigInt(Math.round(ms * 1e6));
const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

/**
 * RTP timestamps to capture times. The mapping is anchored on the packet that arrived soonest after its capture
 * (the least delayed so far): a later one that would be stamped after its own arrival moves the anchor back.
 * Times never go backwards; a jump of a second (a pipeline restart) re-anchors.
 */
class CaptureClock {
  private anchor: { rtp: number; ns: bigint } | null = null;
  private last = 0n;
  constructor(private readonly rate: number) {}

  captureNs(rtp: number, arrivalNs: bigint): bigint {
    let t = arrivalNs;
    if (this.anchor) {
      const ticks = (rtp - this.anchor.rtp) >>> 0;
      const predicted = this.anchor.ns + (BigInt(ticks) * 1_000_000_000n) / BigInt(this.rate);
      const off = predicted - arrivalNs;
      if (off >= 1_000_000_000n || off <= -1_000_000_000n) this.anchor = { rtp, ns: arrivalNs };
      else if (off > 0n) this.anchor.ns -= off;
      else t = predicted;
    } else this.anchor = { rtp, ns: arrivalNs };
    if (t <= this.last) t = this.last + 1000n;
    this.last = t;
    return t;
  }
}

interface Track {
  id: string;
  channel: ChannelSpec;
  depacketizer: H264Depacketizer;
  clock: CaptureClock;
}

/** One recording (the black box, or one on-demand recording): a sequence of segment files. */
class Recording {
  segment: McapSegment | null = null;
  private n = 0;
  /** Cameras whose keyframe this segment has had (a file starts at a keyframe of each camera). */
  private started = new Set<string>();
  private rotateSince: number | null = null;
  private retryAt = 0;
  readonly files: string[] = [];
  messages = 0;
  dropped = 0;
  lastError: string | null = null;

  constructor(
    readonly kind: RecordingKind,
    readonly by: string,
    private readonly r: Recorder,
  ) {}

  /** A video access unit: written once the camera's keyframe opened this segment; rotates on a keyframe. */
  video(track: Track, unit: AccessUnit, captureNs: bigint, arrivalNs: bigint, first: boolean): void {
    if (unit.keyframe && first && this.rotateDue()) this.rotate();
    if (!this.ensureSegment()) return;
    if (!this.started.has(track.id)) {
      if (!(unit.keyframe && unit.hasParameterSets)) return;
      this.started.add(track.id);
    }
    const message = {
      timestamp: timeOf(captureNs),
      frame_id: track.id,
      data: unit.data.toString('base64'),
      format: 'h264',
    };
    this.write(track.channel, arrivalNs, captureNs, json(message));
  }

  other(channel: ChannelSpec, logNs: bigint, publishNs: bigint, data: Uint8Array): void {
    if (!this.ensureSegment()) return;
    this.write(channel, logNs, publishNs, data);
  }

  /** Called every second: asks for the keyframes a due rotation waits for, or rotates without video. */
  tick(): void {
    if (!this.segment || !this.rotateDue()) return;
    const cams = this.r.cameraCount;
    const waited = this.rotateSince === null ? 0 : Date.now() - this.rotateSince;
    if (cams === 0 || waited > 5_000) return this.rotate();
    if (this.rotateSince === null) {
      this.rotateSince = Date.now();
      this.r.requestKeyframes();
    }
  }

  async stop(): Promise<void> {
    const s = this.segment;
    this.segment = null;
    if (s) await this.close(s);
  }

  private rotateDue(): boolean {
    const s = this.segment;
    if (!s) return false;
    const c = this.r.config;
    return Date.now() - s.startedAt >= c.segmentSeconds * 1000 || s.bytes >= c.segmentBytes;
  }

  private rotate(): void {
    const old = this.segment;
    this.segment = null;
    this.rotateSince = null;
    if (old) void this.close(old);
    this.ensureSegment();
  }

  private ensureSegment(): boolean {
    if (this.segment && !this.segment.failed) return true;
    if (this.segment) return false;
    if (Date.now() < this.retryAt) return false;
    const startedAt = Date.now();
    const name = recordingName(this.kind, startedAt, ++this.n);
    const store = this.r.store;
    store.markActive(name, true);
    this.files.push(name);
    this.started = new Set();
    const segment: McapSegment = new McapSegment({
      path: store.pathOf(name),
      chunkBytes: this.r.config.chunkBytes,
      maxPendingBytes: this.r.config.maxPendingBytes,
      metadata: { robot: this.r.robotId, kind: this.kind, by: this.by, file: name },
      onError: (err) => this.failed(segment, err),
    });
    this.segment = segment;
    this.r.requestKeyframes();
    return true;
  }

  private failed(segment: McapSegment, err: Error): void {
    this.lastError = `${(err as NodeJS.ErrnoException).code ?? 'error'}: ${err.message}`;
    this.r.log.error(
      { recording: this.kind, file: segment.path, err: err.message },
      'recording write failed',
    );
    // Keep what was written; try a new file later, after making room when the disk is full.
    if (this.segment === segment) this.segment = null;
    const full = (err as NodeJS.ErrnoException).code === 'ENOSPC';
    if (full) this.r.diskFullEvents++;
    this.retryAt = Date.now() + (full ? 1_000 : 5_000);
    void this.close(segment).then(async () => {
      if (!full) return;
      const freed = await this.r.store.freeOldest();
      this.r.log.warn({ freed }, 'disk full: deleted the oldest recording');
    });
  }

  private async close(s: McapSegment): Promise<void> {
    this.messages += s.messages;
    this.dropped += s.dropped;
    await s.end();
    this.r.store.markActive(s.path.split('/').pop() ?? '', false);
    await this.r.prune();
  }

  private write(channel: ChannelSpec, logNs: bigint, publishNs: bigint, data: Uint8Array): void {
    this.segment?.add(channel, logNs, publishNs, data);
  }
}

export interface RecorderStatus {
  blackbox: { on: boolean; seconds: number };
  recording: { by: string; since: number; files: string[] } | null;
  gateway: { url: string | null; connected: boolean; records: number; lost: number };
  lastError: string | null;
  diskFullEvents: number;
}

export class Recorder {
  readonly store: RecordingStore;
  private readonly tracks = new Map<string, Track>();
  private releases: (() => void)[] = [];
  private blackbox: Recording | null = null;
  private onDemand: { rec: Recording; since: number } | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private tap: GatewayTapClient | null = null;
  private pruning: Promise<void> | null = null;
  private lastError: string | null = null;
  /** Writes refused for lack of space (each one freed the oldest file). */
  diskFullEvents = 0;

  constructor(
    readonly config: RecordingConfig & { dir: string },
    readonly robotId: string,
    private readonly feeds: RecorderFeeds,
    readonly log: Logger,
  ) {
    this.store = new RecordingStore(config.dir);
    for (const c of feeds.cameras) {
      const track: Track = {
        id: c.id,
        channel: videoChannel(c.id),
        clock: new CaptureClock(90_000),
        depacketizer: new H264Depacketizer((unit) => this.onAccessUnit(track, unit)),
      };
      this.tracks.set(c.id, track);
    }
  }

  get cameraCount(): number {
    return this.tracks.size;
  }

  /** Starts the black box (when configured) and the gateway tap. */
  async start(): Promise<void> {
    await this.store.init();
    await this.prune();
    if (this.config.gatewayTapUrl) {
      this.tap = new GatewayTapClient(
        this.config.gatewayTapUrl,
        {
          record: (r) => this.onTap(r),
          connected: () => this.session('gateway.connected', null),
          lost: (reason) => this.session('gateway.lost', null, undefined, reason),
        },
        this.log,
      );
      this.tap.start();
    }
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
    if (this.config.blackboxSeconds > 0) {
      this.blackbox = new Recording('blackbox', 'blackbox', this);
      this.begin(this.blackbox);
    }
  }

  /** Starts an on-demand recording; `by` is the asking app's subject. */
  startRecording(by: string): { files: string[] } {
    if (this.onDemand)
      throw new RecorderStateError(
        'already_recording',
        `recording since ${new Date(this.onDemand.since).toISOString()}`,
      );
    const rec = new Recording('rec', by, this);
    this.onDemand = { rec, since: Date.now() };
    this.begin(rec);
    return { files: rec.files };
  }

  async stopRecording(by: string): Promise<{ files: string[] }> {
    const current = this.onDemand;
    if (!current) throw new RecorderStateError('not_recording', 'no on-demand recording is running');
    // Written into the recording before it ends (and into the black box).
    this.session('recording.stop', by, 'rec');
    this.onDemand = null;
    await current.rec.stop();
    this.updateSubscriptions();
    return { files: current.rec.files };
  }

  status(): RecorderStatus {
    return {
      blackbox: { on: this.blackbox !== null, seconds: this.config.blackboxSeconds },
      recording: this.onDemand
        ? { by: this.onDemand.rec.by, since: this.onDemand.since, files: this.onDemand.rec.files }
        : null,
      gateway: {
        url: this.config.gatewayTapUrl,
        connected: this.tap?.connected ?? false,
        records: this.tap?.records ?? 0,
        lost: this.tap?.lostRecords ?? 0,
      },
      lastError: this.blackbox?.lastError ?? this.onDemand?.rec.lastError ?? this.lastError,
      diskFullEvents: this.diskFullEvents,
    };
  }

  list(): Promise<RecordingFile[]> {
    return this.store.list();
  }

  /** A viewer opened or closed (who watched, from when to when). */
  viewer(event: 'viewer.open' | 'viewer.close', app: string, viewerId: string): void {
    this.session(event, app, viewerId);
  }

  /** Ends every file cleanly (summary and index written); the process can then exit. */
  async close(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.session('recording.stop', null, 'shutdown');
    this.tap?.close();
    const all = [this.blackbox, this.onDemand?.rec].filter(
      (r): r is Recording => r !== null && r !== undefined,
    );
    this.blackbox = null;
    this.onDemand = null;
    this.updateSubscriptions();
    await Promise.all(all.map((r) => r.stop()));
  }

  requestKeyframes(): void {
    for (const c of this.feeds.cameras) c.source.requestKeyframe(true);
  }

  prune(): Promise<void> {
    // One at a time: rotations and errors ask often.
    this.pruning ??= this.store
      .prune({
        maxBytes: this.config.maxBytes,
        maxAgeMs: this.config.maxAgeSeconds * 1000,
        blackboxMs: this.config.blackboxSeconds * 1000,
      })
      .then(
        (r) => {
          if (r.deleted.length > 0)
            this.log.info({ deleted: r.deleted, bytes: r.bytes }, 'recordings pruned');
        },
        (err: Error) => {
          this.lastError = err.message;
        },
      )
      .finally(() => {
        this.pruning = null;
      });
    return this.pruning;
  }

  private begin(rec: Recording): void {
    this.updateSubscriptions();
    this.session('recording.start', rec.by, rec.kind);
  }

  private recordings(): Recording[] {
    const all: Recording[] = [];
    if (this.blackbox) all.push(this.blackbox);
    if (this.onDemand) all.push(this.onDemand.rec);
    return all;
  }

  /** Subscribed to the encoders while something records (a subscription keeps a camera's encoder running). */
  private updateSubscriptions(): void {
    const want = this.recordings().length > 0;
    if (want && this.releases.length === 0) {
      for (const c of this.feeds.cameras) {
        const track = this.tracks.get(c.id);
        if (track) this.releases.push(c.source.subscribe((p) => track.depacketizer.push(p)));
      }
      if (this.feeds.audio) this.releases.push(this.feeds.audio.subscribe((p) => this.onOpus(p)));
    } else if (!want && this.releases.length > 0) {
      for (const release of this.releases) release();
      this.releases = [];
    }
  }

  private onAccessUnit(track: Track, unit: AccessUnit): void {
    const arrival = nowNs();
    const capture = track.clock.captureNs(unit.rtpTimestamp, arrival);
    const first = this.feeds.cameras[0]?.id === track.id;
    for (const rec of this.recordings()) rec.video(track, unit, capture, arrival, first);
  }

  private readonly opusClock = new CaptureClock(48_000);

  private onOpus(packet: Buffer): void {
    const offset = rtpPayloadOffset(packet);
    if (offset < 0) return;
    const arrival = nowNs();
    const capture = this.opusClock.captureNs(packet.readUInt32BE(4), arrival);
    const data = json({
      timestamp: timeOf(capture),
      data: packet.subarray(offset).toString('base64'),
      format: 'opus',
    });
    for (const rec of this.recordings()) rec.other(audioChannel, arrival, capture, data);
  }

  private onTap(record: TapRecord): void {
    const channel = gatewayChannel(record);
    if (!channel) return;
    const at = msToNs(record.at);
    const data = json(record);
    for (const rec of this.recordings()) rec.other(channel, at, at, data);
    if (record.origin === 'gateway' && record.message.type === 'lock.state') {
      const holder = record.message.holder as { link: string; sub: string } | null;
      this.session('operator', holder?.sub ?? null, holder?.link, String(record.message.cause ?? ''));
    }
  }

  private session(event: SessionEvent['event'], who: string | null, ref?: string, detail?: string): void {
    const at = performance.timeOrigin + performance.now();
    const e: SessionEvent = { at, event, who, ...(ref ? { ref } : {}), ...(detail ? { detail } : {}) };
    const ns = msToNs(at);
    const data = json(e);
    for (const rec of this.recordings()) rec.other(sessionChannel, ns, ns, data);
  }

  private tick(): void {
    for (const rec of this.recordings()) rec.tick();
  }
}
