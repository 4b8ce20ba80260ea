// Starts bench/support/bare-relay.ts in a process of its own: the baseline the signaling benches measure against.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';

export interface BareRelay {
  url: string;
  /** The relay process's resident memory, from /proc (bytes). */
  rss(): Promise<number>;
  stop(): void;
}

/** Resolves once the relay listens; a relay that dies first fails the bench rather than leaving it waiting. */
export async function startBareRelay(): Promise<BareRelay> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/bare-relay.ts'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const stop = () => void child.kill();
  try {
    const [line] = (await Promise.race([
      once(child.stdout!, 'data'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`the baseline relay exited (${String(code)}) before it listened`);
      }),
    ])) as [Buffer];
    const { port } = JSON.parse(line.toString()) as { port: number };
    return {
      url: `ws://127.0.0.1:${port}`,
      async rss() {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
      },
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}
