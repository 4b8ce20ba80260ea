/**
 * Relay latency and throughput, app -> robot, through:
 *   bare    a bare ws relay (the baseline, same machine, same run)
 *   local   one signaling instance, in-process bus
 *   redis   robot on instance A, app on instance B, through Redis pub/sub (reached at the container's own
 *           address: the mapped port on localhost runs every command and message through docker-proxy, a hop no
 *           deployment has; measured through it, p50 at 5,000 msgs/s was 0.1-0.2 ms higher)
 * Every server is its own process; the clients live here so send and receive times share one clock.
 *
 *   npm run bench -- signaling/relay      (RUNS=3 DURATION_MS=3000 THROUGHPUT_N=30000)
 * GC_ATTRIBUTION=1: both instances of the Redis path record their GC pauses (bench/support/gc-pauses.mjs), as does
 * this process, and each run at 5,000 msgs/s is followed by which of its slowest 1 % were in flight during a pause
 * of which process.
 * Ends with one summary line: signaling-relay p50_ms_at_5000=… p99_ms_at_5000=… max_msgs_s=… vs_bare_pct=… bare_msgs_s=… runs=…
 */
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { PerformanceObserver } from 'node:perf_hooks';
import WebSocket from 'ws';
import { TestKeys } from '../../test/support/tokens.js';
import { spawnSignaling } from '../../test/support/signaling.js';
import { startRedis } from '../../test/support/docker.js';
import { median, summarize, table } from '../support/stats.js';
import { startBareRelay } from '../support/bare-relay-process.js';

const RUNS = Number(process.env['RUNS'] ?? 3);
const DURATION_MS = Number(process.env['DURATION_MS'] ?? 3000);
const THROUGHPUT_N = Number(process.env['THROUGHPUT_N'] ?? 30_000);
const RATES = [1000, 5000];
const GC_ATTRIBUTION = process.env['GC_ATTRIBUTION'] === '1';
const keys = new TestKeys();
const UNLIMITED = {
  RATE_MESSAGES_PER_SEC: '100000',
  RATE_BURST: '100000',
  CONNECTIONS_PER_IP_PER_MIN: '100000',
  LOG_LEVEL: 'warn',
};

interface Pair {
  send(seq: number): void;
  onReceive(fn: (seq: number, sentAt: number) => void): void;
  close(): void;
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  return ws;
}

function nextMessage(ws: WebSocket, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (d: WebSocket.RawData) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (m['type'] === type) {
        ws.off('message', on);
        resolve(m);
      }
    };
    ws.on('message', on);
  });
}

/** The message relayed: a trickled ICE candidate, the most frequent signaling message. */
function candidateFrame(sessionId: string, seq: number): string {
  return JSON.stringify({
    type: 'candidate',
    sessionId,
    candidate: {
      candidate: `candidate:${seq} 1 udp 2122260223 192.168.1.20 ${performance.now()} typ host generation 0`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    },
  });
}
function parseCandidate(raw: string): [number, number] {
  const m = /candidate:(\d+) 1 udp 2122260223 192\.168\.1\.20 ([\d.]+) /.exec(raw);
  return [Number(m![1]), Number(m![2])];
}

async function signalingPair(appUrl: string, robotUrl: string, robotId: string): Promise<Pair> {
  const robot = await open(robotUrl);
  robot.send(JSON.stringify({ type: 'authenticate', token: await keys.robot(robotId) }));
  await nextMessage(robot, 'welcome');
  robot.send(JSON.stringify({ type: 'register', endpoint: 'media' }));
  await nextMessage(robot, 'registered');
  const app = await open(appUrl);
  app.send(JSON.stringify({ type: 'authenticate', token: await keys.app('bench', '*') }));
  await nextMessage(app, 'welcome');
  app.send(JSON.stringify({ type: 'session_open', robotId, endpoint: 'media' }));
  const req = await nextMessage(robot, 'session_request');
  const sessionId = req['sessionId'] as string;
  robot.send(JSON.stringify({ type: 'session_accept', sessionId }));
  await nextMessage(app, 'session_accepted');
  return {
    send: (seq) => app.send(candidateFrame(sessionId, seq)),
    onReceive: (fn) =>
      robot.on('message', (d) => {
        const s = d.toString();
        if (s.includes('"candidate"')) fn(...parseCandidate(s));
      }),
    close: () => {
      app.close();
      robot.close();
    },
  };
}

async function barePair(url: string): Promise<Pair> {
  const robot = await open(url);
  const app = await open(url);
  return {
    send: (seq) => app.send(candidateFrame('bare', seq)),
    onReceive: (fn) => robot.on('message', (d) => fn(...parseCandidate(d.toString()))),
    close: () => {
      app.close();
      robot.close();
    },
  };
}

/**
 * Paced at `rate` msgs/s for DURATION_MS, in 5 ms ticks (the sender must not spin: it shares two cores with the
 * servers); one-way latency of each message from its own send time.
 */
async function latencyAt(
  pair: Pair,
  rate: number,
  record?: Sent[],
): Promise<{ p50: number; p99: number; lost: number }> {
  const lat: number[] = [];
  let received = 0;
  pair.onReceive((_, sentAt) => {
    const ms = performance.now() - sentAt;
    lat.push(ms);
    record?.push({ at: performance.timeOrigin + sentAt, ms });
    received++;
  });
  const total = Math.round((rate * DURATION_MS) / 1000);
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) pair.send(sent++);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  const deadline = performance.now() + 5000;
  while (received < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const s = summarize(lat);
  return { p50: s.p50, p99: s.p99, lost: total - received };
}

/** One message: when it was sent (epoch ms) and how long it took. */
interface Sent {
  at: number;
  ms: number;
}

/** A GC pause of one process, from bench/support/gc-pauses.mjs's lines in its output. */
interface Pause {
  start: number;
  end: number;
}

function pausesIn(output: string): Pause[] {
  const pauses: Pause[] = [];
  for (const m of output.matchAll(/^GC \d+ ([\d.]+) ([\d.]+)$/gm))
    pauses.push({ start: Number(m[1]), end: Number(m[1]) + Number(m[2]) });
  return pauses;
}

/**
 * Of a run's slowest 1 %, how many were in flight during a GC pause of each process (the app's instance, the
 * robot's, this bench's own clients), and how many during none.
 */
function attribution(run: Sent[], sources: [name: string, pauses: Pause[]][]): string {
  const overlaps = (m: Sent, pauses: Pause[]) => pauses.some((p) => p.start < m.at + m.ms && p.end > m.at);
  // Each message checked against each process's pauses once.
  const checked = run.map((m) => ({ ms: m.ms, hits: sources.map(([, pauses]) => overlaps(m, pauses)) }));
  const p99 = summarize(run.map((m) => m.ms)).p99;
  const tail = checked.filter((m) => m.ms >= p99);
  const counts = sources.map(([name], i) => `${tail.filter((m) => m.hits[i]).length} ${name}`);
  const none = (m: (typeof checked)[number]) => !m.hits.some(Boolean);
  const clean = checked.filter(none).map((m) => m.ms);
  return (
    `p99 ${p99.toFixed(2)} ms; of its ${tail.length} slowest messages, in flight during a GC pause of: ` +
    `${counts.join(', ')}; of none ${tail.filter(none).length}; p99 of the messages that overlapped none ` +
    `${summarize(clean).p99.toFixed(2)} ms`
  );
}

/** This process's own GC pauses (its clients send and receive every message), recorded while GC_ATTRIBUTION=1. */
function recordOwnPauses(): Pause[] {
  const pauses: Pause[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const start = performance.timeOrigin + e.startTime;
      pauses.push({ start, end: start + e.duration });
    }
  }).observe({ entryTypes: ['gc'] });
  return pauses;
}

/** As fast as it goes with at most 2,000 messages in flight; the receiver refills the window. */
async function throughput(pair: Pair): Promise<number> {
  let received = 0;
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < THROUGHPUT_N && sent - received < 2000) pair.send(sent++);
    };
    pair.onReceive(() => {
      received++;
      if (received === THROUGHPUT_N) resolve();
      else if (sent - received < 1000) pump();
    });
    pump();
  });
  return THROUGHPUT_N / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  // Everything started is stopped however the run ends: a failed start must not leave processes or a container.
  const stops: (() => Promise<unknown> | unknown)[] = [];
  try {
    await measure(stops);
  } finally {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  }
}

async function measure(stops: (() => Promise<unknown> | unknown)[]): Promise<void> {
  console.error('starting the baseline relay');
  const bare = await startBareRelay();
  stops.push(() => bare.stop());
  const bareUrl = bare.url;
  console.error('baseline relay up; starting signaling instances and Redis');
  const local = await spawnSignaling(keys, UNLIMITED);
  stops.push(() => local.kill());
  const redis = await startRedis();
  stops.push(() => redis.stop());
  const gcPauses = fileURLToPath(new URL('../support/gc-pauses.mjs', import.meta.url));
  const redisEnv = {
    ...UNLIMITED,
    REDIS_URL: redis.directUrl,
    ...(GC_ATTRIBUTION
      ? { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import "${gcPauses}"`.trim() }
      : {}),
  };
  const a = await spawnSignaling(keys, redisEnv);
  stops.push(() => a.kill());
  const b = await spawnSignaling(keys, redisEnv);
  stops.push(() => b.kill());
  const targets: Record<string, (i: number) => Promise<Pair>> = {
    bare: () => barePair(bareUrl),
    local: (i) => signalingPair(local.url, local.url, `bench-l${i}`),
    redis: (i) => signalingPair(b.url, a.url, `bench-r${i}`),
  };
  const results: Record<
    string,
    { lat: Record<number, { p50: number[]; p99: number[]; lost: number }>; tput: number[] }
  > = {};
  let pairNo = 0;
  /** The Redis path's runs at 5,000 msgs/s, message by message (GC_ATTRIBUTION=1). */
  const attributed: Sent[][] = [];
  const ownPauses = GC_ATTRIBUTION ? recordOwnPauses() : [];
  for (let run = 0; run < RUNS; run++) {
    for (const [name, make] of Object.entries(targets)) {
      console.error(`run ${run + 1}/${RUNS}: ${name}`);
      const r = (results[name] ??= { lat: {}, tput: [] });
      for (const rate of RATES) {
        const pair = await make(pairNo++);
        const record: Sent[] | undefined =
          GC_ATTRIBUTION && name === 'redis' && rate === 5000 ? [] : undefined;
        const l = await latencyAt(pair, rate, record);
        if (record) attributed.push(record);
        const slot = (r.lat[rate] ??= { p50: [], p99: [], lost: 0 });
        slot.p50.push(l.p50);
        slot.p99.push(l.p99);
        slot.lost += l.lost;
        pair.close();
      }
      const pair = await make(pairNo++);
      r.tput.push(await throughput(pair));
      pair.close();
    }
  }
  const bareTput = median(results['bare']!.tput);
  const rows = Object.entries(results).map(([name, r]) => ({
    path: name,
    ...Object.fromEntries(
      RATES.flatMap((rate) => [
        [`p50 ms @${rate}/s`, median(r.lat[rate]!.p50)],
        [`p99 ms @${rate}/s`, median(r.lat[rate]!.p99)],
        [`lost @${rate}/s`, r.lat[rate]!.lost],
      ]),
    ),
    'max msgs/s': Math.round(median(r.tput)),
    'vs bare': `${((median(r.tput) / bareTput) * 100).toFixed(0)}%`,
  }));
  console.log(
    `\nSignaling relay, app -> robot, candidate messages (~180 bytes); medians of ${RUNS} runs, ${DURATION_MS} ms per paced run, ${THROUGHPUT_N} msgs per throughput run\n`,
  );
  console.log(table(rows));
  if (GC_ATTRIBUTION) {
    const sources: [string, Pause[]][] = [
      ["the app's instance", pausesIn(b.output())],
      ["the robot's", pausesIn(a.output())],
      ['the bench', ownPauses],
    ];
    attributed.forEach((run, i) =>
      console.log(`GC attribution, redis at 5000/s, run ${i + 1}: ${attribution(run, sources)}`),
    );
  }
  const redisLat = results['redis']!.lat[5000]!;
  const redisTput = median(results['redis']!.tput);
  console.log(
    `signaling-relay p50_ms_at_5000=${median(redisLat.p50).toFixed(2)} p99_ms_at_5000=${median(redisLat.p99).toFixed(2)} ` +
      `max_msgs_s=${Math.round(redisTput)} vs_bare_pct=${((redisTput / bareTput) * 100).toFixed(0)} ` +
      `bare_msgs_s=${Math.round(bareTput)} runs=${RUNS}`,
  );
}

await main();
