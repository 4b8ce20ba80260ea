// A child process inside a lab namespace, optionally pinned to one CPU (so that a robot on CPU 0 and a browser on
// CPU 1 behave like two machines on this 2-core box), speaking JSON lines on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** The repository root, where `node --import tsx` finds its loader. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface NsProcess {
  child: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the first stdout line for which `match` holds (also a line printed before the call). */
  waitLine(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string>;
  onLine(listener: (line: string) => void): void;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export function spawnInNamespace(
  ns: string,
  argv: string[],
  o: { cpu?: number; env?: Record<string, string>; stderr?: 'inherit' | 'ignore' } = {},
): NsProcess {
  const pinned = o.cpu === undefined ? argv : ['taskset', '-c', String(o.cpu), ...argv];
  const child = spawn('ip', ['netns', 'exec', ns, ...pinned], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['pipe', 'pipe', o.stderr ?? 'inherit'],
  });
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const l of listeners) l(line);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    onLine: (l) => listeners.push(l),
    waitLine(match, timeoutMs, what) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`${what}: the process exited (${code}) first`));
        });
        listeners.push((line) => {
          if (!match(line)) return;
          clearTimeout(t);
          resolve(line);
        });
      });
    },
    exited,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([
        exited.then(() => true),
        new Promise((r) => setTimeout(r, 3000, false)),
      ]);
      if (!done) child.kill('SIGKILL');
    },
  };
}

/** A TypeScript entry point run with tsx inside a namespace. */
export function spawnTsInNamespace(
  ns: string,
  script: string,
  args: string[],
  o: { cpu?: number; env?: Record<string, string>; stderr?: 'inherit' | 'ignore' } = {},
): NsProcess {
  return spawnInNamespace(ns, [process.execPath, '--import', 'tsx', script, ...args], o);
}
