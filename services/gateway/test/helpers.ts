/** Real gateways, real sockets, real tokens: shared set-up for the gateway tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { mintToken, type RobotGrants } from '@robostream/protocol/auth';
import { generateSigningKeys, type SigningKeys } from '@robostream/protocol/auth/keys';
import {
  gatewayToApp,
  gatewayToService,
  type GatewayToApp,
  type GatewayToService,
} from '@robostream/protocol/gateway';
import {
  startGateway,
  DEFAULT_LIMITS,
  type Gateway,
  type GatewayConfig,
  type GatewayLimits,
} from '../src/index.js';
import { DirectAppClient, ServiceClient, type ServiceClientOptions } from '../src/client/index.js';

export const ROBOT = 'r1';

export interface TestGateway {
  gw: Gateway;
  keys: SigningKeys;
  tls: { cert: string; key: string } | null;
  token(o?: {
    sub?: string;
    /** The old claim form (every grant on these robots). */
    robots?: string[] | '*';
    /** Per-robot grants; without it (and without robots) the token grants everything on ROBOT. */
    grants?: RobotGrants;
    role?: 'app' | 'robot';
    ttlSec?: number;
    nowSec?: number;
    keys?: SigningKeys;
  }): Promise<string>;
  app(sub?: string, grants?: RobotGrants): Promise<AppProbe>;
  close(): Promise<void>;
}

export async function startTestGateway(
  o: { limits?: Partial<GatewayLimits>; tls?: boolean; unixSocket?: boolean } = {},
): Promise<TestGateway> {
  const keys = generateSigningKeys('EdDSA');
  const tls = o.tls ? selfSignedCert() : null;
  const dir = mkdtempSync(join(tmpdir(), 'gw-test-'));
  const config: GatewayConfig = {
    robotId: ROBOT,
    signaling: null,
    local: o.unixSocket
      ? { kind: 'unix', path: join(dir, 'gw.sock') }
      : { kind: 'tcp', host: '127.0.0.1', port: 0 },
    lan: { host: '127.0.0.1', port: 0, tls },
    appPublicKey: keys.publicKey,
    limits: { ...DEFAULT_LIMITS, ...o.limits },
    logLevel: 'silent',
  };
  const gw = await startGateway(config, pino({ level: process.env['GATEWAY_TEST_LOG'] ?? 'silent' }));
  const probes: Array<{ close(): void }> = [];
  const t: TestGateway = {
    gw,
    keys,
    tls,
    token: (p = {}) =>
      mintToken((p.keys ?? keys).privateKey, {
        role: p.role ?? 'app',
        sub: p.sub ?? 'alice',
        ...((p.role ?? 'app') === 'app'
          ? p.robots
            ? { robots: p.robots }
            : { grants: p.grants ?? { [ROBOT]: ['view', 'talk', 'supervise'] } }
          : {}),
        ttlSec: p.ttlSec ?? 300,
        alg: 'EdDSA',
        ...(p.nowSec !== undefined ? { nowSec: p.nowSec } : {}),
      }),
    async app(sub = 'alice', grants?: RobotGrants) {
      const client = await DirectAppClient.connect({
        url: gw.lanUrl!,
        token: await t.token({ sub, ...(grants ? { grants } : {}) }),
        ...(tls ? { ca: tls.cert } : {}),
      });
      const probe = new AppProbe(client);
      probes.push(probe);
      return probe;
    },
    async close() {
      for (const p of probes) p.close();
      await gw.close();
    },
  };
  return t;
}

/** Self-signed certificate for 127.0.0.1 made with the openssl CLI (real TLS, no test-only crypto). */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gw-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=robot.local',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return {
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

/** Waits for a condition; the bound only keeps a broken test from hanging (assertions never depend on time). */
export async function until<T>(
  fn: () => T | undefined | null | false,
  what: string,
  limitMs = 10_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const r = fn();
    if (r !== undefined && r !== null && r !== false) return r;
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

/** Collects what an app receives and waits for particular messages. */
export class AppProbe {
  readonly got: GatewayToApp[] = [];
  constructor(readonly client: DirectAppClient) {
    client.on('message', (m) => this.got.push(m));
  }
  get link(): string {
    return this.client.linkId;
  }
  find<K extends GatewayToApp['type']>(
    type: K,
    pred: (m: Extract<GatewayToApp, { type: K }>) => boolean = () => true,
  ) {
    return this.got.find(
      (m): m is Extract<GatewayToApp, { type: K }> =>
        m.type === type && pred(m as Extract<GatewayToApp, { type: K }>),
    );
  }
  all<K extends GatewayToApp['type']>(type: K): Extract<GatewayToApp, { type: K }>[] {
    return this.got.filter((m): m is Extract<GatewayToApp, { type: K }> => m.type === type);
  }
  wait<K extends GatewayToApp['type']>(type: K, pred?: (m: Extract<GatewayToApp, { type: K }>) => boolean) {
    return until(() => this.find(type, pred), `app ${type}`);
  }
  close(): void {
    this.client.close();
  }
}

/** A raw websocket peer (service or app side) that records every decoded frame: for malformed-input tests. */
export class RawPeer {
  readonly got: Array<GatewayToApp | GatewayToService> = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(
    readonly ws: WebSocket,
    side: 'app' | 'service',
  ) {
    const decoder = side === 'app' ? gatewayToApp : gatewayToService;
    ws.on('message', (d) => {
      const r = decoder.decode(d.toString());
      if (!r.ok)
        throw new Error(`gateway sent an invalid ${side} frame: ${r.message}: ${d.toString().slice(0, 200)}`);
      this.got.push(r.msg);
    });
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }
  static open(url: string, side: 'app' | 'service', ca?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...(ca ? { ca } : {}) });
      const peer = new RawPeer(ws, side);
      ws.once('open', () => resolve(peer));
      ws.once('error', reject);
    });
  }
  send(x: unknown): void {
    this.ws.send(typeof x === 'string' ? x : JSON.stringify(x));
  }
  errors(): Array<Extract<GatewayToApp, { type: 'error' }>> {
    return this.got.filter((m): m is Extract<GatewayToApp, { type: 'error' }> => m.type === 'error');
  }
  waitError(code: string) {
    return until(() => this.errors().find((e) => e.code === code), `error ${code}`);
  }
  waitType(type: string) {
    return until(() => this.got.find((m) => m.type === type), `frame ${type}`);
  }
  close(): void {
    this.ws.close();
  }
}

/** A real robot program built on ServiceClient that records everything the gateway sends it. */
export class ServiceProbe {
  readonly got: GatewayToService[] = [];
  readonly client: ServiceClient;
  constructor(url: string, service: string, o: Omit<ServiceClientOptions, 'url' | 'service'> = {}) {
    this.client = new ServiceClient({ ...o, url, service });
    const rec = (m: GatewayToService) => this.got.push(m);
    for (const ev of ['welcome', 'command', 'estop', 'deadman', 'lock', 'error'] as const)
      this.client.on(ev, rec);
  }
  static async start(
    url: string,
    service: string,
    o: Omit<ServiceClientOptions, 'url' | 'service'> = {},
  ): Promise<ServiceProbe> {
    const p = new ServiceProbe(url, service, o);
    await p.client.ready();
    return p;
  }
  find<K extends GatewayToService['type']>(
    type: K,
    pred: (m: Extract<GatewayToService, { type: K }>) => boolean = () => true,
  ) {
    return this.got.find(
      (m): m is Extract<GatewayToService, { type: K }> =>
        m.type === type && pred(m as Extract<GatewayToService, { type: K }>),
    );
  }
  wait<K extends GatewayToService['type']>(
    type: K,
    pred?: (m: Extract<GatewayToService, { type: K }>) => boolean,
  ) {
    return until(() => this.find(type, pred), `service ${type}`);
  }
  close(): void {
    this.client.close();
  }
}
