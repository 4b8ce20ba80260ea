// The recorder's settings (STREAMER_RECORD_*, docs/recording.md), validated at start-up like every other setting:
// each bad value gets its own line naming the variable, and main.ts exits 78.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const RecordingConfig = Type.Object(
  {
    /** Where recordings go; null turns the recorder (and its HTTP routes) off. */
    dir: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    /** Black box: seconds of the recent past always kept (a ring of files); 0 = no black box. */
    blackboxSeconds: Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 }),
    /** Every recording together stays under this; the oldest files go first. */
    maxBytes: Type.Integer({ minimum: 1024 * 1024 }),
    /** No recording is kept longer than this. */
    maxAgeSeconds: Type.Integer({ minimum: 60 }),
    /** A file is closed and the next one started after this many seconds or bytes, at the next keyframe. */
    segmentSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
    segmentBytes: Type.Integer({ minimum: 64 * 1024 }),
    /** MCAP chunk size: what a crash can lose at most (the chunk being filled). */
    chunkBytes: Type.Integer({ minimum: 4 * 1024, maximum: 64 * 1024 * 1024 }),
    /** The gateway's tap (http://host:port/v1/tap or unix:/path.sock:/v1/tap); null: no gateway channels. */
    gatewayTapUrl: Type.Union([Type.String({ pattern: '^(https?://|unix:)' }), Type.Null()]),
    /** Bytes waiting to be written past which new messages are dropped (a slow disk never grows memory). */
    maxPendingBytes: Type.Integer({ minimum: 64 * 1024 }),
  },
  { additionalProperties: false },
);
export type RecordingConfig = Static<typeof RecordingConfig>;

export const defaultRecordingConfig: RecordingConfig = {
  dir: null,
  blackboxSeconds: 0,
  maxBytes: 2 * 1024 ** 3,
  maxAgeSeconds: 7 * 24 * 3600,
  segmentSeconds: 60,
  segmentBytes: 64 * 1024 ** 2,
  chunkBytes: 512 * 1024,
  gatewayTapUrl: null,
  maxPendingBytes: 16 * 1024 ** 2,
};

export class RecordingConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid streamer configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'RecordingConfigError';
  }
}

type Env = Record<string, string | undefined>;

const FIELDS: { env: string; key: keyof RecordingConfig; kind: 'int' | 'bytes' | 'text' }[] = [
  { env: 'STREAMER_RECORD_DIR', key: 'dir', kind: 'text' },
  { env: 'STREAMER_RECORD_BLACKBOX_S', key: 'blackboxSeconds', kind: 'int' },
  { env: 'STREAMER_RECORD_MAX_BYTES', key: 'maxBytes', kind: 'bytes' },
  { env: 'STREAMER_RECORD_MAX_AGE_S', key: 'maxAgeSeconds', kind: 'int' },
  { env: 'STREAMER_RECORD_SEGMENT_S', key: 'segmentSeconds', kind: 'int' },
  { env: 'STREAMER_RECORD_SEGMENT_BYTES', key: 'segmentBytes', kind: 'bytes' },
  { env: 'STREAMER_RECORD_CHUNK_BYTES', key: 'chunkBytes', kind: 'bytes' },
  { env: 'STREAMER_RECORD_GATEWAY_TAP', key: 'gatewayTapUrl', kind: 'text' },
];

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "512k", "64M", "2G" or a plain byte count; anything else is returned as is for the schema to refuse. */
function bytes(raw: string): unknown {
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(raw);
  return m ? Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1) : raw;
}

export function loadRecordingConfig(env: Env = process.env): RecordingConfig {
  const config: Record<string, unknown> = { ...defaultRecordingConfig };
  const problems: string[] = [];
  for (const f of FIELDS) {
    const raw = env[f.env]?.trim();
    if (raw === undefined || raw === '') continue;
    const value =
      f.kind === 'int' ? (/^\d+$/.test(raw) ? Number(raw) : raw) : f.kind === 'bytes' ? bytes(raw) : raw;
    const schema = RecordingConfig.properties[f.key];
    if (!Value.Check(schema, value)) {
      const first = [...Value.Errors(schema, value)].at(-1);
      problems.push(`${f.env}=${JSON.stringify(raw)}: ${first?.message ?? 'invalid'}`);
      continue;
    }
    config[f.key] = value;
  }
  if (problems.length === 0 && config.dir === null && config.blackboxSeconds !== 0)
    problems.push('STREAMER_RECORD_BLACKBOX_S needs STREAMER_RECORD_DIR (where the black box writes)');
  if (problems.length > 0) throw new RecordingConfigError(problems);
  return config as RecordingConfig;
}

/** Settings the recorder needs from the rest of the streamer's: who the robot is and how to check app tokens. */
export function recordingNeeds(
  config: RecordingConfig,
  service: { robotId: string | null; appPublicKeyPem: string | null },
): void {
  if (!config.dir) return;
  const problems: string[] = [];
  if (!service.robotId)
    problems.push(
      'STREAMER_RECORD_DIR needs ROBOT_TOKEN or ROBOT_TOKEN_FILE (the robot id recordings are for)',
    );
  if (!service.appPublicKeyPem)
    problems.push(
      'STREAMER_RECORD_DIR needs STREAMER_APP_PUBLIC_KEY or STREAMER_APP_PUBLIC_KEY_FILE (recordings are served to app tokens only)',
    );
  if (problems.length > 0) throw new RecordingConfigError(problems);
}
