// Runs the one-command local stack (`bash scripts/dev-stack.sh`, what `npm start` runs) as a child process on
// free ports and gives the test its output lines, the printed URL, and ways to toggle the robot and stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalStack {
  proc: ChildProcess;
  url: string;
  ports: { web: number; gateway: number; streamer: number };
  lines: string[];
  /** Resolves with the first line (from `from` on) that matches. */
  waitForLine(re: RegExp, what: string, timeoutMs?: number, from?: number): Promise<RegExpExecArray>;
  /** SIGUSR1: the stack takes the simulated robot offline, or brings it back. */
  toggleRobot(): void;
  /** SIGINT, as Ctrl-C would; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startLocalStack(env: Record<string, string>, echo = false): Promise<LocalStack> {
  const ports = { web: await freePort(), gateway: await freePort(), streamer: await freePort() };
  const proc = spawn('bash', ['scripts/dev-stack.sh'], {
    env: {
      ...process.env,
      DEV_PORT: String(ports.web),
      DEV_GATEWAY_PORT: String(ports.gateway),
      DEV_STREAMER_PORT: String(ports.streamer),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  for (const s of [proc.stdout, proc.stderr]) {
    createInterface({ input: s }).on('line', (line) => {
      lines.push(line);
      if (echo) process.stdout.write(`  | ${line.slice(0, 300)}\n`);
      for (const w of waiters) w();
    });
  }

  function waitForLine(re: RegExp, what: string, timeoutMs = 30_000, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      let next = from;
      const check = (): boolean => {
        for (; next < lines.length; next++) {
          const m = re.exec(lines[next] ?? '');
          if (m) {
            done();
            resolve(m);
            return true;
          }
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${what}: no line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-25).join('\n')}`,
          ),
        );
      }, timeoutMs);
      const onExit = () => {
        if (check()) return;
        done();
        reject(new Error(`${what}: the stack exited; last lines:\n${lines.slice(-25).join('\n')}`));
      };
      const done = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
        proc.off('exit', onExit);
      };
      const waiter = () => void check();
      waiters.add(waiter);
      proc.once('exit', onExit);
      check();
    });
  }

  const ready = await waitForLine(
    /Open (http:\/\/localhost:\d+\/#token=\S+)/,
    'the stack to print its URL',
    120_000,
  );
  return {
    proc,
    url: ready[1] ?? '',
    ports,
    lines,
    waitForLine,
    toggleRobot: () => proc.kill('SIGUSR1'),
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGINT');
      return exited;
    },
  };
}
