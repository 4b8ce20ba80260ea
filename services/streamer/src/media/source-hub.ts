// Owns the source pipelines: one per (source, codec), created on first use and kept for the life of the core,
// so every viewer of the same camera in the same codec shares one capture and one encoder.
import type { Logger } from 'pino';
import type { StreamerConfig, VideoCodecName, VideoSourceConfig } from '../config.js';
import {
  OPUS_ENCODE_FRAGMENT,
  videoPayloaderFragment,
  type EncoderDetection,
  type EncoderProfile,
} from './encoders.js';
import {
  SourcePipeline,
  RTP_APPSINK,
  type SourcePipelineOptions,
  type SourcePipelineSnapshot,
} from './source-pipeline.js';
import { videoGeometry, videoSourceFragment } from './sources.js';
import type { GstAppSrc } from './gst-native.js';
import { SpeakerFloor } from './speaker-floor.js';
import { VoiceActivity } from './voice-activity.js';
import {
  SPEAKER_APPSRC,
  dspActive,
  voiceActivityOf,
  voicePipelineDescription,
  voiceSettings,
} from './voice-pipeline.js';

// drop=true: a stalled Node loop loses packets (NACK/PLI recover) rather than growing memory without bound.
const APPSINK = `appsink name=${RTP_APPSINK} sync=false max-buffers=500 drop=true`;

export class UnknownSourceError extends Error {
  constructor(sourceId: string) {
    super(`unknown video source "${sourceId}"`);
    this.name = 'UnknownSourceError';
  }
}

const AUDIO_KEY = 'audio/mic/opus';

/** Process-wide: intervideo channels are global to the process, and tests run several hubs in one. */
let hubCount = 0;

export class SourceHub {
  private readonly pipelines = new Map<string, SourcePipeline>();
  private readonly channelPrefix = `rs${process.pid}-${++hubCount}`;
  /** webrtcdsp finds its probe by name among every probe of the process. */
  private readonly probeName = `rsecho_${process.pid}_${hubCount}`;
  readonly voiceActivity: VoiceActivity;
  readonly speakerFloor: SpeakerFloor;

  constructor(
    private readonly config: StreamerConfig,
    private readonly encoders: EncoderDetection,
    private readonly log: Logger,
  ) {
    const voice = voiceSettings(config);
    this.voiceActivity = new VoiceActivity(
      this.hasAudio && dspActive(voice) && voice.voiceActivity,
      this.hasAudio && voice.echoCancel,
    );
    this.speakerFloor = new SpeakerFloor(
      () => this.pipelines.get(AUDIO_KEY)?.element(SPEAKER_APPSRC) as GstAppSrc | undefined,
    );
  }

  /**
   * The operators' audio plays through the voice pipeline (with its echo probe) when the robot has a microphone
   * and a speaker; with no microphone it plays straight from each talker's sink pipeline.
   */
  get speakerInVoicePipeline(): boolean {
    return this.hasAudio && this.config.audioSink !== 'none';
  }

  get videoSourceIds(): string[] {
    return this.config.videoSources.map((s) => s.id);
  }

  get hasAudio(): boolean {
    return this.config.audioSource.kind !== 'none';
  }

  codecAvailable(codec: VideoCodecName): boolean {
    return codec === 'h264' || this.encoders.vp8 !== null;
  }

  video(sourceId: string, codec: VideoCodecName): SourcePipeline {
    const { source, profile } = this.videoSource(sourceId, codec);
    return this.videoPipeline(`video/${sourceId}/${codec}`, source, profile, {
      initialKbps: this.config.bitrateStartKbps,
      describe: (kbps) => this.videoDescription(source, profile, kbps),
      options: this.pipelineOptions(),
      // The full pipeline captures (and draws the overlay); its low layer gets those frames.
      ...(source.kind === 'test' && source.overlayFile ? { overlayFile: source.overlayFile } : {}),
    });
  }

  /**
   * The low layer of a camera (half width and height, its own encoder; see layered-bitrate.ts), fed with the
   * full pipeline's captured frames through an intervideo channel, so a real camera is opened once. It keeps the
   * full pipeline running while it runs (its frames come from there). Null when the low layer is off.
   */
  lowVideo(sourceId: string, codec: VideoCodecName): SourcePipeline | null {
    if (!this.config.lowLayerEnabled) return null;
    const full = this.video(sourceId, codec);
    const { source, profile } = this.videoSource(sourceId, codec);
    let keepFull: (() => void) | null = null;
    return this.videoPipeline(`video/${sourceId}/${codec}/low`, source, profile, {
      initialKbps: this.config.lowLayerMaxKbps,
      describe: (kbps) => {
        keepFull ??= full.subscribe(() => undefined);
        return this.lowDescription(source, profile, kbps);
      },
      options: {
        ...this.pipelineOptions(),
        onStop: () => {
          keepFull?.();
          keepFull = null;
        },
      },
    });
  }

  private videoSource(
    sourceId: string,
    codec: VideoCodecName,
  ): { source: VideoSourceConfig; profile: EncoderProfile } {
    const source = this.config.videoSources.find((s) => s.id === sourceId);
    if (!source) throw new UnknownSourceError(sourceId);
    const profile = codec === 'vp8' ? this.encoders.vp8 : this.encoders.h264;
    if (!profile) throw new Error(`no ${codec} encoder on this machine`);
    return { source, profile };
  }

  /** The pipeline under `key`, made on first use: one capture or encode shared by every viewer. */
  private videoPipeline(
    key: string,
    source: VideoSourceConfig,
    profile: EncoderProfile,
    o: {
      initialKbps: number;
      describe: (kbps: number) => string;
      options: SourcePipelineOptions;
      overlayFile?: string;
    },
  ): SourcePipeline {
    const existing = this.pipelines.get(key);
    if (existing) return existing;
    const pipeline = new SourcePipeline(
      {
        key,
        sourceId: source.id,
        kind: 'video',
        codec: profile.codec,
        encoder: profile.element,
        describe: (kbps) => o.describe(kbps ?? o.initialKbps),
        bitrate: profile.bitrate,
        initialBitrateKbps: o.initialKbps,
        ...(o.overlayFile ? { overlayFile: o.overlayFile } : {}),
      },
      o.options,
    );
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** The microphone's pipeline (voice-pipeline.ts), which also plays the operators' audio when there is a speaker. */
  audio(): SourcePipeline | null {
    const description = voicePipelineDescription(
      this.config,
      { probe: this.probeName, channel: `${this.channelPrefix}-speaker` },
      `${OPUS_ENCODE_FRAGMENT} ! ${APPSINK}`,
    );
    if (!description) return null;
    const key = AUDIO_KEY;
    const existing = this.pipelines.get(key);
    if (existing) return existing;
    const pipeline = new SourcePipeline(
      {
        key,
        sourceId: 'mic',
        kind: 'audio',
        codec: 'opus',
        encoder: 'opusenc',
        describe: () => description,
        bitrate: null,
        initialBitrateKbps: null,
      },
      {
        ...this.pipelineOptions(),
        onBusMessage: (msg) => {
          const speaking = voiceActivityOf(msg);
          if (speaking !== null) this.voiceActivity.update(speaking);
        },
        onStop: () => this.voiceActivity.reset(),
      },
    );
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  snapshot(): SourcePipelineSnapshot[] {
    return [...this.pipelines.values()].map((p) => p.snapshot());
  }

  all(): SourcePipeline[] {
    return [...this.pipelines.values()];
  }

  close(): void {
    for (const p of this.pipelines.values()) p.close();
  }

  private pipelineOptions() {
    return {
      lingerMs: this.config.lingerMs,
      keyframeMinIntervalMs: this.config.keyframeMinIntervalMs,
      log: this.log,
    };
  }

  /**
   * One pipeline per distinct camera chain and codec, as the cameras' pipelines will be built, fed with `frames`
   * synthetic frames instead of the capture (encode-warm-up.ts). No low-layer branch: its channel must only ever
   * carry the camera's frames. Then the microphone's chain, when there is a microphone.
   */
  warmUpDescriptions(frames: number): string[] {
    const profiles = [this.encoders.h264, ...(this.encoders.vp8 ? [this.encoders.vp8] : [])];
    const descriptions = this.config.videoSources.flatMap((source) =>
      profiles.map(
        (profile) =>
          `${videoSourceFragment(source, frames)} ! ${this.encodeFragment(source, profile, this.config.bitrateStartKbps)}`,
      ),
    );
    const audio = this.audioWarmUpDescription();
    return [...new Set(descriptions), ...(audio ? [audio] : [])];
  }

  /**
   * The microphone's pipeline as audio() builds it (the voice processor, the echo canceller's pairing, the speaker's
   * branch, Opus) with a test tone for the microphone and a fakesink for the speaker: no device is opened. Its
   * first start otherwise held the robot's event loop 20-63 ms in parse and play on the first viewer's answer
   * (the compose stack, after the decoders' preload), against 11 ms for a restart. Its own probe and channel names:
   * never the live pipeline's.
   */
  private audioWarmUpDescription(): string | null {
    if (this.config.audioSource.kind === 'none') return null;
    const live = voiceSettings(this.config);
    const config: StreamerConfig = {
      ...this.config,
      audioSource: { kind: 'test' },
      audioSink: live.speaker ? 'counting' : 'none',
      // Resolved for the real microphone ('auto' turns them off for a test tone).
      noiseSuppression: live.noiseSuppression ? 'on' : 'off',
      gainControl: live.gainControl ? 'on' : 'off',
    };
    return voicePipelineDescription(
      config,
      { probe: `${this.probeName}_warm`, channel: `${this.channelPrefix}-warm-speaker` },
      `${OPUS_ENCODE_FRAGMENT} ! ${APPSINK}`,
    );
  }

  private videoDescription(source: VideoSourceConfig, profile: EncoderProfile, bitrateKbps: number): string {
    const main = this.encodeFragment(source, profile, bitrateKbps);
    if (!this.config.lowLayerEnabled) return `${videoSourceFragment(source)} ! ${main}`;
    // The captured frames also go to the low layer's pipeline (intervideosink keeps only the latest frame).
    const channel = this.channel(source.id, profile.codec);
    return (
      `${videoSourceFragment(source)} ! tee name=raw ! ${main} ` +
      `raw. ! queue max-size-buffers=1 max-size-time=0 max-size-bytes=0 leaky=downstream ! intervideosink sync=false channel=${channel}`
    );
  }

  /** Raw frames in, RTP packets out to the appsink. */
  private encodeFragment(source: VideoSourceConfig, profile: EncoderProfile, bitrateKbps: number): string {
    const encode = profile.fragment({
      bitrateKbps,
      keyframeIntervalFrames: this.config.keyframeIntervalFrames,
      framerate: videoGeometry(source).framerate,
    });
    // The leaky queue decouples capture from encode: a slow encoder drops old frames instead of adding latency.
    const leaky = 'queue max-size-buffers=2 max-size-time=0 max-size-bytes=0 leaky=downstream';
    return `${leaky} ! ${encode} ! ${videoPayloaderFragment(profile)} ! ${APPSINK}`;
  }

  private lowDescription(source: VideoSourceConfig, profile: EncoderProfile, bitrateKbps: number): string {
    const g = videoGeometry(source);
    const width = Math.max(2, Math.round(g.width / 4) * 2);
    const height = Math.max(2, Math.round(g.height / 4) * 2);
    return (
      `intervideosrc channel=${this.channel(source.id, profile.codec)} ! ` +
      `video/x-raw,framerate=${g.framerate}/1 ! videoscale ! videoconvert ! ` +
      `video/x-raw,width=${width},height=${height},format=I420 ! ` +
      this.encodeFragment(source, profile, bitrateKbps)
    );
  }

  private channel(sourceId: string, codec: VideoCodecName): string {
    return `${this.channelPrefix}-${sourceId}-${codec}`.replace(/[^A-Za-z0-9_-]/g, '_');
  }
}
