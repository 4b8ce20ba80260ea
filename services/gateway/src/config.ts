/**
 * Gateway configuration from the environment. Every variable is checked on its own so that start-up reports one
 * clear line per wrong value (all of them at once), not the first failure only.
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ID_PATTERN } from '@robostream/protocol/auth';
import { publicKeyFromPem } from '@robostream/protocol/auth/keys';
import { readRobotToken } from '@robostream/protocol/auth/robot-token';

export type LocalListen = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export interface LanListen {
  host: string;
  port: number;
  /** PEM strings; null means plain ws (only on loopback, or with GATEWAY_LAN_ALLOW_PLAIN=true). */
  tls: { cert: string; key: string } | null;
}

export interface GatewayLimits {
  /** Operator silence (ms) after which the deadman trips. */
  deadmanMs: number;
  /** An app link must authenticate within this many ms. */
  authTimeoutMs: number;
  /** Largest accepted frame in bytes; bigger ones get frame_too_large (up to 8x, beyond that the socket closes). */
  maxFrameBytes: number;
  /** Reliable messages (commands, replies, events, announcements) queued per link or service before refusing. */
  reliableQueue: number;
  /** Telemetry messages queued per service per app link; the oldest are dropped beyond it. */
  telemetryQueue: number;
  /** Bytes handed to a transport and not yet written, above which the gateway queues instead. */
  highWaterBytes: number;
  /** Largest chunked message (UTF-8 bytes) to or from a service, unless set for that service. */
  maxMessageBytes: number;
  /** Per-service caps overriding maxMessageBytes (a program's hello may lower its own further). */
  serviceMaxMessageBytes: Record<string, number>;
  /** A chunked message with no new chunk for this long is dropped (incomplete_message). */
  reassemblyTimeoutMs: number;
  /** Chunked messages in transfer at once from one app link or one service. */
  maxPartialMessages: number;
  /** Bytes all partial messages together may hold in the gateway (declared totals, reserved at the first chunk). */
  reassemblyBudgetBytes: number;
}

/** The app link through signaling (WebRTC data channels); null: LAN-only. */
export interface SignalingLinkConfig {
  /** ws(s)://host:port/v1/ws */
  url: string;
  /** The robot token; read again before every (re)connect when it comes from a file, so it can be rotated. */
  token: () => string;
  /** 'relay': only TURN candidates (networks where direct UDP must not be used). */
  iceTransportPolicy: 'all' | 'relay';
  /** Concurrent data-channel sessions; more are rejected. */
  maxSessions: number;
  /** Bytes handed to one werift data channel before the hub queues (see DataChannelAppLink). */
  highWaterBytes: number;
}

export interface GatewayConfig {
  robotId: string;
  signaling: SignalingLinkConfig | null;
  local: LocalListen;
  /** null: no direct LAN listener (apps only through signaling). */
  lan: LanListen | null;
  appPublicKey: KeyObject;
  limits: GatewayLimits;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid gateway configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_LIMITS: GatewayLimits = {
  deadmanMs: 500,
  authTimeoutMs: 5_000,
  maxFrameBytes: 64 * 1024,
  reliableQueue: 1024,
  telemetryQueue: 64,
  highWaterBytes: 1024 * 1024,
  maxMessageBytes: 8 * 1024 * 1024,
  serviceMaxMessageBytes: {},
  reassemblyTimeoutMs: 10_000,
  maxPartialMessages: 4,
  reassemblyBudgetBytes: 64 * 1024 * 1024,
};

/** The largest cap any setting may give (the schema's ceiling is higher; a gateway holds messages in memory). */
const MESSAGE_BYTES_MAX = 256 * 1024 * 1024;

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Bool = Type.Union([Type.Literal('true'), Type.Literal('false')]);
const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
);

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Reads and validates GATEWAY_* variables. Throws ConfigError listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const problems: string[] = [];

  function read<T>(
    name: string,
    schema: TSchema,
    fallback: T,
    convert: (s: string) => unknown = (s) => s,
  ): T {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = convert(raw);
    if (!Value.Check(schema, value)) {
      const first = Value.Errors(schema, value).First();
      problems.push(`${name}=${JSON.stringify(raw)}: ${first?.message ?? 'invalid'}`);
      return fallback;
    }
    return value as T;
  }
  const int = (s: string) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s);
  const positive = (name: string, fallback: number, min = 1, max = 2 ** 31 - 1) =>
    read<number>(name, Type.Integer({ minimum: min, maximum: max }), fallback, int);

  let robotId = read<string>('GATEWAY_ROBOT_ID', Type.String({ pattern: ID_PATTERN.source }), '');
  const signaling = readSignaling(env, problems, read, positive);
  if (signaling) {
    // The robot id is the robot token's subject; GATEWAY_ROBOT_ID may repeat it, never contradict it.
    if (robotId && signaling.subject && robotId !== signaling.subject) {
      problems.push(
        `GATEWAY_ROBOT_ID=${robotId} does not match the robot token's subject (${signaling.subject})`,
      );
    }
    if (!robotId) robotId = signaling.subject;
  }
  if (!robotId && !problems.some((p) => p.startsWith('GATEWAY_ROBOT_ID') || p.startsWith('ROBOT_TOKEN'))) {
    problems.push(
      'GATEWAY_ROBOT_ID is required (the robot id app tokens must grant), or ROBOT_TOKEN with SIGNALING_URL',
    );
  }

  const socketPath = read<string>('GATEWAY_LOCAL_SOCKET', Type.String({ minLength: 1, maxLength: 107 }), '');
  const localHost = read<string>('GATEWAY_LOCAL_HOST', Type.String({ minLength: 1 }), '127.0.0.1');
  const localPort = read<number>('GATEWAY_LOCAL_PORT', Port, 7600, int);
  const local: LocalListen = socketPath
    ? { kind: 'unix', path: socketPath }
    : { kind: 'tcp', host: localHost, port: localPort };

  const lanEnabled = read<string>('GATEWAY_LAN_ENABLED', Bool, 'true') === 'true';
  const lanHost = read<string>('GATEWAY_LAN_HOST', Type.String({ minLength: 1 }), '0.0.0.0');
  const lanPort = read<number>('GATEWAY_LAN_PORT', Port, 7443, int);
  const allowPlain = read<string>('GATEWAY_LAN_ALLOW_PLAIN', Bool, 'false') === 'true';
  const certFile = env['GATEWAY_TLS_CERT_FILE'] ?? '';
  const keyFile = env['GATEWAY_TLS_KEY_FILE'] ?? '';
  let lan: LanListen | null = null;
  if (lanEnabled) {
    let tls: LanListen['tls'] = null;
    if (certFile || keyFile) {
      if (!certFile) problems.push('GATEWAY_TLS_CERT_FILE is required with GATEWAY_TLS_KEY_FILE');
      if (!keyFile) problems.push('GATEWAY_TLS_KEY_FILE is required with GATEWAY_TLS_CERT_FILE');
      const cert = certFile ? readText('GATEWAY_TLS_CERT_FILE', certFile, problems) : '';
      const key = keyFile ? readText('GATEWAY_TLS_KEY_FILE', keyFile, problems) : '';
      if (cert && key) tls = { cert, key };
    } else if (!LOOPBACK.has(lanHost) && !allowPlain) {
      problems.push(
        `GATEWAY_LAN_HOST=${lanHost} is not loopback: set GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE ` +
          '(app tokens must not cross a network in clear), or GATEWAY_LAN_ALLOW_PLAIN=true on a trusted network',
      );
    }
    lan = { host: lanHost, port: lanPort, tls };
  }

  let appPublicKey: KeyObject | null = null;
  const pem = env['GATEWAY_APP_PUBLIC_KEY'];
  const pemFile = env['GATEWAY_APP_PUBLIC_KEY_FILE'];
  if (pem && pemFile) problems.push('set only one of GATEWAY_APP_PUBLIC_KEY and GATEWAY_APP_PUBLIC_KEY_FILE');
  else if (!pem && !pemFile) {
    problems.push(
      'GATEWAY_APP_PUBLIC_KEY (PEM) or GATEWAY_APP_PUBLIC_KEY_FILE is required to verify app tokens',
    );
  } else {
    const name = pem ? 'GATEWAY_APP_PUBLIC_KEY' : 'GATEWAY_APP_PUBLIC_KEY_FILE';
    const text = pem ?? readText(name, pemFile ?? '', problems);
    if (text) {
      try {
        appPublicKey = publicKeyFromPem(text);
      } catch (err) {
        problems.push(`${name}: not an Ed25519 or P-256 public key in PEM (${(err as Error).message})`);
      }
    }
  }

  const limits: GatewayLimits = {
    deadmanMs: positive('GATEWAY_DEADMAN_MS', DEFAULT_LIMITS.deadmanMs, 20, 600_000),
    authTimeoutMs: positive('GATEWAY_AUTH_TIMEOUT_MS', DEFAULT_LIMITS.authTimeoutMs, 100, 600_000),
    maxFrameBytes: positive('GATEWAY_MAX_FRAME_BYTES', DEFAULT_LIMITS.maxFrameBytes, 1024, 16 * 1024 * 1024),
    reliableQueue: positive('GATEWAY_RELIABLE_QUEUE', DEFAULT_LIMITS.reliableQueue, 1, 1_000_000),
    telemetryQueue: positive('GATEWAY_TELEMETRY_QUEUE', DEFAULT_LIMITS.telemetryQueue, 1, 1_000_000),
    highWaterBytes: positive('GATEWAY_HIGH_WATER_BYTES', DEFAULT_LIMITS.highWaterBytes, 1024, 1024 ** 3),
    maxMessageBytes: positive(
      'GATEWAY_MAX_MESSAGE_BYTES',
      DEFAULT_LIMITS.maxMessageBytes,
      1024,
      MESSAGE_BYTES_MAX,
    ),
    serviceMaxMessageBytes: readServiceCaps(env['GATEWAY_SERVICE_MAX_MESSAGE_BYTES'] ?? '', problems),
    reassemblyTimeoutMs: positive(
      'GATEWAY_REASSEMBLY_TIMEOUT_MS',
      DEFAULT_LIMITS.reassemblyTimeoutMs,
      100,
      600_000,
    ),
    maxPartialMessages: positive('GATEWAY_MAX_PARTIAL_MESSAGES', DEFAULT_LIMITS.maxPartialMessages, 1, 1_000),
    reassemblyBudgetBytes: positive(
      'GATEWAY_REASSEMBLY_BUDGET_BYTES',
      DEFAULT_LIMITS.reassemblyBudgetBytes,
      1024,
      16 * MESSAGE_BYTES_MAX,
    ),
  };
  // A cap above the budget could never be reached: every such message would be refused as queue_full.
  const biggest = Math.max(limits.maxMessageBytes, ...Object.values(limits.serviceMaxMessageBytes));
  if (biggest > limits.reassemblyBudgetBytes) {
    problems.push(
      `GATEWAY_REASSEMBLY_BUDGET_BYTES=${limits.reassemblyBudgetBytes} is below the largest message cap (${biggest})`,
    );
  }
  const logLevel = read<string>('LOG_LEVEL', LogLevel, 'info');

  if (problems.length > 0 || !appPublicKey) throw new ConfigError(problems);
  return {
    robotId,
    signaling: signaling ? { ...signaling.config } : null,
    local,
    lan,
    appPublicKey,
    limits,
    logLevel,
  };
}

type Reader = <T>(name: string, schema: TSchema, fallback: T, convert?: (s: string) => unknown) => T;

/** SIGNALING_URL, ROBOT_TOKEN / ROBOT_TOKEN_FILE and the ICE options; null when SIGNALING_URL is unset. */
function readSignaling(
  env: NodeJS.ProcessEnv,
  problems: string[],
  read: Reader,
  positive: (name: string, fallback: number, min?: number, max?: number) => number,
): { config: SignalingLinkConfig; subject: string } | null {
  const url = env['SIGNALING_URL'] ?? '';
  const policy = read<'all' | 'relay'>(
    'GATEWAY_ICE_TRANSPORT_POLICY',
    Type.Union([Type.Literal('all'), Type.Literal('relay')]),
    'all',
  );
  const maxSessions = positive('GATEWAY_MAX_DATACHANNEL_SESSIONS', 16, 1, 10_000);
  const highWaterBytes = positive('GATEWAY_DATACHANNEL_HIGH_WATER_BYTES', 32_768, 1_024, 16 * 1024 * 1024);
  if (!url) {
    if (env['ROBOT_TOKEN'] || env['ROBOT_TOKEN_FILE'])
      problems.push('ROBOT_TOKEN/ROBOT_TOKEN_FILE is set but SIGNALING_URL is not');
    return null;
  }
  if (!/^wss?:\/\/[^/]+/.test(url))
    problems.push(`SIGNALING_URL=${JSON.stringify(url)}: not a ws:// or wss:// URL`);
  if (!env['ROBOT_TOKEN'] && !env['ROBOT_TOKEN_FILE'])
    problems.push('ROBOT_TOKEN or ROBOT_TOKEN_FILE is required with SIGNALING_URL');
  const robot = readRobotToken(env, problems);
  const token = robot?.read ?? (() => '');
  const subject = robot?.robotId ?? '';
  return { config: { url, token, iceTransportPolicy: policy, maxSessions, highWaterBytes }, subject };
}

/** GATEWAY_SERVICE_MAX_MESSAGE_BYTES: `name=bytes` pairs separated by commas, e.g. `map=33554432,lidar=1048576`. */
function readServiceCaps(raw: string, problems: string[]): Record<string, number> {
  const caps: Record<string, number> = {};
  for (const pair of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9_-]{0,31})=(\d+)$/.exec(pair);
    const bytes = m ? Number(m[2]) : NaN;
    if (!m || bytes < 1024 || bytes > MESSAGE_BYTES_MAX) {
      problems.push(
        `GATEWAY_SERVICE_MAX_MESSAGE_BYTES: ${JSON.stringify(pair)} is not service=bytes (1024..${MESSAGE_BYTES_MAX})`,
      );
      continue;
    }
    caps[m[1]!] = bytes;
  }
  return caps;
}

function readText(name: string, file: string, problems: string[]): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${name}=${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return '';
  }
}
