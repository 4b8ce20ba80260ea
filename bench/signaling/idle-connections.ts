/**
 * Authenticated idle connections one signaling instance holds, and memory per connection: the instance runs as its
 * own process; this process opens N WebSockets, authenticates each, and reads the instance's own RSS and heap
 * from /metrics before and after. The baseline, in the same run: the same number of plain connections held by a
 * bare `ws` server (bench/support/bare-relay.ts, its RSS from /proc).
 *
 *   npm run bench -- signaling/idle-connections     (CONNECTIONS=10000)
 * Ends with one summary line: signaling-idle-connections connections=… rss_per_conn_kb=… heap_per_conn_kb=…
 * bare_rss_per_conn_kb=… vs_bare_x=… connect_per_s=…
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { TestKeys } from '../../test/support/tokens.js';
import { spawnSignaling } from '../../test/support/signaling.js';
import { table } from '../support/stats.js';
import { startBareRelay, type BareRelay } from '../support/bare-relay-process.js';

const N = Number(process.env['CONNECTIONS'] ?? 10_000);
const BATCH = 200;
const keys = new TestKeys();

async function memory(httpUrl: string): Promise<{ rss: number; heap: number }> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^${name} (\\d+(?:\\.\\d+)?)`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: read('process_resident_memory_bytes'), heap: read('nodejs_heap_size_used_bytes') };
}

function connect(url: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'authenticate', token })));
    ws.once('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === 'welcome') resolve(ws);
      else reject(new Error(`not welcomed: ${d.toString()}`));
    });
    ws.once('error', reject);
  });
}

/** RSS per connection of the bare relay holding N plain connections, in KiB. */
async function bareRssPerConnection(bare: BareRelay): Promise<number> {
  const held: WebSocket[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const before = await bare.rss();
    for (let i = 0; i < N; i += BATCH)
      held.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(BATCH, N - i) }, async () => {
            const ws = new WebSocket(bare.url);
            await once(ws, 'open');
            return ws;
          }),
        )),
      );
    await new Promise((r) => setTimeout(r, 3000));
    return ((await bare.rss()) - before) / held.length / 1024;
  } finally {
    for (const ws of held) ws.terminate();
  }
}

const bare = await startBareRelay();
let barePerConn: number;
try {
  barePerConn = await bareRssPerConnection(bare);
} finally {
  bare.stop();
}

const s = await spawnSignaling(keys, {
  CONNECTIONS_PER_IP_PER_MIN: '1000000',
  LOG_LEVEL: 'warn',
  AUTH_TIMEOUT_MS: '60000',
});
const sockets: WebSocket[] = [];
// The instance and the sockets go however the run ends (a refused connection must not leave the process behind).
try {
  const token = await keys.app('idle', '*');
  await new Promise((r) => setTimeout(r, 1000));
  const before = await memory(s.httpUrl);
  const t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    sockets.push(
      ...(await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, () => connect(s.url, token)))),
    );
  }
  const connectSec = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 3000));
  const after = await memory(s.httpUrl);
  const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
  const held = Number(/signaling_connections\{role="app"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  const rssPerConn = (after.rss - before.rss) / held / 1024;
  const heapPerConn = (after.heap - before.heap) / held / 1024;
  console.log(`\nSignaling: authenticated idle connections on one instance\n`);
  console.log(
    table([
      {
        connections: held,
        'connect+auth /s': Math.round(N / connectSec),
        'RSS before MB': before.rss / 2 ** 20,
        'RSS after MB': after.rss / 2 ** 20,
        'RSS per conn KB': rssPerConn,
        'heap per conn KB': heapPerConn,
        'bare ws RSS per conn KB': barePerConn,
      },
    ]),
  );
  console.log(
    `signaling-idle-connections connections=${held} rss_per_conn_kb=${rssPerConn.toFixed(2)} ` +
      `heap_per_conn_kb=${heapPerConn.toFixed(2)} bare_rss_per_conn_kb=${barePerConn.toFixed(2)} ` +
      `vs_bare_x=${(rssPerConn / barePerConn).toFixed(2)} connect_per_s=${Math.round(N / connectSec)}`,
  );
} finally {
  for (const ws of sockets) ws.terminate();
  await s.kill();
}
