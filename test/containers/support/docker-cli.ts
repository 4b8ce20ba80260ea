/**
 * The docker CLI for the container tests: building the project's images from docker/, reading compose.yaml's
 * resolved configuration, and a few inspections. Everything goes through `docker` itself (the same commands a
 * person runs), with errors that carry the command's own output.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Tag of the images the tests build and run (separate from a developer's `dev` images). */
export const TEST_TAG = 'test';

export function docker(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      'docker',
      args,
      {
        cwd: REPO_ROOT,
        env: options.env ?? process.env,
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 600_000,
      },
      (err, stdout, stderr) => {
        if (err) {
          const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n');
          reject(new Error(`docker ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${tail}`));
        } else resolve({ stdout, stderr });
      },
    );
  });
}

export const IMAGES = {
  signaling: { dockerfile: 'docker/signaling.Dockerfile', tag: `robostream/signaling:${TEST_TAG}` },
  edge: { dockerfile: 'docker/edge.Dockerfile', tag: `robostream/edge:${TEST_TAG}` },
  robot: { dockerfile: 'docker/robot.Dockerfile', tag: `robostream/robot:${TEST_TAG}` },
} as const;
export type ImageName = keyof typeof IMAGES;

const built = new Map<string, Promise<void>>();

/**
 * Builds the named images from docker/ (once per test process). BuildKit's layer cache makes an unchanged
 * image a few seconds' check rather than a rebuild.
 */
export async function buildImages(...names: ImageName[]): Promise<void> {
  await buildImagesTagged(TEST_TAG, names);
}

/**
 * The same images under another tag (ROBOSTREAM_TAG): a bench run from one checkout must not retag the `test`
 * images a container test of another checkout is about to start.
 */
export async function buildImagesTagged(tag: string, names: ImageName[]): Promise<void> {
  for (const name of names) {
    const ref = IMAGES[name].tag.replace(/:[^:]+$/, `:${tag}`);
    let p = built.get(ref);
    if (!p) {
      p = docker(['build', '-q', '-f', IMAGES[name].dockerfile, '-t', ref, '.']).then(() => undefined);
      built.set(ref, p);
    }
    await p;
  }
}

/** The container's address on one of its networks (the host reaches it directly on Linux). */
export async function containerIp(container: string, network?: string): Promise<string> {
  const { stdout } = await docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', container]);
  const nets = JSON.parse(stdout) as Record<string, { IPAddress: string }>;
  const entry = network ? nets[network] : Object.values(nets)[0];
  if (!entry?.IPAddress) throw new Error(`${container} has no address${network ? ` on ${network}` : ''}`);
  return entry.IPAddress;
}

/** The gateway of Docker's default bridge: an address of this machine that containers and the host reach. */
export async function dockerHostAddress(): Promise<string> {
  const { stdout } = await docker([
    'network',
    'inspect',
    'bridge',
    '-f',
    '{{(index .IPAM.Config 0).Gateway}}',
  ]);
  return stdout.trim();
}

export async function containerLogs(container: string): Promise<string> {
  const { stdout, stderr } = await docker(['logs', container]);
  return stdout + stderr;
}

/** A TCP port nobody listens on right now (also used for UDP: the machine is shared, 3478 may be taken). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until `done` holds; fails with the last value after `timeoutMs` (a liveness bound only). */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  done: (v: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (err) {
      error = err;
    }
    if (Date.now() > deadline) {
      const why = last === undefined ? String(error) : JSON.stringify(last);
      throw new Error(`timed out waiting for ${what}; last: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** For waitFor on page stats: a session the robot closed (e.g. cannot answer) fails at once, with its reason. */
export function sessionOpen<T extends { sessionClosed: string | null }>(
  done: (s: T) => boolean,
): (s: T) => boolean {
  return (s) => {
    if (s.sessionClosed) throw new Error(`the robot closed the session: ${s.sessionClosed}`);
    return done(s);
  };
}

/** Robot stats lines the streamer logs every STREAMER_STATS_INTERVAL_MS: decoded buffers of the app's mic. */
export function robotMicBuffers(logs: string): number {
  return Math.max(0, ...robotMicBuffersBySession(logs).values());
}

/** The same per robot session (the streamer's `session` field): the most each one's audio sink decoded. */
export function robotMicBuffersBySession(logs: string): Map<string, number> {
  const best = new Map<string, number>();
  for (const line of logs.split('\n')) {
    if (!line.includes('"session stats"')) continue;
    try {
      const entry = JSON.parse(line) as { sinks?: unknown; session?: unknown };
      const m = /audio:(\d+)/.exec(String(entry.sinks ?? ''));
      const session = String(entry.session ?? '');
      if (m) best.set(session, Math.max(best.get(session) ?? 0, Number(m[1])));
    } catch {
      // not a JSON log line
    }
  }
  return best;
}
