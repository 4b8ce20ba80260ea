/**
 * Gateway benchmark: app -> service -> app round trip over a direct wss link, against a bare `ws` echo over wss
 * measured in the same run (same certificate, same client code, same machine load).
 *
 *   npx tsx bench/gateway/round-trip.ts [--rtt 5000] [--pipelined 50000] [--stream 100000]
 *
 * Processes: the gateway (services/gateway/src/main.ts) and the echo service each run in their own process, the
 * app in this one; the baseline echo server runs in its own process too. Printed figures only; no pass/fail.
 * The data-channel transport is measured here once the lead wires it (it plugs in as another AppLink).
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
  ws: WebSocket;
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
    gwWs.send(JSON.stringify({ v, type: 'auth', token }));
    await nextFrame(gwWs, (f) => f.includes('"welcome"'));
    gwWs.send(JSON.stringify({ v, type: 'lock.take' }));
    await nextFrame(gwWs, (f) => f.includes('"lock.state"'));

    const gateway: Transport = {
      name: 'gateway (direct wss)',
      ws: gwWs,
      request: (tag) => `{"v":1,"type":"command","id":"${tag}","service":"echo","payload":${tag}}`,
      answerTag: (f) =>
        f.startsWith('{"v":1,"type":"reply"') ? Number((JSON.parse(f) as { ref: string }).ref) : null,
      streamRequest: (n) =>
        JSON.stringify({ v, type: 'command', id: 'stream', service: 'echo', payload: { stream: n } }),
      streamCount: (f) => {
        if (f.startsWith('{"v":1,"type":"telemetry"')) return { received: 1, dropped: 0 };
        if (f.startsWith('{"v":1,"type":"drops"'))
          return { received: 0, dropped: (JSON.parse(f) as { dropped: number }).dropped };
        return { received: 0, dropped: 0 };
      },
    };
    const baseline: Transport = {
      name: 'bare ws echo (wss)',
      ws: await open(`wss://127.0.0.1:${echoPort}/`, ca),
      request: (tag) => `{"v":1,"type":"command","id":"${tag}","service":"echo","payload":${tag}}`,
      answerTag: (f) =>
        f.startsWith('{"v":1,"type":"command"') ? Number((JSON.parse(f) as { id: string }).id) : null,
      streamRequest: (n) => JSON.stringify({ stream: n }),
      streamCount: (f) => ({ received: f.startsWith('{"v":1,"type":"telemetry"') ? 1 : 0, dropped: 0 }),
    };

    const rows: string[][] = [];
    for (const tr of [baseline, gateway, baseline, gateway]) {
      // Interleaved twice: the second pass is reported (warm JIT, warm sockets); the first is warm-up.
      const rtt = await roundTrips(tr, RTT_N);
      const pipe = await pipelined(tr, PIPE_N, 256);
      const stream = await streamed(tr, STREAM_N);
      rows.push([
        tr.name,
        fmt(rtt.p50),
        fmt(rtt.p99),
        fmt(rtt.mean),
        int(pipe),
        int(stream.rate),
        String(stream.dropped),
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
    ];
    const table = [head, ...rows.slice(2)];
    const widths = head.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    gwWs.close();
    baseline.ws.close();
  } finally {
    stop();
  }
}

async function roundTrips(tr: Transport, n: number): Promise<{ p50: number; p99: number; mean: number }> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    tr.ws.send(tr.request(i));
    await nextFrame(tr.ws, (f) => tr.answerTag(f) === i);
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
    const onMsg = (data: WebSocket.RawData) => {
      if (tr.answerTag(data.toString()) === null) return;
      done++;
      if (sent < n) tr.ws.send(tr.request(sent++));
      if (done === n) {
        tr.ws.off('message', onMsg);
        resolve((n / (performance.now() - t0)) * 1000);
      }
    };
    tr.ws.on('message', onMsg);
    while (sent < Math.min(window, n)) tr.ws.send(tr.request(sent++));
  });
}

/** Frames per second from the far end to the app through one link. */
function streamed(tr: Transport, n: number): Promise<{ rate: number; dropped: number }> {
  return new Promise((resolve) => {
    let received = 0;
    let dropped = 0;
    const t0 = performance.now();
    const onMsg = (data: WebSocket.RawData) => {
      const c = tr.streamCount(data.toString());
      received += c.received;
      dropped += c.dropped;
      if (received + dropped === n) {
        tr.ws.off('message', onMsg);
        resolve({ rate: (received / (performance.now() - t0)) * 1000, dropped });
      }
    };
    tr.ws.on('message', onMsg);
    tr.ws.send(tr.streamRequest(n));
  });
}

function open(url: string, ca: Buffer): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextFrame(ws: WebSocket, pred: (f: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const on = (d: WebSocket.RawData) => {
      const f = d.toString();
      if (!pred(f)) return;
      ws.off('message', on);
      resolve(f);
    };
    ws.on('message', on);
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
