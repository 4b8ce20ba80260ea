/**
 * The one-command local stack (`npm start`, through scripts/dev-stack.sh): signaling on the in-process bus serving
 * the built web app, a simulated robot `sim-robot` (streamer with test sources, gateway, the demo battery service),
 * and a printed URL that signs the browser in with a development app token.
 *
 * Environment (all optional):
 *   DEV_PORT=8080               signaling + web app          DEV_HOST=127.0.0.1   interface signaling listens on
 *   DEV_GATEWAY_PORT=7600       gateway local socket         DEV_STREAMER_PORT=9110  streamer /healthz, /metrics
 *   DEV_KEYS_DIR=.dev-keys      development key pair, tokens DEV_CAMERA=1         use /dev/video0 when it exists
 *   DEV_SKIP_BUILD=1            reuse services/web/dist      LOG_LEVEL=info       children's log level
 *   STREAMER_* / GATEWAY_*      passed through to the robot processes (e.g. STREAMER_VIDEO_SOURCES)
 *
 * Ctrl-C (SIGINT) or SIGTERM stops every child (robot first, signaling last). A child that dies is reported and
 * stops the stack. SIGUSR1 takes the simulated robot offline, or brings it back (kill -USR1 <stack pid>).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { mintToken } from '@robostream/protocol/auth';
import { loadOrCreateDevKeys, publicKeyPem } from '@robostream/protocol/auth/keys';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROBOT_ID = 'sim-robot';
const APP_SUBJECT = 'dev';
const STOP_GRACE_MS = 8_000;
const READY_TIMEOUT_MS = 60_000;

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535)
    fail(`${name}=${JSON.stringify(raw)}: expected a TCP port (1-65535)`);
  return n;
}

function say(msg: string): void {
  process.stdout.write(`[stack] ${msg}\n`);
}

function fail(msg: string): never {
  process.stderr.write(`[stack] ${msg}\n`);
  process.exit(2);
}

const env = process.env;
const cfg = {
  port: port(env, 'DEV_PORT', 8080),
  host: env['DEV_HOST'] || '127.0.0.1',
  gatewayPort: port(env, 'DEV_GATEWAY_PORT', 7600),
  streamerPort: port(env, 'DEV_STREAMER_PORT', 9110),
  keysDir: resolve(ROOT, env['DEV_KEYS_DIR'] || '.dev-keys'),
  logLevel: env['LOG_LEVEL'] || 'info',
  webRoot: join(ROOT, 'services/web/dist'),
};
const signalingWs = `ws://127.0.0.1:${cfg.port}/v1/ws`;
const streamerMain = join(ROOT, 'services/streamer/src/main.ts');

// ---------------------------------------------------------------------------------------------- children

interface Child {
  name: string;
  proc: ChildProcess;
  /** Stopped on purpose (Ctrl-C, SIGUSR1): its exit is not a failure. */
  stopping: boolean;
  exited: Promise<number | null>;
}

const children: Child[] = [];
let shuttingDown = false;

const PINO_LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'svc', 'robot']);

/** One readable line per JSON log record: `[name] LEVEL message key=value ...`; other lines as they are. */
function formatLine(name: string, line: string): string {
  if (line.startsWith('{')) {
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const level =
        typeof rec['level'] === 'number' ? (PINO_LEVELS[rec['level']] ?? String(rec['level'])) : 'INFO';
      const extra = Object.entries(rec)
        .filter(([k]) => !HIDDEN_KEYS.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      return `[${name}] ${level.padEnd(5)} ${String(rec['msg'] ?? '')}${extra ? `  ${extra}` : ''}`;
    } catch {
      // not JSON after all
    }
  }
  return `[${name}] ${line}`;
}

function start(name: string, script: string, childEnv: Env): Child {
  // `node --import tsx` rather than the tsx CLI: one process per service, so signals reach it directly.
  // detached: its own process group, so a terminal's Ctrl-C reaches the stack only and the stack decides the order.
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: childEnv as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) =>
      process.stdout.write(`${formatLine(name, line)}\n`),
    );
  }
  const child: Child = {
    name,
    proc,
    stopping: false,
    exited: new Promise((resolveExit) =>
      proc.on('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : null))),
    ),
  };
  proc.on('exit', (code, signal) => {
    const i = children.indexOf(child);
    if (i >= 0) children.splice(i, 1);
    if (child.stopping || shuttingDown) return;
    say(`${name} exited unexpectedly (${signal ? `signal ${signal}` : `code ${code}`}); stopping the stack`);
    void shutdown(1);
  });
  children.push(child);
  return child;
}

async function stop(child: Child): Promise<void> {
  child.stopping = true;
  const pid = child.proc.pid;
  if (pid === undefined || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    say(`${child.name} did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
    try {
      process.kill(-pid, 'SIGKILL'); // its process group: nothing it started survives
    } catch {
      // gone meanwhile
    }
  }, STOP_GRACE_MS);
  await child.exited;
  clearTimeout(timer);
}

async function shutdown(code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    say('stopping…');
    // Robot programs first (apps see the robot leave cleanly), signaling last.
    const order = ['battery', 'vehicle', 'streamer', 'gateway', 'signaling'];
    for (const name of order) {
      const c = children.filter((x) => x.name === name);
      await Promise.all(c.map(stop));
    }
    await Promise.all([...children].map(stop));
    rmSync(poseFile, { force: true });
    say(code === 0 ? 'stopped cleanly' : 'stopped');
  }
  process.exit(code);
}

// A last resort if the stack itself exits some other way: no orphaned robot processes.
process.on('exit', () => {
  for (const c of children) {
    try {
      if (c.proc.pid !== undefined) process.kill(-c.proc.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

async function waitHttp(name: string, url: string, child: Child): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) break;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!shuttingDown) {
    say(`${name} did not become ready at ${url}`);
    await shutdown(1);
  }
}

// ---------------------------------------------------------------------------------------------- the stack

function buildWeb(): void {
  if (env['DEV_SKIP_BUILD'] === '1' && existsSync(join(cfg.webRoot, 'index.html'))) {
    say('web app: reusing services/web/dist (DEV_SKIP_BUILD=1)');
    return;
  }
  say('building the web app (services/web -> services/web/dist)');
  const r = spawnSync('npm', ['run', '--silent', 'build', '-w', 'services/web'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) fail('the web app did not build (see the output above)');
}

function videoSources(): string {
  if (env['STREAMER_VIDEO_SOURCES']) return env['STREAMER_VIDEO_SOURCES'];
  if (env['DEV_CAMERA'] === '1' && existsSync('/dev/video0')) {
    say('camera: /dev/video0 (DEV_CAMERA=1)');
    return JSON.stringify([
      { id: 'front', kind: 'v4l2', device: '/dev/video0', width: 1280, height: 720, framerate: 30 },
    ]);
  }
  if (env['DEV_CAMERA'] === '1') say('camera: DEV_CAMERA=1 but there is no /dev/video0; using test patterns');
  // Two cameras so the page shows one tile per camera; modest sizes keep x264 light on a laptop.
  return JSON.stringify([
    { id: 'front', kind: 'test', pattern: 'ball', width: 960, height: 540, framerate: 30 },
    // The demo vehicle's pose drawn over the rear picture: a viewer sees it respond to driving.
    {
      id: 'rear',
      kind: 'test',
      pattern: 'smpte',
      width: 640,
      height: 360,
      framerate: 15,
      overlayFile: poseFile,
    },
  ]);
}

/** The environment every child gets: ours minus key settings that would contradict the dev keys. */
function baseEnv(): Env {
  const e: Env = { ...env, LOG_LEVEL: cfg.logLevel };
  for (const k of [
    'SIGNING_KEY',
    'SIGNING_KEY_FILE',
    'PUBLIC_KEY',
    'PUBLIC_KEY_FILE',
    'ROBOT_TOKEN',
    'REDIS_URL',
  ])
    delete e[k];
  return e;
}

/** The demo vehicle writes its pose here; the rear test camera draws it. One per stack (its process id). */
const poseFile = join(tmpdir(), `robostream-dev-pose-${process.pid}.txt`);

const paths = {
  publicKey: join(cfg.keysDir, 'public-key.pem'),
  robotToken: join(cfg.keysDir, `${ROBOT_ID}.token`),
};

async function startRobot(): Promise<void> {
  const robotEnv: Env = {
    ...baseEnv(),
    SIGNALING_URL: signalingWs,
    ROBOT_TOKEN_FILE: paths.robotToken,
  };
  const gateway = start('gateway', 'services/gateway/src/main.ts', {
    ...robotEnv,
    GATEWAY_ROBOT_ID: ROBOT_ID,
    GATEWAY_APP_PUBLIC_KEY_FILE: paths.publicKey,
    GATEWAY_LOCAL_HOST: '127.0.0.1',
    GATEWAY_LOCAL_PORT: String(cfg.gatewayPort),
    GATEWAY_LAN_ENABLED: env['GATEWAY_LAN_ENABLED'] ?? 'false',
  });
  await waitHttp('gateway', `http://127.0.0.1:${cfg.gatewayPort}/healthz`, gateway);
  start('battery', 'examples/demo-service/battery-service.ts', {
    ...baseEnv(),
    GATEWAY_SERVICE_URL: `ws://127.0.0.1:${cfg.gatewayPort}/v1/service`,
  });
  start('vehicle', 'examples/demo-service/vehicle-service.ts', {
    ...baseEnv(),
    GATEWAY_SERVICE_URL: `ws://127.0.0.1:${cfg.gatewayPort}/v1/service`,
    DEMO_VEHICLE_POSE_FILE: poseFile,
  });
  if (!existsSync(streamerMain)) {
    say('streamer: services/streamer/src/main.ts is missing, so the robot has no video or audio');
    return;
  }
  const streamer = start('streamer', 'services/streamer/src/main.ts', {
    ...robotEnv,
    // GStreamer appsink pulls and bus polls each hold a libuv thread (docs/development.md).
    UV_THREADPOOL_SIZE: env['UV_THREADPOOL_SIZE'] ?? '64',
    STREAMER_HTTP_HOST: '127.0.0.1',
    STREAMER_HTTP_PORT: String(cfg.streamerPort),
    STREAMER_NAME: env['STREAMER_NAME'] ?? 'Simulated robot',
    STREAMER_VIDEO_SOURCES: videoSources(),
    // Browser and robot on one machine: loopback candidates are a valid path too.
    STREAMER_ICE_INCLUDE_LOOPBACK: env['STREAMER_ICE_INCLUDE_LOOPBACK'] ?? 'true',
    // Voice activity on the robot's microphone, as the gateway's `voice` service.
    STREAMER_GATEWAY_SERVICE_URL: `ws://127.0.0.1:${cfg.gatewayPort}/v1/service`,
  });
  await waitHttp('streamer', `http://127.0.0.1:${cfg.streamerPort}/healthz`, streamer);
}

async function stopRobot(): Promise<void> {
  for (const name of ['battery', 'vehicle', 'streamer', 'gateway']) {
    await Promise.all(children.filter((c) => c.name === name).map(stop));
  }
}

async function main(): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void shutdown(0));

  buildWeb();

  const keys = loadOrCreateDevKeys(cfg.keysDir);
  // The public half is what robots verify app tokens with; write it if an older key dir lacks it.
  if (!existsSync(paths.publicKey)) writeFileSync(paths.publicKey, publicKeyPem(keys.publicKey));
  const robotToken = await mintToken(keys.privateKey, {
    role: 'robot',
    sub: ROBOT_ID,
    ttlSec: 30 * 86400,
    alg: keys.alg,
  });
  writeFileSync(paths.robotToken, robotToken, { mode: 0o600 });
  chmodSync(paths.robotToken, 0o600);
  const appToken = await mintToken(keys.privateKey, {
    role: 'app',
    sub: APP_SUBJECT,
    // The developer is every robot's supervisor on their own machine.
    grants: { '*': ['view', 'talk', 'supervise'] },
    ttlSec: 12 * 3600,
    alg: keys.alg,
  });

  const signaling = start('signaling', 'services/signaling/src/main.ts', {
    ...baseEnv(),
    PORT: String(cfg.port),
    HOST: cfg.host,
    PUBLIC_KEY_FILE: paths.publicKey,
    WEB_ROOT: cfg.webRoot,
    // The recordings panel talks to the robot's HTTP port (recording is on with STREAMER_RECORD_DIR set).
    CONSOLE_CONNECT_SRC: `http://127.0.0.1:${cfg.streamerPort},http://localhost:${cfg.streamerPort}`,
  });
  await waitHttp('signaling', `http://127.0.0.1:${cfg.port}/healthz`, signaling);
  await startRobot();
  if (shuttingDown) return;

  let robotUp = true;
  process.on('SIGUSR1', () => {
    if (shuttingDown) return;
    robotUp = !robotUp;
    if (!robotUp) {
      say(`taking ${ROBOT_ID} offline (SIGUSR1 again brings it back)`);
      void stopRobot().then(() => say(`${ROBOT_ID} is offline`));
    } else {
      say(`bringing ${ROBOT_ID} back`);
      void startRobot().then(() => say(`${ROBOT_ID} is back online`));
    }
  });

  const url = `http://localhost:${cfg.port}/#token=${appToken}`;
  process.stdout.write(
    `\n[stack] ready: robot ${ROBOT_ID} is up. Open ${url}\n` +
      `[stack] (app token "${APP_SUBJECT}", every robot, 12 h; Ctrl-C stops everything; kill -USR1 ${process.pid} toggles the robot)\n\n`,
  );
}

void main().catch((err: unknown) => {
  process.stderr.write(`[stack] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  void shutdown(1);
});
