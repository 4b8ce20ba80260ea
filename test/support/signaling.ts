import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import {
  SignalingClient,
  type SignalingClientOptions,
  type WebSocketCtor,
} from '@robostream/protocol/client';
import { parseServerMessage, type ServerMessage } from '@robostream/protocol';
import { createSignalingServer, loadConfig, type SignalingServer } from '@robostream/signaling';
import type { TestKeys } from './tokens.js';

export interface RunningSignaling {
  url: string;
  httpUrl: string;
  server: SignalingServer;
  stop(): Promise<void>;
}

/** A signaling server in this process on a free loopback port. */
export async function startSignaling(
  keys: TestKeys,
  env: Record<string, string> = {},
): Promise<RunningSignaling> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_KEY: keys.publicPem,
    LOG_LEVEL: 'silent',
    SHUTDOWN_GRACE_MS: '500',
    ...env,
  });
  const server = await createSignalingServer(config);
  const httpUrl = await server.listen();
  return { url: `${httpUrl.replace(/^http/, 'ws')}/v1/ws`, httpUrl, server, stop: () => server.shutdown() };
}

export interface SpawnedSignaling {
  url: string;
  httpUrl: string;
  child: ChildProcess;
  /** Everything the process has written to stdout and stderr so far (its logs). */
  output(): string;
  /** SIGKILL: the instance dies without a word (no goaway, no unregister). */
  kill(): Promise<void>;
  /** SIGTERM: the graceful path. */
  terminate(): Promise<number | null>;
}

/** A free TCP port on loopback (the machine may be shared: never assume a fixed one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts a process on ports freePort() found, again (at most `attempts` times) when it failed with EADDRINUSE: a
 * port found free can be taken by a test running beside this one before the process listens on it (seen in CI).
 */
export async function retryOnAddressInUse<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

/**
 * A signaling server as its own process (for crash and restart tests); ready once /healthz answers for the instance
 * it logged as ready. Without a PORT of the caller's it takes a free one (another on EADDRINUSE).
 */
export async function spawnSignaling(keys: TestKeys, env: Record<string, string>): Promise<SpawnedSignaling> {
  if (env['PORT']) return spawnSignalingOn(env['PORT'], keys, env);
  return retryOnAddressInUse(async () => spawnSignalingOn(String(await freePort()), keys, env));
}

async function spawnSignalingOn(
  port: string,
  keys: TestKeys,
  env: Record<string, string>,
): Promise<SpawnedSignaling> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/signaling/src/main.ts'], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PUBLIC_KEY: keys.publicPem,
      LOG_LEVEL: 'info',
      ...env,
      PORT: port,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const httpUrl = `http://127.0.0.1:${port}`;
  // Whether the child logs its instance as ready (info), so the answer can be checked against it.
  const checkable = !/^(warn|error|fatal|silent)$/.test(env['LOG_LEVEL'] ?? '');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`signaling exited (${child.exitCode}) before it was ready: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`signaling did not start in time: ${stderr}`);
    }
    try {
      const res = await fetch(`${httpUrl}/healthz`);
      // Another test's server may have taken the port between freePort() and this child's listen (the child then
      // exits with EADDRINUSE and is retried): the answer counts only when it names the instance this child
      // logged as ready. A caller that silences info logs gets the first answer, unchecked.
      const { instanceId } = (await res.json()) as { instanceId?: string };
      if (res.status === 200 && (!checkable || out.includes(`"instanceId":"${instanceId}"`))) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `${httpUrl.replace(/^http/, 'ws')}/v1/ws`,
    httpUrl,
    child,
    output: () => out + stderr,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
    async terminate() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

export function client(
  url: string,
  token: SignalingClientOptions['token'],
  extra: Partial<SignalingClientOptions> = {},
): SignalingClient {
  return new SignalingClient({
    url,
    token,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    requestTimeoutMs: 5000,
    ...extra,
  });
}

/** A bare socket speaking raw frames, for tests that send what a well-behaved client never would. */
export class RawSocket {
  readonly ws: WebSocket;
  readonly received: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (d) => {
      const parsed = parseServerMessage(d.toString());
      if (!parsed.ok)
        throw new Error(`server sent an invalid frame: ${parsed.error.message}: ${d.toString()}`);
      this.received.push(parsed.msg);
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on('error', () => undefined);
  }

  static async open(url: string): Promise<RawSocket> {
    const s = new RawSocket(url);
    await once(s.ws, 'open');
    return s;
  }

  /** Deliberately loose: tests send what a well-behaved client never would. */
  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }
  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Waits for the first not-yet-taken message matching the predicate. */
  async next<T extends ServerMessage['type']>(
    type: T,
    pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex(
        (m) => m.type === type && pred(m as Extract<ServerMessage, { type: T }>),
      );
      if (i >= 0) return this.received.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      if (this.closed)
        throw new Error(
          `socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${type}; got ${JSON.stringify(this.received)}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket not closed in time');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }

  async authenticate(token: string): Promise<Extract<ServerMessage, { type: 'welcome' }>> {
    this.send({ type: 'authenticate', token });
    return this.next('welcome');
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Polls until the condition holds (no fixed sleeps in tests). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
