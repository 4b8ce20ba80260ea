/**
 * Runs the real coturn (`turnserver` from apt) on loopback with a given config file, on ports nobody else
 * holds (the machine is shared), and waits until it answers a STUN Binding request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TurnClient } from './turn-client.js';

export interface RunningCoturn {
  port: number;
  log: () => string;
  stop: () => Promise<void>;
}

async function udpPortFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  try {
    s.bind(port, '127.0.0.1');
    await once(s, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    try {
      s.close();
    } catch {
      // never bound
    }
  }
}

async function tcpPortFree(port: number): Promise<boolean> {
  const srv = createServer();
  try {
    srv.listen(port, '127.0.0.1');
    await once(srv, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    srv.close();
  }
}

/** A port free on both UDP and TCP (coturn listens on both). */
export async function freeListeningPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    const port = s.address().port;
    s.close();
    if (await tcpPortFree(port)) return port;
  }
  throw new Error('no free UDP+TCP port found');
}

/** A run of `size` UDP ports, free right now, below the kernel's ephemeral range (so port-0 binds avoid it). */
export async function freeRelayRange(size: number): Promise<{ min: number; max: number }> {
  for (let i = 0; i < 50; i++) {
    const min = 20000 + Math.floor(Math.random() * 10000);
    let ok = true;
    for (let p = min; p < min + size && ok; p++) ok = await udpPortFree(p);
    if (ok) return { min, max: min + size - 1 };
  }
  throw new Error('no free relay port range found');
}

export async function startCoturn(confFile: string, port: number, workDir: string): Promise<RunningCoturn> {
  let out = '';
  const child: ChildProcess = spawn(
    'turnserver',
    ['-c', confFile, `--pidfile=${join(workDir, 'turnserver.pid')}`, `--userdb=${join(workDir, 'turndb')}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');

  const probe = await TurnClient.open({ address: '127.0.0.1', port }, 'probe', 'probe');
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`turnserver exited with ${child.exitCode}:\n${out}`);
      try {
        await probe.binding(200);
        break;
      } catch (e) {
        if (i >= 100) throw new Error(`turnserver never answered a Binding request:\n${out}`, { cause: e });
      }
    }
  } finally {
    probe.close();
  }
  return {
    port,
    log: () => out,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
