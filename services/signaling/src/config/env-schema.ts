import { Type, type Static } from '@sinclair/typebox';

/**
 * Every environment variable the signaling service reads, with its default. The README's table is written
 * from this list; keep the descriptions short and exact.
 */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8080,
    description: 'TCP port for HTTP and WebSocket',
  }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'interface to listen on' }),
  REDIS_URL: Type.Optional(
    Type.String({ pattern: '^rediss?://', description: 'Redis for scale-out; unset = in-process bus' }),
  ),
  REDIS_KEY_PREFIX: Type.String({
    pattern: '^[A-Za-z0-9:_-]{1,32}$',
    default: 'rs:',
    description: 'prefix of every Redis key and channel',
  }),
  SIGNING_KEY: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'PEM private key (Ed25519 or P-256); its public half verifies tokens',
    }),
  ),
  SIGNING_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'path to the PEM private key' })),
  PUBLIC_KEY: Type.Optional(
    Type.String({ minLength: 1, description: 'PEM public key; enough to verify tokens' }),
  ),
  PUBLIC_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'path to the PEM public key' })),
  DEV_KEYS_DIR: Type.String({
    default: '.dev-keys',
    description: 'where development keys are made when no key is configured (not in production)',
  }),
  TOKEN_ISSUER: Type.String({ minLength: 1, default: 'robostream' }),
  TOKEN_AUDIENCE: Type.String({ minLength: 1, default: 'robostream' }),
  TURN_URLS: Type.Optional(Type.String({ minLength: 1, description: 'comma-separated turn:/turns: URLs' })),
  TURN_SECRET: Type.Optional(Type.String({ minLength: 16, description: "coturn's static-auth-secret" })),
  TURN_SECRET_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TURN_TTL_SEC: Type.Integer({
    minimum: 60,
    maximum: 604800,
    default: 21600,
    description: 'lifetime of TURN credentials',
  }),
  STUN_URLS: Type.Optional(Type.String({ description: 'comma-separated stun: URLs; empty = none' })),
  MAX_MESSAGE_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 1048576,
    default: 65536,
    description: 'larger messages get frame_too_large',
  }),
  MAX_FRAME_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 16777216,
    default: 1048576,
    description: 'hard cap: larger frames close the socket (1009)',
  }),
  RATE_MESSAGES_PER_SEC: Type.Number({
    exclusiveMinimum: 0,
    maximum: 100000,
    default: 50,
    description: 'token bucket refill per connection',
  }),
  RATE_BURST: Type.Integer({
    minimum: 1,
    maximum: 100000,
    default: 200,
    description: 'token bucket size per connection',
  }),
  FLOOD_CLOSE_AFTER: Type.Integer({
    minimum: 1,
    default: 100,
    description: 'rate-limited messages after which the socket is closed (4429)',
  }),
  CONNECTIONS_PER_IP_PER_MIN: Type.Integer({
    minimum: 1,
    default: 120,
    description: 'WebSocket upgrades per client IP per minute',
  }),
  MAX_SESSIONS_PER_APP: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 16,
    description: 'open sessions per app subject on one instance',
  }),
  AUTH_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 60000,
    default: 5000,
    description: 'time to send authenticate',
  }),
  PRESENCE_TTL_MS: Type.Integer({
    minimum: 1000,
    maximum: 300000,
    default: 10000,
    description: 'Redis presence expiry; refreshed every third of it',
  }),
  SHUTDOWN_GRACE_MS: Type.Integer({
    minimum: 0,
    maximum: 120000,
    default: 5000,
    description: 'drain time on SIGTERM',
  }),
  WEB_ROOT: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'directory of the built web app to serve at / (unset = API only)',
    }),
  ),
  CONSOLE_CONNECT_SRC: Type.String({
    default: '',
    description:
      "origins the console may call besides this one (robots' HTTP ports, for recordings), comma-separated: scheme://host[:port], a leading *. for subdomains",
  }),
  WHEP_CORS_ORIGINS: Type.String({
    default: '*',
    description:
      'origins whose pages may call the WHEP endpoints (comma-separated, or * for any: bearer tokens, no cookies)',
  }),
  TRUST_PROXY: Type.String({
    default: 'false',
    description: 'proxies trusted to write X-Forwarded-For: false, or their IPs/CIDRs (comma-separated)',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  NODE_ENV: Type.String({ default: 'development' }),
});
export type Env = Static<typeof EnvSchema>;
