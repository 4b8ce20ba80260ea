// What the app sends, played on the robot: its audio to the speaker, its video to the display when there is one.
// One pipeline per remote track (appsrc <- RTP from the transport). The `counting` sinks end in an appsink that
// the streamer drains and counts, so tests can prove the media was decoded, not just received.
import type { Logger } from 'pino';
import type { AudioSinkChoice, VideoSinkChoice } from '../config.js';
import type { GstAppSink, GstAppSrc } from './gst-native.js';
import { PipelineRunner } from './pipeline-runner.js';
import { VOICE_PCM_CAPS } from './voice-pipeline.js';

export interface RemoteCodec {
  /** Lower-case codec name: opus, h264, vp8. */
  name: string;
  payloadType: number;
  clockRate: number;
}

const DEPAY_DECODE = {
  opus: 'rtpopusdepay ! opusdec ! audioconvert ! audioresample',
  h264: 'rtph264depay ! h264parse ! avdec_h264 ! videoconvert',
  vp8: 'rtpvp8depay ! vp8dec ! videoconvert',
} as const satisfies Record<string, string>;
export type DecodedCodec = keyof typeof DEPAY_DECODE;

/**
 * Loads what the sinks of the app's media will decode with, before any session: GStreamer loads a plugin (and the
 * process pages its code in) on first use, which made the first session's audio sink take 62 ms to build in the
 * compose stack and later ones 1-7 ms, on the way to that session's answer. Each decode chain is played once into
 * a fakesink and stopped; no device is opened. Returns the time it took in ms.
 */
export function preloadDecoders(codecs: readonly DecodedCodec[], log: Logger): number {
  const t0 = performance.now();
  for (const name of codecs) {
    const runner = new PipelineRunner(
      `preload/${name}`,
      `appsrc is-live=true format=time ! rtpjitterbuffer ! ${DEPAY_DECODE[name]} ! fakesink`,
      log,
    );
    try {
      runner.start();
    } finally {
      runner.stop();
    }
  }
  return performance.now() - t0;
}

function audioSinkElement(choice: AudioSinkChoice): string | null {
  switch (choice) {
    case 'auto':
      return 'autoaudiosink sync=false';
    case 'alsa':
      return 'alsasink sync=false';
    case 'pulse':
      return 'pulsesink sync=false';
    case 'counting':
      return `appsink name=decoded sync=false max-buffers=100 drop=true`;
    case 'none':
      return null;
  }
}

function videoSinkElement(choice: VideoSinkChoice): string | null {
  switch (choice) {
    case 'auto':
      return 'autovideosink sync=false';
    case 'kms':
      return 'kmssink sync=false';
    case 'counting':
      return `appsink name=decoded sync=false max-buffers=10 drop=true`;
    case 'none':
      return null;
  }
}

export interface SinkSnapshot {
  name: string;
  kind: 'audio' | 'video';
  codec: string;
  packetsIn: number;
  /** Decoded buffers seen by a counting sink; null for real devices (nothing to count from JS). */
  decodedBuffers: number | null;
  lastError: string | null;
}

export class UnsupportedRemoteCodecError extends Error {
  constructor(codec: string) {
    super(`no decoder for remote codec ${codec}`);
    this.name = 'UnsupportedRemoteCodecError';
  }
}

export class SinkPipeline {
  private readonly runner: PipelineRunner | null;
  private readonly appsrc: GstAppSrc | null = null;
  private packetsIn = 0;
  private decoded: number | null = null;
  private lastError: string | null = null;

  /**
   * Native threads this sink holds from the libuv pool (bus poll, plus the pull of an appsink: counting, or the
   * PCM handed to the voice pipeline).
   */
  static threadsNeeded(
    kind: 'audio' | 'video',
    audio: AudioSinkChoice,
    video: VideoSinkChoice,
    pcmOut = false,
  ): number {
    if (kind === 'audio' && pcmOut) return 2;
    const choice = kind === 'audio' ? audio : video;
    return choice === 'none' ? 0 : choice === 'counting' ? 2 : 1;
  }

  /**
   * `pcmOut`: audio is decoded to the voice pipeline's PCM format and handed to it (the robot's speaker plays
   * there, behind the echo probe) instead of going to a device from here; every buffer is counted.
   */
  constructor(
    readonly name: string,
    readonly kind: 'audio' | 'video',
    readonly codec: RemoteCodec,
    choice: { audio: AudioSinkChoice; video: VideoSinkChoice },
    log: Logger,
    private readonly pcmOut: ((pcm: Buffer) => void) | null = null,
  ) {
    const sink =
      kind === 'audio' && pcmOut
        ? `${VOICE_PCM_CAPS} ! appsink name=decoded sync=false max-buffers=100 drop=true`
        : kind === 'audio'
          ? audioSinkElement(choice.audio)
          : videoSinkElement(choice.video);
    const decode = (DEPAY_DECODE as Record<string, string | undefined>)[codec.name];
    if (!decode) throw new UnsupportedRemoteCodecError(codec.name);
    if (!sink) {
      this.runner = null;
      return;
    }
    const caps =
      `application/x-rtp,media=${kind},encoding-name=${codec.name.toUpperCase()},` +
      `payload=${codec.payloadType},clock-rate=${codec.clockRate}`;
    const description =
      `appsrc name=rtpin is-live=true do-timestamp=true format=time caps="${caps}" ! ` +
      `rtpjitterbuffer latency=${kind === 'audio' ? 60 : 100} ! ${decode} ! ${sink}`;
    this.runner = new PipelineRunner(name, description, log);
    this.runner.onError((err) => {
      this.lastError = err.message;
    });
    this.runner.start();
    this.appsrc = (this.runner.element('rtpin') as GstAppSrc | undefined) ?? null;
    const counting = this.runner.element('decoded') as GstAppSink | undefined;
    if (counting) {
      this.decoded = 0;
      this.drain(this.runner, counting);
    }
  }

  push(packet: Buffer): void {
    this.packetsIn++;
    this.appsrc?.push(packet);
  }

  snapshot(): SinkSnapshot {
    return {
      name: this.name,
      kind: this.kind,
      codec: this.codec.name,
      packetsIn: this.packetsIn,
      decodedBuffers: this.decoded,
      lastError: this.lastError,
    };
  }

  close(): void {
    this.runner?.stop();
  }

  private drain(runner: PipelineRunner, sink: GstAppSink): void {
    sink.pull((buf) => {
      if (!buf || !runner.running) return;
      this.decoded = (this.decoded ?? 0) + 1;
      this.pcmOut?.(buf);
      this.drain(runner, sink);
    });
  }
}
