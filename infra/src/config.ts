/**
 * The stack's configuration: typed, with defaults, validated in one place with one clear message per wrong value.
 * `parseConfig` is pure (the unit tests feed it objects); `loadConfig` reads it from the Pulumi stack.
 * Every key is described in docs/deploy-aws.md and shown in Pulumi.example.yaml.
 */
import * as pulumi from '@pulumi/pulumi';
import { isValidCidr } from './coturn/peer-ranges.js';
import { DEFAULT_COTURN_IMAGE } from './coturn/boot-files.js';
import { TURN_DEFAULTS, userQuotaProblem } from './coturn/turnserver-conf.js';

export interface NetworkConfig {
  /** CIDR of the VPC this program creates. It is also denied to TURN relays. */
  vpcCidr: string;
}

export interface TurnConfig {
  count: number;
  instanceType: string;
  /** 'arm64' for Graviton types (t4g, c7g, ...), 'x86_64' otherwise; derived from instanceType unless set. */
  architecture: 'arm64' | 'x86_64';
  /** Pin an AMI; default: the newest Canonical Ubuntu 24.04 for the architecture (looked up at first deploy). */
  amiId?: string;
  realm: string;
  /** Host name for turns: (TLS). Needs tlsSecretArn. Point it (A records) at the turnPublicIps output. */
  domain?: string;
  /** Secrets Manager secret with JSON {"certificate": PEM chain, "privateKey": PEM} for `domain`. */
  tlsSecretArn?: string;
  relayPortMin: number;
  relayPortMax: number;
  /** Opens tcp/22 from this CIDR only. Absent: no SSH at all, use SSM Session Manager. */
  sshCidr?: string;
  sshKeyName?: string;
  userQuota: number;
  totalQuota: number;
  maxBps: number;
  staleNonceSec: number;
  /** Upstream coturn image pinned to a release (name:x.y.z[-rN][@sha256:...]); run with host networking. */
  coturnImage: string;
  /** SNS topic the TURN alarms (STUN probe, EC2 status check) notify. Absent: alarms without notification. */
  alarmTopicArn?: string;
}

export interface SignalingConfig {
  /** Host name of the ALB; the ACM certificate must cover it. Point it (CNAME/alias) at the albDnsName output. */
  domain: string;
  certificateArn: string;
  /** Tag in the ECR repository this program creates. Absent: no ECS service yet (push an image, set it, up again). */
  imageTag?: string;
  cpu: number;
  memoryMiB: number;
  cpuArchitecture: 'X86_64' | 'ARM64';
  minTasks: number;
  maxTasks: number;
  /** Average CPU utilisation that autoscaling holds. */
  targetCpuPercent: number;
  /** ALB idle timeout: the longest a websocket may stay silent. */
  idleTimeoutSec: number;
  turnCredentialTtlSec: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  logRetentionDays: number;
  redisNodeType: string;
  /** Read replicas beside the primary; >= 1 turns on automatic failover across zones. */
  redisReplicas: number;
}

export interface SecretsConfig {
  /** Existing Secrets Manager secret holding the TURN shared secret; absent: this program creates an empty one. */
  turnSecretArn?: string;
  /** Existing secret holding the signing key PEM; absent: this program creates an empty one. */
  signingKeySecretArn?: string;
}

export interface RobostreamConfig {
  network: NetworkConfig;
  turn: TurnConfig;
  signaling: SignalingConfig;
  secrets: SecretsConfig;
  /** ElastiCache AUTH token (`pulumi config set --secret robostream:redisAuthToken`). */
  redisAuthToken: pulumi.Output<string>;
}

export class ConfigError extends Error {}

type Raw = Record<string, unknown>;

class Reader {
  readonly errors: string[] = [];
  private readonly read = new Set<string>();
  constructor(
    private readonly prefix: string,
    private readonly raw: Raw,
  ) {}

  private value(key: string): unknown {
    this.read.add(key);
    return this.raw[key];
  }
  private fail(key: string, what: string, got: unknown): undefined {
    this.errors.push(`${this.prefix}.${key} ${what}, got ${JSON.stringify(got)}`);
    return undefined;
  }
  str(key: string, test?: (v: string) => boolean, what = 'must be a non-empty string'): string | undefined {
    const v = this.value(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length === 0 || (test && !test(v))) return this.fail(key, what, v);
    return v;
  }
  reqStr(key: string, test?: (v: string) => boolean, what?: string): string {
    const v = this.str(key, test, what);
    if (v === undefined && !this.errors.some((e) => e.startsWith(`${this.prefix}.${key} `))) {
      this.errors.push(`${this.prefix}.${key} is required`);
    }
    return v ?? '';
  }
  int(key: string, fallback: number, min: number, max: number): number {
    const v = this.value(key);
    if (v === undefined || v === null) return fallback;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      return this.fail(key, `must be a whole number from ${min} to ${max}`, v) ?? fallback;
    }
    return n;
  }
  oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const v = this.value(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      return this.fail(key, `must be one of ${choices.join(', ')}`, v) ?? fallback;
    }
    return v as T;
  }
  /** Flags keys nobody read: a typo in a key name would otherwise silently fall back to a default. */
  finish(): void {
    for (const k of Object.keys(this.raw)) {
      if (!this.read.has(k)) this.errors.push(`${this.prefix}.${k} is not a known setting`);
    }
  }
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const ARN = (service: string) => (v: string) =>
  new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:.+`).test(v);
const CLOUDWATCH_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653,
];
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

/** Graviton families have a `g` right after the generation digit: t4g, c7g, c6gn, m7gd, x2gd (but not g4dn). */
export function architectureOf(instanceType: string): 'arm64' | 'x86_64' {
  return /^[a-z]+\d+g/.test(instanceType.split('.')[0] ?? '') ? 'arm64' : 'x86_64';
}

export function parseConfig(raw: {
  network?: Raw;
  turn?: Raw;
  signaling?: Raw;
  secrets?: Raw;
  redisAuthToken: pulumi.Output<string>;
}): RobostreamConfig {
  const n = new Reader('robostream:network', raw.network ?? {});
  const t = new Reader('robostream:turn', raw.turn ?? {});
  const s = new Reader('robostream:signaling', raw.signaling ?? {});
  const k = new Reader('robostream:secrets', raw.secrets ?? {});

  const network: NetworkConfig = {
    vpcCidr:
      n.str(
        'vpcCidr',
        (v) => isValidCidr(v) && !v.includes(':') && /\/(1[6-9]|2[0-4])$/.test(v),
        'must be an IPv4 CIDR from /16 to /24',
      ) ?? '10.42.0.0/16',
  };

  const instanceType =
    t.str('instanceType', (v) => INSTANCE_TYPE.test(v), 'must be an EC2 instance type') ?? 't4g.small';
  const sshCidr = t.str('sshCidr', (v) => isValidCidr(v), 'must be a CIDR block');
  if (sshCidr && /\/([0-7])$/.test(sshCidr)) {
    t.errors.push(
      `robostream:turn.sshCidr must not open SSH to the internet (${sshCidr}); use a /8 or narrower, or SSM`,
    );
  }
  const domain = t.str('domain', (v) => HOSTNAME.test(v), 'must be a lower-case DNS name');
  const tlsSecretArn = t.str('tlsSecretArn', ARN('secretsmanager'), 'must be a Secrets Manager secret ARN');
  if (Boolean(domain) !== Boolean(tlsSecretArn)) {
    t.errors.push('robostream:turn.domain and robostream:turn.tlsSecretArn go together (turns: needs both)');
  }
  const turn: TurnConfig = {
    count: t.int('count', 1, 1, 20),
    instanceType,
    architecture: t.oneOf('architecture', ['arm64', 'x86_64'] as const, architectureOf(instanceType)),
    amiId: t.str('amiId', (v) => /^ami-[0-9a-f]{8,17}$/.test(v), 'must be an AMI id (ami-...)'),
    realm:
      t.str('realm', (v) => /^[\x21-\x7e]+$/.test(v), 'must be printable ASCII without spaces') ??
      domain ??
      'robostream',
    domain,
    tlsSecretArn,
    relayPortMin: t.int('relayPortMin', TURN_DEFAULTS.relayPorts.min, 1025, 65535),
    relayPortMax: t.int('relayPortMax', TURN_DEFAULTS.relayPorts.max, 1025, 65535),
    sshCidr,
    sshKeyName: t.str('sshKeyName'),
    userQuota: t.int('userQuota', TURN_DEFAULTS.quotas.userQuota, 0, 1_000_000),
    totalQuota: t.int('totalQuota', TURN_DEFAULTS.quotas.totalQuota, 0, 10_000_000),
    maxBps: t.int('maxBps', TURN_DEFAULTS.quotas.maxBps, 0, 10_000_000_000),
    staleNonceSec: t.int('staleNonceSec', TURN_DEFAULTS.staleNonceSec, 30, 86_400),
    coturnImage:
      t.str(
        'coturnImage',
        (v) => /^[a-z0-9][a-z0-9._/-]*:\d+\.\d+\.\d+(-r\d+)?(@sha256:[0-9a-f]{64})?$/.test(v),
        'must be pinned to a release: name:x.y.z[-rN], optionally @sha256:<digest>',
      ) ?? DEFAULT_COTURN_IMAGE,
    alarmTopicArn: t.str('alarmTopicArn', ARN('sns'), 'must be an SNS topic ARN'),
  };
  const quotaProblem = userQuotaProblem(turn);
  if (quotaProblem) t.errors.push(`robostream:turn.${quotaProblem}`);
  if (turn.relayPortMin > turn.relayPortMax)
    t.errors.push('robostream:turn.relayPortMin must not exceed relayPortMax');
  for (const p of [TURN_DEFAULTS.listeningPort, TURN_DEFAULTS.tlsPort]) {
    if (p >= turn.relayPortMin && p <= turn.relayPortMax) {
      t.errors.push(`robostream:turn relay port range must not include the listener port ${p}`);
    }
  }
  if (turn.sshKeyName && !turn.sshCidr)
    t.errors.push('robostream:turn.sshKeyName needs sshCidr (else SSH stays closed)');

  const signaling: SignalingConfig = {
    domain: s.reqStr('domain', (v) => HOSTNAME.test(v), 'must be a lower-case DNS name'),
    certificateArn: s.reqStr('certificateArn', ARN('acm'), 'must be an ACM certificate ARN'),
    imageTag: s.str(
      'imageTag',
      (v) => /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(v),
      'must be a Docker image tag',
    ),
    cpu: s.int('cpu', 512, 256, 16384),
    memoryMiB: s.int('memoryMiB', 1024, 512, 122880),
    cpuArchitecture: s.oneOf('cpuArchitecture', ['X86_64', 'ARM64'] as const, 'X86_64'),
    minTasks: s.int('minTasks', 2, 1, 100),
    maxTasks: s.int('maxTasks', 6, 1, 100),
    targetCpuPercent: s.int('targetCpuPercent', 60, 10, 90),
    idleTimeoutSec: s.int('idleTimeoutSec', 3600, 60, 4000),
    turnCredentialTtlSec: s.int('turnCredentialTtlSec', 3600, 60, 86_400),
    logLevel: s.oneOf('logLevel', ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const, 'info'),
    logRetentionDays: s.int('logRetentionDays', 30, 1, 3653),
    redisNodeType:
      s.str('redisNodeType', (v) => /^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(v), 'must be a cache node type') ??
      'cache.t4g.micro',
    redisReplicas: s.int('redisReplicas', 1, 0, 5),
  };
  if (!CLOUDWATCH_RETENTION_DAYS.includes(signaling.logRetentionDays)) {
    s.errors.push(
      `robostream:signaling.logRetentionDays must be one of ${CLOUDWATCH_RETENTION_DAYS.join(', ')}`,
    );
  }
  if (signaling.minTasks > signaling.maxTasks)
    s.errors.push('robostream:signaling.minTasks must not exceed maxTasks');

  const secrets: SecretsConfig = {
    turnSecretArn: k.str('turnSecretArn', ARN('secretsmanager'), 'must be a Secrets Manager secret ARN'),
    signingKeySecretArn: k.str(
      'signingKeySecretArn',
      ARN('secretsmanager'),
      'must be a Secrets Manager secret ARN',
    ),
  };

  for (const r of [n, t, s, k]) r.finish();
  const errors = [...n.errors, ...t.errors, ...s.errors, ...k.errors];
  if (errors.length > 0) throw new ConfigError(`invalid stack configuration:\n  - ${errors.join('\n  - ')}`);
  return { network, turn, signaling, secrets, redisAuthToken: raw.redisAuthToken };
}

/** ElastiCache AUTH rules: 16-128 printable characters without space, ", / or @. */
export function checkRedisAuthToken(token: string): void {
  if (!/^[\x21-\x7e]{16,128}$/.test(token) || /["/@]/.test(token)) {
    throw new ConfigError(
      'robostream:redisAuthToken must be 16-128 printable characters without spaces, ", / or @ ' +
        '(e.g. `openssl rand -hex 32 | pulumi config set --secret robostream:redisAuthToken`)',
    );
  }
}

export function loadConfig(): RobostreamConfig {
  const c = new pulumi.Config('robostream');
  return parseConfig({
    network: c.getObject<Raw>('network'),
    turn: c.getObject<Raw>('turn'),
    signaling: c.getObject<Raw>('signaling'),
    secrets: c.getObject<Raw>('secrets'),
    redisAuthToken: c.requireSecret('redisAuthToken').apply((v) => {
      checkRedisAuthToken(v);
      return v;
    }),
  });
}
