// A real coturn on free loopback ports (shared/ENVIRONMENT.md), with the TURN REST secret the signaling server
// hands credentials out for. Ready once it answers a STUN binding request.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';

export interface Coturn {
  port: number;
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGKILL: every allocation (and the relayed path through it) is gone at once. */
  kill(): Promise<void>;
}

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
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
      s.on('message', () => {
        clearTimeout(t);
        resolve(true);
      });
      s.send(request, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

export async function startCoturn(
  secret: string,
  opts: { port?: number; relayPorts?: [number, number] } = {},
): Promise<Coturn> {
  const port = opts.port ?? (await freeUdpPort());
  // A relay range unlikely to collide with another run on this shared machine.
  const base = opts.relayPorts?.[0] ?? 50_000 + Math.floor(Math.random() * 600) * 20;
  const top = opts.relayPorts?.[1] ?? base + 19;
  const child = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${base}`,
      `--max-port=${top}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=robostream.test',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--fingerprint',
      '--allow-loopback-peers',
      '--log-file=stdout',
      // Its own state file, so parallel coturns do not share one SQLite database.
      `--db=/tmp/robostream-turndb-${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers(port))) {
    if (child.exitCode !== null)
      throw new Error(`turnserver exited (${child.exitCode}): ${out.slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`turnserver did not answer STUN on ${port}: ${out.slice(-2000)}`);
    }
  }
  return {
    port,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    child,
    output: () => out,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}
