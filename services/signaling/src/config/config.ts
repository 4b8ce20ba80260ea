import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { KeyObject } from 'node:crypto';
import { loadOrCreateDevKeys, publicKeyFromPem, signingKeysFromPem } from '@robostream/protocol/auth/keys';
import { EnvSchema, type Env } from './env-schema.js';
import { parseTrustProxy, trustProxyProblem, type TrustProxy } from './trust-proxy.js';

export interface TurnConfig {
  urls: string[];
  secret: string;
  ttlSec: number;
}

export interface Limits {
  maxMessageBytes: number;
  maxFrameBytes: number;
  messagesPerSecond: number;
  burst: number;
  floodCloseAfter: number;
  connectionsPerIpPerMin: number;
  maxSessionsPerApp: number;
  authTimeoutMs: number;
}

export interface Config {
  port: number;
  host: string;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  publicKey: KeyObject;
  keySource: 'env' | 'file' | 'dev';
  tokenIssuer: string;
  tokenAudience: string;
  turn: TurnConfig | undefined;
  stunUrls: string[];
  limits: Limits;
  presenceTtlMs: number;
  shutdownGraceMs: number;
  /** Hops trusted to write X-Forwarded-For (see trust-proxy.ts). */
  trustProxy: TrustProxy;
  webRoot: string | undefined;
  /** Origins the console's CSP lets it call besides its own (connect-src). */
  consoleConnectSrc: string[];
  /** Origins allowed to call WHEP from a browser page; '*' for any. */
  whepCorsOrigins: '*' | string[];
  logLevel: Env['LOG_LEVEL'];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const KNOWN = new Set(Object.keys(EnvSchema.properties));

/** The settings an environment (or the schema's defaults alone) gives, apart from the key and TURN. */
type Settings = Omit<Config, 'publicKey' | 'keySource' | 'turn'>;

function settingsFromEnv(e: Env): Settings {
  return {
    port: e.PORT,
    host: e.HOST,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    tokenIssuer: e.TOKEN_ISSUER,
    tokenAudience: e.TOKEN_AUDIENCE,
    stunUrls: splitList(e.STUN_URLS),
    limits: {
      maxMessageBytes: e.MAX_MESSAGE_BYTES,
      maxFrameBytes: e.MAX_FRAME_BYTES,
      messagesPerSecond: e.RATE_MESSAGES_PER_SEC,
      burst: e.RATE_BURST,
      floodCloseAfter: e.FLOOD_CLOSE_AFTER,
      connectionsPerIpPerMin: e.CONNECTIONS_PER_IP_PER_MIN,
      maxSessionsPerApp: e.MAX_SESSIONS_PER_APP,
      authTimeoutMs: e.AUTH_TIMEOUT_MS,
    },
    presenceTtlMs: e.PRESENCE_TTL_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    trustProxy: trustProxySetting(e.TRUST_PROXY),
    webRoot: e.WEB_ROOT ? resolve(e.WEB_ROOT) : undefined,
    consoleConnectSrc: splitList(e.CONSOLE_CONNECT_SRC),
    whepCorsOrigins: e.WHEP_CORS_ORIGINS.trim() === '*' ? '*' : splitList(e.WHEP_CORS_ORIGINS),
    logLevel: e.LOG_LEVEL,
  };
}

/** The parsed TRUST_PROXY; loadConfig reports a wrong one, so here it only has to be safe (no proxy). */
function trustProxySetting(raw: string): TrustProxy {
  const t = parseTrustProxy(raw);
  return 'value' in t ? t.value : false;
}

const DEFAULT_ENV = Value.Default(EnvSchema, {}) as Env;
/** The defaults of every setting: the environment schema's, so the README table, env and code agree. */
export const DEFAULT_SETTINGS: Readonly<Settings> = settingsFromEnv(DEFAULT_ENV);

/** Rules that hold however the configuration was given (environment or code). */
function checkConfig(c: Omit<Config, 'publicKey' | 'keySource'>): string[] {
  const problems: string[] = [];
  for (const u of c.stunUrls)
    if (!/^stuns?:[^\s]+$/.test(u)) problems.push(`STUN_URLS: ${JSON.stringify(u)} is not a stun: URL`);
  if (c.turn) {
    if (c.turn.secret.length < 16) problems.push('TURN secret: must be at least 16 characters');
    for (const u of c.turn.urls)
      if (!/^turns?:[^\s]+$/.test(u))
        problems.push(`TURN_URLS: ${JSON.stringify(u)} is not a turn: or turns: URL`);
  }
  const trust = trustProxyProblem(c.trustProxy);
  if (trust) problems.push(`trustProxy: ${trust}`);
  if (c.limits.maxMessageBytes > c.limits.maxFrameBytes)
    problems.push('MAX_MESSAGE_BYTES must not exceed MAX_FRAME_BYTES');
  // An origin, nothing a CSP could read as a keyword or a second directive.
  for (const o of c.consoleConnectSrc)
    if (!/^(https?|wss?):\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/.test(o))
      problems.push(`CONSOLE_CONNECT_SRC: ${JSON.stringify(o)} is not scheme://host[:port]`);
  if (c.webRoot && !existsSync(resolve(c.webRoot, 'index.html')))
    problems.push(`WEB_ROOT=${JSON.stringify(c.webRoot)}: no index.html there (build the web app first)`);
  return problems;
}

/** Reads and validates the environment; throws one ConfigError listing every wrong value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) if (KNOWN.has(k) && v !== undefined && v !== '') raw[k] = v;
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw));
  const problems = [...Value.Errors(EnvSchema, converted)].map((e) => {
    const name = e.path.replace(/^\//, '');
    return `${name}=${JSON.stringify(raw[name] ?? '')}: ${e.schema.description ? `${e.message} (${e.schema.description})` : e.message}`;
  });
  // Checked here, with the schema's problems, so that every wrong value is reported at once.
  const trust = parseTrustProxy(String((converted as Partial<Env>).TRUST_PROXY ?? 'false'));
  if ('problem' in trust)
    problems.push(`TRUST_PROXY=${JSON.stringify(raw['TRUST_PROXY'])}: ${trust.problem}`);
  if (problems.length) throw new ConfigError(problems);
  const e = converted as Env;

  const key = resolvePublicKey(e, problems);
  const turn = resolveTurn(e, problems);
  const settings = settingsFromEnv(e);
  problems.push(...checkConfig({ ...settings, turn }));
  if (problems.length || !key) throw new ConfigError(problems);
  return { ...settings, publicKey: key.publicKey, keySource: key.source, turn };
}

/**
 * What createSignalingServer takes from code: the key that verifies tokens, and any setting to change from its
 * default (DEFAULT_SETTINGS). A Config from loadConfig fits as it is.
 */
export type SignalingServerOptions = Partial<Omit<Config, 'publicKey' | 'keySource' | 'limits' | 'turn'>> & {
  /** The deployment's public key (KeyObject or PEM): enough to verify tokens. */
  publicKey: KeyObject | string;
  /** TURN REST credentials for these URLs; ttlSec defaults as TURN_TTL_SEC does. */
  turn?: Omit<TurnConfig, 'ttlSec'> & { ttlSec?: number };
  keySource?: Config['keySource'];
  limits?: Partial<Limits>;
  /** Node's process metrics in this server's registry; off by default (an embedding process has its own). */
  processMetrics?: boolean;
};

/** Options from code, completed with the defaults and held to the same rules as the environment. */
export function configFromOptions(options: SignalingServerOptions): Config {
  const { processMetrics: _processMetrics, ...o } = options;
  let publicKey: KeyObject;
  try {
    publicKey = typeof o.publicKey === 'string' ? publicKeyFromPem(o.publicKey) : o.publicKey;
  } catch (err) {
    throw new ConfigError([`publicKey: not a usable PEM key (${(err as Error).message})`]);
  }
  const config: Config = {
    ...DEFAULT_SETTINGS,
    ...definedOnly(o),
    limits: { ...DEFAULT_SETTINGS.limits, ...definedOnly(o.limits ?? {}) },
    publicKey,
    keySource: o.keySource ?? 'env',
    turn: o.turn && { ...o.turn, ttlSec: o.turn.ttlSec ?? DEFAULT_ENV.TURN_TTL_SEC },
  };
  const problems = checkConfig(config);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** An options object without its undefined fields, so that they do not override defaults. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function splitList(s: string | undefined): string[] {
  return (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function readSecretFile(name: string, path: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    problems.push(
      `${name}=${JSON.stringify(path)}: cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return undefined;
  }
}

function resolvePublicKey(
  e: Env,
  problems: string[],
): { publicKey: KeyObject; source: Config['keySource'] } | undefined {
  const given = ['SIGNING_KEY', 'SIGNING_KEY_FILE', 'PUBLIC_KEY', 'PUBLIC_KEY_FILE'].filter(
    (k) => e[k as keyof Env] !== undefined,
  );
  if (given.length > 1) {
    problems.push(`set only one of ${given.join(', ')}`);
    return undefined;
  }
  try {
    if (e.PUBLIC_KEY) return { publicKey: publicKeyFromPem(e.PUBLIC_KEY), source: 'env' };
    if (e.SIGNING_KEY) return { publicKey: signingKeysFromPem(e.SIGNING_KEY).publicKey, source: 'env' };
    if (e.PUBLIC_KEY_FILE) {
      const pem = readSecretFile('PUBLIC_KEY_FILE', e.PUBLIC_KEY_FILE, problems);
      return pem === undefined ? undefined : { publicKey: publicKeyFromPem(pem), source: 'file' };
    }
    if (e.SIGNING_KEY_FILE) {
      const pem = readSecretFile('SIGNING_KEY_FILE', e.SIGNING_KEY_FILE, problems);
      return pem === undefined ? undefined : { publicKey: signingKeysFromPem(pem).publicKey, source: 'file' };
    }
  } catch (err) {
    problems.push(`${given[0]}: not a usable PEM key (${(err as Error).message})`);
    return undefined;
  }
  if (e.NODE_ENV === 'production') {
    problems.push(
      'no key configured: set PUBLIC_KEY, PUBLIC_KEY_FILE, SIGNING_KEY or SIGNING_KEY_FILE (development keys are refused when NODE_ENV=production)',
    );
    return undefined;
  }
  return { publicKey: loadOrCreateDevKeys(e.DEV_KEYS_DIR).publicKey, source: 'dev' };
}

function resolveTurn(e: Env, problems: string[]): TurnConfig | undefined {
  const urls = splitList(e.TURN_URLS);
  const secret =
    e.TURN_SECRET ??
    (e.TURN_SECRET_FILE ? readSecretFile('TURN_SECRET_FILE', e.TURN_SECRET_FILE, problems) : undefined);
  if (e.TURN_SECRET && e.TURN_SECRET_FILE) problems.push('set only one of TURN_SECRET, TURN_SECRET_FILE');
  if (urls.length === 0 && secret === undefined) return undefined;
  if (urls.length === 0) {
    problems.push('TURN_SECRET is set but TURN_URLS is empty');
    return undefined;
  }
  if (secret === undefined) {
    problems.push('TURN_URLS is set but neither TURN_SECRET nor TURN_SECRET_FILE is');
    return undefined;
  }
  return { urls, secret, ttlSec: e.TURN_TTL_SEC };
}
