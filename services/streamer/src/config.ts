// Streamer configuration from the environment, validated with TypeBox at start-up.
// Every bad value produces its own line naming the variable, so a person fixes them all in one go.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Id = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' });
const Dimension = Type.Integer({ minimum: 16, maximum: 7680 });
const Framerate = Type.Integer({ minimum: 1, maximum: 120 });

const VideoCommon = {
  id: Id,
  width: Type.Optional(Dimension),
  height: Type.Optional(Dimension),
  framerate: Type.Optional(Framerate),
};

export const VideoSourceConfig = Type.Union([
  Type.Object(
    {
      ...VideoCommon,
      kind: Type.Literal('test'),
      pattern: Type.Optional(
        Type.Union([Type.Literal('ball'), Type.Literal('smpte'), Type.Literal('flash')]),
      ),
      /**
       * A text file drawn over the picture (bottom left), re-read ten times a second while the camera runs: a
       * simulated robot writes its pose there, so a viewer sees it respond.
       */
      overlayFile: Type.Optional(Type.String({ pattern: '^/', maxLength: 1024 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      ...VideoCommon,
      kind: Type.Literal('v4l2'),
      device: Type.String({ pattern: '^/dev/' }),
      format: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('mjpeg')])),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      ...VideoCommon,
      kind: Type.Literal('libcamera'),
      cameraName: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
]);
export type VideoSourceConfig = Static<typeof VideoSourceConfig>;

export const AudioSourceConfig = Type.Union([
  Type.Object(
    { kind: Type.Literal('test'), frequency: Type.Optional(Type.Number({ minimum: 20, maximum: 20000 })) },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('alsa'), device: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('pulse'), device: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
  /**
   * A simulated room for tests and benches: what the speaker plays comes back `echoDelayMs` later at `echoGain`,
   * mixed with a near-end talker (bursts of a `nearEndFrequency` tone at syllable rate, `nearEndVolume`).
   */
  Type.Object(
    {
      kind: Type.Literal('room'),
      echoDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
      echoGain: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      nearEndFrequency: Type.Optional(Type.Number({ minimum: 100, maximum: 8000 })),
      nearEndVolume: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
]);
export type AudioSourceConfig = Static<typeof AudioSourceConfig>;

export const EncoderChoice = Type.Union([
  Type.Literal('auto'),
  Type.Literal('x264'),
  Type.Literal('v4l2'),
  Type.Literal('nvv4l2'),
  Type.Literal('va'),
  Type.Literal('vaapi'),
]);
export type EncoderChoice = Static<typeof EncoderChoice>;

export const VideoCodecName = Type.Union([Type.Literal('h264'), Type.Literal('vp8')]);
export type VideoCodecName = Static<typeof VideoCodecName>;

export const AudioSinkChoice = Type.Union([
  Type.Literal('auto'),
  Type.Literal('alsa'),
  Type.Literal('pulse'),
  Type.Literal('counting'),
  Type.Literal('none'),
]);
export const VideoSinkChoice = Type.Union([
  Type.Literal('auto'),
  Type.Literal('kms'),
  Type.Literal('counting'),
  Type.Literal('none'),
]);
export type AudioSinkChoice = Static<typeof AudioSinkChoice>;
/** `auto`: on for a real microphone (alsa, pulse), off for generated sound (test, room), which has no noise. */
export const VoiceFeature = Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')]);
export type VoiceFeature = Static<typeof VoiceFeature>;
export const EchoSuppressionLevel = Type.Union([
  Type.Literal('low'),
  Type.Literal('moderate'),
  Type.Literal('high'),
]);
export type EchoSuppressionLevel = Static<typeof EchoSuppressionLevel>;
export type VideoSinkChoice = Static<typeof VideoSinkChoice>;

const IceServer = Type.Object(
  {
    urls: Type.Union([
      Type.String({ pattern: '^(stun|turns?):' }),
      Type.Array(Type.String({ pattern: '^(stun|turns?):' })),
    ]),
    username: Type.Optional(Type.String()),
    credential: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export const IceServers = Type.Array(IceServer);
export type IceServerConfig = Static<typeof IceServer>;

export const StreamerConfig = Type.Object({
  videoSources: Type.Array(VideoSourceConfig, { minItems: 0, maxItems: 8 }),
  audioSource: AudioSourceConfig,
  encoder: EncoderChoice,
  /**
   * Video codec when the app's offer lists both. Browsers list VP8 first by default, so the offer's order is
   * followed only when `preferAppCodecOrder`; an app that wants VP8 offers VP8 alone (setCodecPreferences).
   */
  videoCodec: VideoCodecName,
  preferAppCodecOrder: Type.Boolean(),
  bitrateMinKbps: Type.Integer({ minimum: 50, maximum: 50000 }),
  bitrateMaxKbps: Type.Integer({ minimum: 50, maximum: 50000 }),
  bitrateStartKbps: Type.Integer({ minimum: 50, maximum: 50000 }),
  lingerMs: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
  keyframeMinIntervalMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
  /**
   * Upper bound of the app's playout (jitter buffer) delay for robot video, sent in the playout-delay RTP header
   * extension when the app negotiates it; -1 sends nothing and leaves the browser to its own estimate. 0 (the
   * default) asks the browser to show each frame as soon as it is decoded: measured in Chromium on loopback, its
   * jitter buffer delay went from 10-45 ms to 1-2 ms (a bound of 100 ms made Chromium hold ~80 ms instead).
   */
  playoutDelayMaxMs: Type.Integer({ minimum: -1, maximum: 10_000 }),
  /**
   * A second, half-size encoding per camera for viewers whose link carries much less than the best viewer's
   * (media/layered-bitrate.ts); its bitrate stays within [bitrateMinKbps / 2, lowLayerMaxKbps].
   */
  lowLayerEnabled: Type.Boolean(),
  lowLayerMaxKbps: Type.Integer({ minimum: 50, maximum: 50000 }),
  keyframeIntervalFrames: Type.Integer({ minimum: 1, maximum: 3000 }),
  audioSink: AudioSinkChoice,
  videoSink: VideoSinkChoice,
  /**
   * The robot's voice processor (webrtcdsp on the microphone, media/voice-pipeline.ts). The echo canceller works
   * when the robot both captures (audioSource) and plays (audioSink) sound.
   */
  echoCancel: Type.Boolean(),
  echoSuppression: EchoSuppressionLevel,
  noiseSuppression: VoiceFeature,
  gainControl: VoiceFeature,
  /** Voice activity on the robot's microphone, published as the `voice` telemetry. */
  voiceActivity: Type.Boolean(),
  iceServers: IceServers,
  icePortRange: Type.Union([
    Type.Tuple([
      Type.Integer({ minimum: 1024, maximum: 65535 }),
      Type.Integer({ minimum: 1024, maximum: 65535 }),
    ]),
    Type.Null(),
  ]),
  /** Loopback candidates are needed when app and robot share one host (tests, a dev laptop). */
  iceIncludeLoopback: Type.Boolean(),
});
export type StreamerConfig = Static<typeof StreamerConfig>;

export const defaultConfig: StreamerConfig = {
  videoSources: [{ id: 'front', kind: 'test', pattern: 'ball', width: 1280, height: 720, framerate: 30 }],
  audioSource: { kind: 'test', frequency: 440 },
  encoder: 'auto',
  videoCodec: 'h264',
  preferAppCodecOrder: false,
  bitrateMinKbps: 300,
  bitrateMaxKbps: 4000,
  bitrateStartKbps: 2000,
  lingerMs: 5000,
  keyframeMinIntervalMs: 500,
  playoutDelayMaxMs: 0,
  lowLayerEnabled: true,
  lowLayerMaxKbps: 600,
  keyframeIntervalFrames: 60,
  audioSink: 'auto',
  videoSink: 'auto',
  echoCancel: true,
  echoSuppression: 'low',
  noiseSuppression: 'auto',
  gainControl: 'auto',
  voiceActivity: true,
  iceServers: [],
  icePortRange: null,
  iceIncludeLoopback: false,
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid streamer configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

interface Field<K extends keyof StreamerConfig> {
  env: string;
  key: K;
  schema: TSchema;
  parse: (raw: string) => unknown;
}

const json = (raw: string): unknown => JSON.parse(raw);
const int = (raw: string): unknown => (/^-?\d+$/.test(raw.trim()) ? Number(raw) : raw);
const bool = (raw: string): unknown =>
  raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
const str = (raw: string): unknown => raw.trim();
const portRange = (raw: string): unknown => {
  const m = /^(\d+)-(\d+)$/.exec(raw.trim());
  return m ? [Number(m[1]), Number(m[2])] : raw;
};

// The env variable for each config key; JSON for structured values (several cameras, ICE servers).
const fields: Field<keyof StreamerConfig>[] = [
  {
    env: 'STREAMER_VIDEO_SOURCES',
    key: 'videoSources',
    schema: StreamerConfig.properties.videoSources,
    parse: json,
  },
  { env: 'STREAMER_AUDIO_SOURCE', key: 'audioSource', schema: AudioSourceConfig, parse: json },
  { env: 'STREAMER_ENCODER', key: 'encoder', schema: EncoderChoice, parse: str },
  { env: 'STREAMER_VIDEO_CODEC', key: 'videoCodec', schema: VideoCodecName, parse: str },
  { env: 'STREAMER_PREFER_APP_CODEC_ORDER', key: 'preferAppCodecOrder', schema: Type.Boolean(), parse: bool },
  {
    env: 'STREAMER_BITRATE_MIN_KBPS',
    key: 'bitrateMinKbps',
    schema: StreamerConfig.properties.bitrateMinKbps,
    parse: int,
  },
  {
    env: 'STREAMER_BITRATE_MAX_KBPS',
    key: 'bitrateMaxKbps',
    schema: StreamerConfig.properties.bitrateMaxKbps,
    parse: int,
  },
  {
    env: 'STREAMER_BITRATE_START_KBPS',
    key: 'bitrateStartKbps',
    schema: StreamerConfig.properties.bitrateStartKbps,
    parse: int,
  },
  { env: 'STREAMER_LINGER_MS', key: 'lingerMs', schema: StreamerConfig.properties.lingerMs, parse: int },
  { env: 'STREAMER_LOW_LAYER', key: 'lowLayerEnabled', schema: Type.Boolean(), parse: bool },
  {
    env: 'STREAMER_LOW_LAYER_MAX_KBPS',
    key: 'lowLayerMaxKbps',
    schema: StreamerConfig.properties.lowLayerMaxKbps,
    parse: int,
  },
  {
    env: 'STREAMER_PLAYOUT_DELAY_MAX_MS',
    key: 'playoutDelayMaxMs',
    schema: StreamerConfig.properties.playoutDelayMaxMs,
    parse: int,
  },
  {
    env: 'STREAMER_KEYFRAME_MIN_INTERVAL_MS',
    key: 'keyframeMinIntervalMs',
    schema: StreamerConfig.properties.keyframeMinIntervalMs,
    parse: int,
  },
  {
    env: 'STREAMER_KEYFRAME_INTERVAL_FRAMES',
    key: 'keyframeIntervalFrames',
    schema: StreamerConfig.properties.keyframeIntervalFrames,
    parse: int,
  },
  { env: 'STREAMER_AUDIO_SINK', key: 'audioSink', schema: AudioSinkChoice, parse: str },
  { env: 'STREAMER_VIDEO_SINK', key: 'videoSink', schema: VideoSinkChoice, parse: str },
  { env: 'STREAMER_ECHO_CANCEL', key: 'echoCancel', schema: Type.Boolean(), parse: bool },
  { env: 'STREAMER_ECHO_SUPPRESSION', key: 'echoSuppression', schema: EchoSuppressionLevel, parse: str },
  { env: 'STREAMER_NOISE_SUPPRESSION', key: 'noiseSuppression', schema: VoiceFeature, parse: str },
  { env: 'STREAMER_GAIN_CONTROL', key: 'gainControl', schema: VoiceFeature, parse: str },
  { env: 'STREAMER_VOICE_ACTIVITY', key: 'voiceActivity', schema: Type.Boolean(), parse: bool },
  { env: 'STREAMER_ICE_SERVERS', key: 'iceServers', schema: IceServers, parse: json },
  {
    env: 'STREAMER_ICE_PORT_RANGE',
    key: 'icePortRange',
    schema: StreamerConfig.properties.icePortRange,
    parse: portRange,
  },
  { env: 'STREAMER_ICE_INCLUDE_LOOPBACK', key: 'iceIncludeLoopback', schema: Type.Boolean(), parse: bool },
];

function describe(schema: TSchema, value: unknown, env: string): string {
  const first = Value.Errors(schema, value).First();
  const where = first && first.path ? ` at ${first.path}` : '';
  return `${env}: ${first ? first.message : 'invalid'}${where} (got ${JSON.stringify(value)})`;
}

/** Builds a config from defaults, overrides (code) and the environment; throws ConfigError listing every bad value. */
export function loadConfig(env: Env = process.env, overrides: Partial<StreamerConfig> = {}): StreamerConfig {
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...defaultConfig, ...overrides };
  for (const f of fields) {
    const raw = env[f.env];
    if (raw === undefined || raw === '') continue;
    let value: unknown;
    try {
      value = f.parse(raw);
    } catch (err) {
      problems.push(`${f.env}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    if (!Value.Check(f.schema, value)) {
      problems.push(describe(f.schema, value, f.env));
      continue;
    }
    merged[f.key] = value;
  }
  if (problems.length === 0 && !Value.Check(StreamerConfig, merged)) {
    for (const e of Value.Errors(StreamerConfig, merged)) problems.push(`config${e.path}: ${e.message}`);
  }
  if (problems.length === 0) {
    const c = merged as StreamerConfig;
    if (c.bitrateMinKbps > c.bitrateMaxKbps)
      problems.push(
        `STREAMER_BITRATE_MIN_KBPS (${c.bitrateMinKbps}) is above STREAMER_BITRATE_MAX_KBPS (${c.bitrateMaxKbps})`,
      );
    if (c.bitrateStartKbps < c.bitrateMinKbps || c.bitrateStartKbps > c.bitrateMaxKbps)
      problems.push(
        `STREAMER_BITRATE_START_KBPS (${c.bitrateStartKbps}) is outside [${c.bitrateMinKbps}, ${c.bitrateMaxKbps}]`,
      );
    const ids = c.videoSources.map((s) => s.id);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) problems.push(`STREAMER_VIDEO_SOURCES: source id "${dup}" is used twice`);
    if (c.icePortRange && c.icePortRange[0] >= c.icePortRange[1])
      problems.push(`STREAMER_ICE_PORT_RANGE: first port must be below the second`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return merged as StreamerConfig;
}
