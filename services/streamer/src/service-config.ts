// The streamer process's own settings (signaling, identity, direct mode, HTTP), next to the media core's
// STREAMER_* settings in config.ts. Every wrong value gets its own line, all reported at once.
import { readFileSync } from 'node:fs';
import { readRobotToken } from '@robostream/protocol/auth/robot-token';
import { publicKeyFromPem } from '@robostream/protocol/auth/keys';

export interface ServiceConfig {
  /** Signaling services to register with (SIGNALING_URL, comma-separated); empty: LAN/direct only. */
  signalingUrls: string[];
  /** The robot token, read again before every (re)connect when it comes from a file (rotation). */
  robotToken: (() => string) | null;
  /** The robot id: the robot token's subject. */
  robotId: string | null;
  /** PEM of the deployment's public key: the embedded direct-mode server verifies app tokens with it. */
  appPublicKeyPem: string | null;
  /**
   * Direct mode. turnSecret: coturn's static-auth-secret, so that the embedded server hands apps TURN REST
   * credentials for the turn: URLs of STREAMER_ICE_SERVERS (its stun: URLs are always handed out).
   */
  direct: { host: string; port: number; turnSecret: string | null } | null;
  http: { host: string; port: number };
  maxViewers: number;
  name: string;
  iceTransportPolicy: 'all' | 'relay';
  statsIntervalMs: number;
  /**
   * The robot gateway's local service socket (STREAMER_GATEWAY_SERVICE_URL): the streamer registers there as the
   * `voice` service and publishes the microphone's voice activity as telemetry. Null: not published.
   */
  gatewayServiceUrl: string | null;
  logLevel: string;
}

export class ServiceConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid streamer configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ServiceConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}=${JSON.stringify(raw)}: expected an integer in [${min}, ${max}]`);
    return fallback;
  }
  return n;
}

function readText(name: string, path: string, problems: string[]): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    problems.push(
      `${name}=${JSON.stringify(path)}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return null;
  }
}

export function loadServiceConfig(env: Env = process.env): ServiceConfig {
  const problems: string[] = [];
  const signalingUrls = (env.SIGNALING_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of signalingUrls)
    if (!/^wss?:\/\/[^/\s]+/.test(u))
      problems.push(`SIGNALING_URL: ${JSON.stringify(u)} is not a ws:// or wss:// URL`);

  const directPort = env.STREAMER_DIRECT_PORT
    ? int(env, 'STREAMER_DIRECT_PORT', 0, 0, 65535, problems)
    : null;

  const robot = readRobotToken(env, problems);
  const robotToken = robot?.read ?? null;
  if ((signalingUrls.length > 0 || directPort !== null) && !robotToken)
    problems.push('ROBOT_TOKEN or ROBOT_TOKEN_FILE is required with SIGNALING_URL or STREAMER_DIRECT_PORT');
  const robotId = robot?.robotId ?? null;

  let appPublicKeyPem: string | null = null;
  if (env.STREAMER_APP_PUBLIC_KEY && env.STREAMER_APP_PUBLIC_KEY_FILE)
    problems.push('set only one of STREAMER_APP_PUBLIC_KEY and STREAMER_APP_PUBLIC_KEY_FILE');
  else if (env.STREAMER_APP_PUBLIC_KEY) appPublicKeyPem = env.STREAMER_APP_PUBLIC_KEY;
  else if (env.STREAMER_APP_PUBLIC_KEY_FILE)
    appPublicKeyPem = readText('STREAMER_APP_PUBLIC_KEY_FILE', env.STREAMER_APP_PUBLIC_KEY_FILE, problems);
  if (appPublicKeyPem) {
    try {
      publicKeyFromPem(appPublicKeyPem);
    } catch (err) {
      problems.push(`STREAMER_APP_PUBLIC_KEY: not a usable PEM public key (${(err as Error).message})`);
    }
  }
  if (directPort !== null && !appPublicKeyPem)
    problems.push(
      'STREAMER_APP_PUBLIC_KEY or STREAMER_APP_PUBLIC_KEY_FILE is required with STREAMER_DIRECT_PORT',
    );

  let directTurnSecret: string | null = null;
  if (env.STREAMER_DIRECT_TURN_SECRET && env.STREAMER_DIRECT_TURN_SECRET_FILE)
    problems.push('set only one of STREAMER_DIRECT_TURN_SECRET and STREAMER_DIRECT_TURN_SECRET_FILE');
  else if (env.STREAMER_DIRECT_TURN_SECRET) directTurnSecret = env.STREAMER_DIRECT_TURN_SECRET.trim();
  else if (env.STREAMER_DIRECT_TURN_SECRET_FILE)
    directTurnSecret = readText(
      'STREAMER_DIRECT_TURN_SECRET_FILE',
      env.STREAMER_DIRECT_TURN_SECRET_FILE,
      problems,
    );
  if (directTurnSecret !== null && directTurnSecret.length < 16)
    problems.push('STREAMER_DIRECT_TURN_SECRET: at least 16 characters (it is coturn static-auth-secret)');
  if (directTurnSecret !== null && directPort === null)
    problems.push('STREAMER_DIRECT_TURN_SECRET is for direct mode: set STREAMER_DIRECT_PORT too');

  const policy = env.STREAMER_ICE_TRANSPORT_POLICY?.trim() || 'all';
  if (policy !== 'all' && policy !== 'relay')
    problems.push(`STREAMER_ICE_TRANSPORT_POLICY=${JSON.stringify(policy)}: expected all or relay`);
  const gatewayServiceUrl = env.STREAMER_GATEWAY_SERVICE_URL?.trim() || null;
  if (gatewayServiceUrl && !/^(wss?:\/\/[^/\s]+|ws\+unix:\S+)/.test(gatewayServiceUrl))
    problems.push(
      `STREAMER_GATEWAY_SERVICE_URL: ${JSON.stringify(gatewayServiceUrl)} is not a ws:// or ws+unix: URL`,
    );
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    problems.push(`LOG_LEVEL=${JSON.stringify(logLevel)}: expected fatal|error|warn|info|debug|trace|silent`);

  const config: ServiceConfig = {
    signalingUrls,
    robotToken,
    robotId,
    appPublicKeyPem,
    direct:
      directPort === null
        ? null
        : {
            host: env.STREAMER_DIRECT_HOST?.trim() || '0.0.0.0',
            port: directPort,
            turnSecret: directTurnSecret,
          },
    http: {
      host: env.STREAMER_HTTP_HOST?.trim() || '0.0.0.0',
      port: int(env, 'STREAMER_HTTP_PORT', 9110, 0, 65535, problems),
    },
    maxViewers: int(env, 'STREAMER_MAX_VIEWERS', 4, 1, 64, problems),
    name: env.STREAMER_NAME?.trim() || robotId || 'robot',
    iceTransportPolicy: policy === 'relay' ? 'relay' : 'all',
    statsIntervalMs: int(env, 'STREAMER_STATS_INTERVAL_MS', 10_000, 500, 3_600_000, problems),
    gatewayServiceUrl,
    logLevel,
  };
  if (problems.length > 0) throw new ServiceConfigError(problems);
  return config;
}
