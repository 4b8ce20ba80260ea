/**
 * Gateway benchmark: app -> service -> app round trip over a direct wss link and over the WebRTC data channels
 * (through signaling), against a bare `ws` echo over wss measured in the same run (same machine load).
 *
 *   npx tsx bench/gateway/round-trip.ts [--rtt 5000] [--pipelined 50000] [--stream 100000]
 *
 * Processes: the gateway (services/gateway/src/main.ts, with SIGNALING_URL and ROBOT_TOKEN) and the echo service
 * each run in their own process; the baseline echo server runs in its own process too. This process holds the
 * apps (a ws client for wss, a werift peer for the data channels) and a signaling server (setup only).
 * Printed figures only; no pass/fail. Data-channel telemetry is lossy by contract (maxRetransmits 0): frames lost
 * on the way are reported as `lost`, frames the gateway dropped (slow reader) as `dropped`.
 * Ends with one summary line: gateway-round-trip wss_rtt_p50_ms=… wss_rtt_p99_ms=… dc_rtt_p50_ms=… dc_rtt_p99_ms=…
 * bare_rtt_p50_ms=… wss_vs_bare_pct=… dc_round_trips_s=…
 * One file over 400 lines on purpose: a bench is read top to bottom next to the figures it prints.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { mintToken } from '@robostream/protocol/auth';
import { generateSigningKeys, publicKeyPem } from '@robostream/protocol/auth/keys';
import { GATEWAY_ENVELOPE_VERSION as v } from '@robostream/protocol/gateway';
import { ServiceClient } from '@robostream/gateway/client';
import { createSignalingServer } from '@robostream/signaling';
import { openWeriftGatewayApp } from '../support/werift-gateway-app.js';

const self = new URL(import.meta.url).pathname;
const role = process.argv[2];
if (role === 'echo-server') await echoServer(process.argv[3]!);
else if (role === 'service') await echoService(process.argv[3]!);
else await main();

// ---------------------------------------------------------------- child roles

/** The baseline: a bare ws echo over wss. {"stream":N} asks for N frames back-to-back. */
async function echoServer(certDir: string): Promise<void> {
  const server = createServer({
    cert: readFileSync(join(certDir, 'cert.pem')),
    key: readFileSync(join(certDir, 'key.pem')),
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const s = data.toString();
      if (s.startsWith('{"stream"')) {
        const n = (JSON.parse(s) as { stream: number }).stream;
        streamFrames(n, (i) =>
          ws.send(JSON.stringify({ v, type: 'telemetry', service: 'echo', payload: { i } })),
        );
      } else ws.send(s);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`PORT ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
  });
}

/** The robot program: replies to every command; {"stream":N} sends N telemetry frames. */
async function echoService(url: string): Promise<void> {
  const svc = new ServiceClient({ url, service: 'echo' });
  svc.on('command', (cmd) => {
    const p = cmd.payload as { stream?: number } | null;
    if (p && typeof p.stream === 'number') {
      streamFrames(p.stream, (i) => svc.telemetry({ i }));
      svc.reply(cmd, true);
    } else svc.reply(cmd, true, cmd.payload);
  });
  await svc.ready();
  process.stdout.write('READY\n');
}

/** Sends n frames in slices so the socket's write callbacks run (as a real producer would). */
function streamFrames(n: number, send: (i: number) => void): void {
  let i = 0;
  const slice = () => {
    const end = Math.min(n, i + 2000);
    for (; i < end; i++) send(i);
    if (i < n) setImmediate(slice);
  };
  slice();
}

// ---------------------------------------------------------------- the bench

interface Transport {
  name: string;
  send(frame: string): void;
  /** Every incoming frame; returns the unsubscribe. */
  onFrame(handler: (frame: string) => void): () => void;
  /** Before each measurement: gateway links take the control lock (only the operator may send commands). */
  prepare?(): Promise<void>;
  /** Frame for one echo request with a numeric tag. */
  request(tag: number): string;
  /** The tag of an echo answer, or null for other frames. */
  answerTag(frame: string): number | null;
  /** Starts a stream of n frames; returns how to count them (received + dropped). */
  streamRequest(n: number): string;
  streamCount(frame: string): { received: number; dropped: number };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rtt: { type: 'string', default: '5000' },
      pipelined: { type: 'string', default: '50000' },
      stream: { type: 'string', default: '100000' },
    },
  });
  const RTT_N = Number(values.rtt);
  const PIPE_N = Number(values.pipelined);
  const STREAM_N = Number(values.stream);

  const certDir = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=robot.local',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(certDir, 'key.pem'),
      '-out',
      join(certDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const ca = readFileSync(join(certDir, 'cert.pem'));
  const keys = generateSigningKeys('EdDSA');
  const children: ChildProcess[] = [];
  const stop = () => children.forEach((c) => c.kill('SIGTERM'));
  process.on('exit', stop);
  // Interrupted (Ctrl-C, timeout): take the child processes down too.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

  // Signaling in this process: only the data-channel setup goes through it.
  const signaling = await createSignalingServer({
    port: 0,
    host: '127.0.0.1',
    publicKey: keys.publicKey,
    logLevel: 'silent',
    shutdownGraceMs: 200,
  });
  const signalingUrl = `${(await signaling.listen()).replace(/^http/, 'ws')}/v1/ws`;

  try {
    // Gateway, as deployed: its own process, env config, wss with the certificate.
    const gw = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
      env: {
        ...process.env,
        GATEWAY_ROBOT_ID: 'bench',
        GATEWAY_APP_PUBLIC_KEY: publicKeyPem(keys.publicKey),
        GATEWAY_LOCAL_PORT: '0',
        GATEWAY_LAN_HOST: '127.0.0.1',
        GATEWAY_LAN_PORT: '0',
        GATEWAY_TLS_CERT_FILE: join(certDir, 'cert.pem'),
        GATEWAY_TLS_KEY_FILE: join(certDir, 'key.pem'),
        GATEWAY_RELIABLE_QUEUE: '100000',
        GATEWAY_TELEMETRY_QUEUE: String(STREAM_N),
        GATEWAY_DEADMAN_MS: '60000',
        SIGNALING_URL: signalingUrl,
        ROBOT_TOKEN: await mintToken(keys.privateKey, {
          role: 'robot',
          sub: 'bench',
          ttlSec: 600,
          alg: 'EdDSA',
        }),
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(gw);
    const listening = JSON.parse(await lineMatching(gw, 'gateway listening')) as {
      local: string;
      lan: string;
    };
    const svc = spawn(
      process.execPath,
      ['--import', 'tsx', self, 'service', `ws://${listening.local}/v1/service`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(svc);
    await lineMatching(svc, 'READY');
    const echo = spawn(process.execPath, ['--import', 'tsx', self, 'echo-server', certDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(echo);
    const echoPort = (await lineMatching(echo, 'PORT')).split(' ')[1];

    const token = await mintToken(keys.privateKey, {
      role: 'app',
      sub: 'bench',
      robots: ['bench'],
      ttlSec: 600,
      alg: 'EdDSA',
    });
    const gwWs = await open(`wss://${listening.lan}/v1/app`, ca);
    const envelope = {
      request: (tag: number) => `{"v":1,"type":"command","id":"${tag}","service":"echo","payload":${tag}}`,
      answerTag: (f: string) =>
        f.startsWith('{"v":1,"type":"reply"') ? Number((JSON.parse(f) as { ref: string }).ref) : null,
      streamRequest: (n: number) =>
        JSON.stringify({ v, type: 'command', id: 'stream', service: 'echo', payload: { stream: n } }),
      streamCount: (f: string) => {
        if (f.startsWith('{"v":1,"type":"telemetry"')) return { received: 1, dropped: 0 };
        if (f.startsWith('{"v":1,"type":"drops"'))
          return { received: 0, dropped: (JSON.parse(f) as { dropped: number }).dropped };
        return { received: 0, dropped: 0 };
      },
    };
    const gateway: Transport = { name: 'gateway (direct wss)', ...wsIo(gwWs), ...envelope };
    gateway.prepare = () => takeLock(gateway);
    await authenticate(gateway, token);

    // The data-channel app: werift in this process, through signaling, once the gateway has registered.
    const probe = await openProbe(signalingUrl, token);
    const dcApp = await openWeriftGatewayApp({ signalingUrl, token, robotId: 'bench' });
    probe.close();
    const datachannel: Transport = {
      name: 'gateway (data channels)',
      send: (f) => dcApp.reliable.send(f),
      onFrame: (h) => {
        const subs = [dcApp.reliable, dcApp.lossy].map((dc) =>
          dc.onMessage.subscribe((d) => {
            const text = typeof d === 'string' ? d : d.toString('utf8');
            // A batch (a JSON array of frames) is split back into frames for the string matchers.
            if (text.startsWith('[')) for (const f of JSON.parse(text) as unknown[]) h(JSON.stringify(f));
            else h(text);
          }),
        );
        return () => subs.forEach((x) => x.unSubscribe());
      },
      ...envelope,
    };
    datachannel.prepare = () => takeLock(datachannel);
    await authenticate(datachannel, token);

    const baselineWs = await open(`wss://127.0.0.1:${echoPort}/`, ca);
    const baseline: Transport = {
      name: 'bare ws echo (wss)',
      ...wsIo(baselineWs),
      request: (tag) => `{"v":1,"type":"command","id":"${tag}","service":"echo","payload":${tag}}`,
      answerTag: (f) =>
        f.startsWith('{"v":1,"type":"command"') ? Number((JSON.parse(f) as { id: string }).id) : null,
      streamRequest: (n) => JSON.stringify({ stream: n }),
      streamCount: (f) => ({ received: f.startsWith('{"v":1,"type":"telemetry"') ? 1 : 0, dropped: 0 }),
    };

    const rows: string[][] = [];
    const measured: { rtt: { p50: number; p99: number }; pipe: number }[] = [];
    const paths = [baseline, gateway, datachannel];
    for (const tr of [...paths, ...paths]) {
      // Interleaved twice: the second pass is reported (warm JIT, warm sockets); the first is warm-up.
      await tr.prepare?.();
      const rtt = await roundTrips(tr, RTT_N);
      const pipe = await pipelined(tr, PIPE_N, 256);
      const stream = await streamed(tr, STREAM_N);
      measured.push({ rtt, pipe });
      rows.push([
        tr.name,
        fmt(rtt.p50),
        fmt(rtt.p99),
        fmt(rtt.mean),
        int(pipe),
        int(stream.rate),
        String(stream.dropped),
        String(stream.lost),
      ]);
    }
    console.log(
      `\nround trips: ${RTT_N} sequential; pipelined: ${PIPE_N} with 256 in flight; stream: ${STREAM_N} frames one way`,
    );
    console.log(
      `machine: ${process.platform} ${process.arch}, node ${process.version}, app in this process; gateway, service and echo server in their own\n`,
    );
    const head = [
      'path',
      'rtt p50 ms',
      'rtt p99 ms',
      'rtt mean ms',
      'round trips/s (pipelined)',
      'frames/s one way',
      'dropped',
      'lost',
    ];
    const table = [head, ...rows.slice(paths.length)];
    const widths = head.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    const [bare, wss, dc] = measured.slice(paths.length);
    console.log(
      `gateway-round-trip wss_rtt_p50_ms=${fmt(wss!.rtt.p50)} wss_rtt_p99_ms=${fmt(wss!.rtt.p99)} ` +
        `dc_rtt_p50_ms=${fmt(dc!.rtt.p50)} dc_rtt_p99_ms=${fmt(dc!.rtt.p99)} bare_rtt_p50_ms=${fmt(bare!.rtt.p50)} ` +
        `wss_vs_bare_pct=${Math.round((100 * wss!.pipe) / bare!.pipe)} dc_round_trips_s=${Math.round(dc!.pipe)}`,
    );
    gwWs.close();
    baselineWs.close();
    await dcApp.close();
  } finally {
    stop();
    await signaling.shutdown();
  }
}

async function roundTrips(tr: Transport, n: number): Promise<{ p50: number; p99: number; mean: number }> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const answered = nextFrame(tr, (f) => tr.answerTag(f) === i);
    tr.send(tr.request(i));
    await answered;
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return {
    p50: samples[Math.floor(n * 0.5)]!,
    p99: samples[Math.floor(n * 0.99)]!,
    mean: samples.reduce((s, x) => s + x, 0) / n,
  };
}

/** Round trips per second with `window` requests in flight. */
function pipelined(tr: Transport, n: number, window: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    const t0 = performance.now();
    const off = tr.onFrame((f) => {
      if (tr.answerTag(f) === null) return;
      done++;
      if (sent < n) tr.send(tr.request(sent++));
      if (done === n) {
        off();
        resolve((n / (performance.now() - t0)) * 1000);
      }
    });
    while (sent < Math.min(window, n)) tr.send(tr.request(sent++));
  });
}

/**
 * Frames per second from the far end to the app through one link. Ends when every frame is accounted for, or
 * (lossy channels) one second after the last one; the rate is counted up to the last frame received.
 */
function streamed(tr: Transport, n: number): Promise<{ rate: number; dropped: number; lost: number }> {
  return new Promise((resolve) => {
    let received = 0;
    let dropped = 0;
    const t0 = performance.now();
    let last = t0;
    const finish = () => {
      off();
      clearInterval(idle);
      resolve({ rate: (received / (last - t0)) * 1000, dropped, lost: n - received - dropped });
    };
    const off = tr.onFrame((f) => {
      const c = tr.streamCount(f);
      if (c.received + c.dropped === 0) return;
      received += c.received;
      dropped += c.dropped;
      last = performance.now();
      if (received + dropped === n) finish();
    });
    const idle = setInterval(() => {
      if (performance.now() - last > 1_000) finish();
    }, 100);
    tr.send(tr.streamRequest(n));
  });
}

function wsIo(ws: WebSocket): Pick<Transport, 'send' | 'onFrame'> {
  return {
    send: (f) => ws.send(f),
    onFrame: (h) => {
      const on = (d: WebSocket.RawData) => h(d.toString());
      ws.on('message', on);
      return () => ws.off('message', on);
    },
  };
}

async function authenticate(tr: Transport, token: string): Promise<void> {
  const welcome = nextFrame(tr, (f) => f.includes('"welcome"'));
  tr.send(JSON.stringify({ v, type: 'auth', token }));
  await welcome;
}

async function takeLock(tr: Transport): Promise<void> {
  const lock = nextFrame(tr, (f) => f.includes('"lock.state"'));
  tr.send(JSON.stringify({ v, type: 'lock.takeover' }));
  await lock;
}

/** Waits until the gateway's `gateway` endpoint is registered with signaling. */
async function openProbe(url: string, token: string): Promise<{ close(): void }> {
  const { SignalingClient } = await import('@robostream/protocol/client');
  const c = new SignalingClient({ url, token, WebSocket: WebSocket as never, reconnect: false });
  await c.connect();
  for (;;) {
    const robots = await c.listRobots();
    if (robots.some((r) => r.robotId === 'bench' && r.endpoints.some((e) => e.name === 'gateway'))) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return { close: () => c.close() };
}

function open(url: string, ca: Buffer): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextFrame(tr: Pick<Transport, 'onFrame'>, pred: (f: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const off = tr.onFrame((f) => {
      if (!pred(f)) return;
      off();
      resolve(f);
    });
  });
}

function lineMatching(child: ChildProcess, needle: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const on = (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.includes(needle));
      if (line) {
        child.stdout!.off('data', on);
        child.stdout!.resume(); // keep draining the child's logs
        resolve(line);
      }
    };
    child.stdout!.on('data', on);
    child.once('exit', (code) => reject(new Error(`child exited ${code} before "${needle}"`)));
  });
}

function fmt(x: number): string {
  return x.toFixed(3);
}
function int(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}
