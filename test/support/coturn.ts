// A real coturn (`turnserver` from apt) on free loopback ports with TURN REST auth (a shared secret), for the
// relay tests of the streamer and the gateway (docs/development.md). Ready once it answers a STUN binding
// request. (infra's tests run coturn from rendered config files instead: infra/test/support/coturn-process.ts.)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

export interface Coturn {
  port: number;
  /** For signaling's TURN_URLS. */
  url: string;
  secret: string;
  realm: string;
  output(): string;
  /** SIGKILL: every allocation (and the relayed path through it) is gone at once. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after 3 s. */
  stop(): Promise<void>;
}

export interface CoturnOptions {
  /** static-auth-secret; random when omitted. */
  secret?: string;
  /** Listening port (to start a coturn again where a killed one was); a free one when omitted. */
  port?: number;
  /**
   * --max-allocate-lifetime. werift 0.24.4 keeps its allocation-refresh timer (5/6 of the lifetime) ref'd after
   * pc.close(): with coturn's default 600 s a test process that closes werift peers would linger ~8 minutes.
   */
  maxAllocateLifetimeSec?: number;
  /** --user-quota: allocations one username may hold at once (coturn answers 486 beyond it). */
  userQuota?: number;
}

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

/** A STUN binding request; resolves true when a response arrives within `timeoutMs`. */
export async function stunAnswers(port: number, timeoutMs = 300): Promise<boolean> {
  const s = createSocket('udp4');
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0);
  request.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(request, 8);
  try {
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      s.once('message', () => {
        clearTimeout(t);
        resolve(true);
      });
      s.send(request, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

export async function startCoturn(opts: CoturnOptions = {}): Promise<Coturn> {
  const port = opts.port ?? (await freeUdpPort());
  const secret = opts.secret ?? randomBytes(24).toString('hex');
  const realm = 'robostream.test';
  // A relay range unlikely to collide with another run on this shared machine.
  const min = 40_000 + Math.floor(Math.random() * 1200) * 20;
  const child = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${min}`,
      `--max-port=${min + 19}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      `--realm=${realm}`,
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--fingerprint',
      // Loopback tests only: peers on 127.0.0.1 would be refused otherwise. Never in a shipped config.
      '--allow-loopback-peers',
      ...(opts.maxAllocateLifetimeSec ? [`--max-allocate-lifetime=${opts.maxAllocateLifetimeSec}`] : []),
      ...(opts.userQuota ? [`--user-quota=${opts.userQuota}`] : []),
      '--log-file=stdout',
      // Its own state file, so parallel coturns do not share one SQLite database.
      `--db=/tmp/robostream-turndb-${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers(port))) {
    if (child.exitCode !== null)
      throw new Error(`turnserver exited (${child.exitCode}): ${out.slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`turnserver did not answer STUN on ${port}: ${out.slice(-2000)}`);
    }
  }
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    port,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    secret,
    realm,
    output: () => out,
    async kill() {
      if (exited()) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
    async stop() {
      if (exited()) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await once(child, 'exit');
      clearTimeout(t);
    },
  };
}
