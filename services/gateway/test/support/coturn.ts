/** A real coturn (apt) on free loopback ports, with TURN REST auth (shared secret), for relay-only tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

export interface Coturn {
  port: number;
  secret: string;
  realm: string;
  /** For signaling's TURN_URLS. */
  url: string;
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

/** A STUN binding request answered = the server is listening. */
async function stunAnswers(port: number, timeoutMs: number): Promise<boolean> {
  const s = createSocket('udp4');
  const req = Buffer.alloc(20);
  req.writeUInt16BE(0x0001, 0);
  req.writeUInt16BE(0, 2);
  req.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(req, 8);
  try {
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      s.once('message', () => {
        clearTimeout(t);
        resolve(true);
      });
      s.send(req, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

export async function startCoturn(): Promise<Coturn> {
  const port = await freeUdpPort();
  // A relay range unlikely to collide with other tests on a shared machine.
  const min = 40_000 + Math.floor(Math.random() * 200) * 100;
  const secret = randomBytes(24).toString('hex');
  const realm = 'robostream.test';
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${min}`,
      `--max-port=${min + 99}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      `--realm=${realm}`,
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--fingerprint',
      // Loopback tests only: peers on 127.0.0.1 would be refused otherwise. Never in a shipped config.
      '--allow-loopback-peers',
      // werift 0.24.4 waits for its next allocation refresh on a ref'd timer (5/6 of the lifetime) even after
      // pc.close(): with coturn's default 600 s the test process would linger ~8 minutes. 6 s -> at most 5 s.
      '--max-allocate-lifetime=6',
      '--log-file=stdout',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers(port, 200))) {
    if (child.exitCode !== null) throw new Error(`turnserver exited (${child.exitCode}): ${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`turnserver did not answer STUN on ${port}: ${out}`);
    }
  }
  return {
    port,
    secret,
    realm,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await once(child, 'exit');
      clearTimeout(t);
    },
  };
}
