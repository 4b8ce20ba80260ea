/**
 * Gateway benchmark, data-channel path with Chromium as the app (what production apps are): signaling and the
 * gateway (werift answers) in this process, a robot program on the local websocket, the page runs the project's
 * SignalingClient and times everything with performance.now() inside the page.
 *
 *   npx tsx bench/gateway/datachannel-chromium.ts [--rtt 2000] [--pipelined 10000] [--window 64] [--stream 20000]
 *
 * Printed figures only; no pass/fail. Telemetry is lossy by contract: `lost` = neither received nor reported in
 * a `drops` message within 2 s of the last frame. Ends with one summary line: gateway-datachannel-chromium
 * rtt_p50_ms=… rtt_p99_ms=… round_trips_s=… telemetry_received_s=… telemetry_dropped=… telemetry_lost=…
 */
import { parseArgs } from 'node:util';
import { TestKeys } from '../../test/support/tokens.js';
import { startSignaling } from '../../test/support/signaling.js';
import { ServiceProbe } from '../../services/gateway/test/helpers.js';
import { launchBrowser } from '../../services/gateway/test/support/browser.js';
import { startDcGateway } from '../../services/gateway/test/support/dc-gateway.js';
import { percentile } from '../support/stats.js';

const { values } = parseArgs({
  options: {
    rtt: { type: 'string', default: '2000' },
    pipelined: { type: 'string', default: '10000' },
    window: { type: 'string', default: '64' },
    stream: { type: 'string', default: '20000' },
  },
});
const RTT_N = Number(values.rtt);
const PIPE_N = Number(values.pipelined);
const WINDOW = Number(values.window);
const STREAM_N = Number(values.stream);

const keys = new TestKeys();
const ROBOT = 'bench-dc';
const sig = await startSignaling(keys);
const dc = await startDcGateway(keys, ROBOT, sig.url);
const svc = await ServiceProbe.start(dc.gw.localUrl, 'echo');
svc.client.on('command', (cmd) => {
  const p = cmd.payload as { stream?: number } | null;
  if (p && typeof p.stream === 'number') {
    const n = p.stream;
    let i = 0;
    // Slices, so the socket's write callbacks run (as a real producer would).
    const slice = () => {
      const end = Math.min(n, i + 1000);
      for (; i < end; i++) svc.client.telemetry({ i });
      if (i < n) setImmediate(slice);
    };
    slice();
  }
  svc.client.reply(cmd, true, cmd.payload);
});
const browser = await launchBrowser();
try {
  const page = await browser.page();
  // tsx (esbuild keepNames) wraps named inner functions in __name(); the page needs it for page.evaluate bodies.
  await page.evaluate('window.__name = (f) => f');
  const token = await keys.app('bench', [ROBOT]);
  const r = await page.evaluate(
    async (o) => {
      const app = await window.BrowserGatewayApp.open({
        signalingUrl: o.url,
        token: o.token,
        robotId: o.robot,
      });
      await app.authenticate(o.token);
      app.send({ v: 1, type: 'lock.take' });
      await app.next('lock.state');
      // From here on, frames are handled directly (the app's received[] would grow without bound).
      let handler: (m: { type: string; ref?: string; dropped?: number }) => void = () => undefined;
      for (const ch of [app.reliable, app.lossy])
        // One frame or a batch of them per message.
        ch.onmessage = (ev: MessageEvent) => {
          for (const f of [JSON.parse(String(ev.data)) as unknown].flat()) handler(f as never);
        };
      const cmd = (id: string, payload: unknown) =>
        app.send({ v: 1, type: 'command', id, service: 'echo', payload });

      const rtt: number[] = [];
      for (let pass = 0; pass < 2; pass++) {
        rtt.length = 0;
        for (let i = 0; i < o.rttN; i++) {
          const t0 = performance.now();
          await new Promise<void>((resolve) => {
            handler = (m) => {
              if (m.type === 'reply' && m.ref === `r${i}`) resolve();
            };
            cmd(`r${i}`, i);
          });
          rtt.push(performance.now() - t0);
        }
      }

      const pipelined = await new Promise<number>((resolve) => {
        let sent = 0;
        let done = 0;
        const t0 = performance.now();
        handler = (m) => {
          if (m.type !== 'reply') return;
          done++;
          if (sent < o.pipeN) cmd(`p${sent++}`, sent);
          if (done === o.pipeN) resolve((o.pipeN / (performance.now() - t0)) * 1000);
        };
        while (sent < Math.min(o.window, o.pipeN)) cmd(`p${sent++}`, sent);
      });

      const stream = await new Promise<{ rate: number; received: number; dropped: number }>((resolve) => {
        let received = 0;
        let dropped = 0;
        const t0 = performance.now();
        let last = t0;
        const finish = () => {
          clearInterval(idle);
          resolve({ rate: (received / (last - t0)) * 1000, received, dropped });
        };
        handler = (m) => {
          if (m.type === 'telemetry') received++;
          else if (m.type === 'drops') dropped += m.dropped ?? 0;
          else return;
          last = performance.now();
          if (received + dropped === o.streamN) finish();
        };
        const idle = setInterval(() => {
          if (performance.now() - last > 2_000) finish();
        }, 100);
        cmd('stream', { stream: o.streamN });
      });
      const pair = await app.selectedPair();
      app.close();
      return { rtt, pipelined, stream, pair };
    },
    { url: sig.url, token, robot: ROBOT, rttN: RTT_N, pipeN: PIPE_N, window: WINDOW, streamN: STREAM_N },
  );
  const sorted = [...r.rtt].sort((a, b) => a - b);
  console.log(
    `\ndata channels, Chromium app <-> werift gateway (${r.pair?.local}/${r.pair?.remote}), loopback; ` +
      `node ${process.version}`,
  );
  console.log(
    `round trip (app -> service -> app), ${RTT_N} sequential: p50 ${percentile(sorted, 50).toFixed(3)} ms, ` +
      `p99 ${percentile(sorted, 99).toFixed(3)} ms, max ${sorted[sorted.length - 1]!.toFixed(3)} ms`,
  );
  console.log(`pipelined round trips (${WINDOW} in flight): ${Math.round(r.pipelined)}/s`);
  console.log(
    `telemetry one way (${STREAM_N} frames): ${Math.round(r.stream.rate)}/s received ${r.stream.received}, ` +
      `dropped by the gateway ${r.stream.dropped}, lost ${STREAM_N - r.stream.received - r.stream.dropped}`,
  );
  console.log(
    `gateway-datachannel-chromium rtt_p50_ms=${percentile(sorted, 50).toFixed(3)} ` +
      `rtt_p99_ms=${percentile(sorted, 99).toFixed(3)} round_trips_s=${Math.round(r.pipelined)} ` +
      `telemetry_received_s=${Math.round(r.stream.rate)} telemetry_dropped=${r.stream.dropped} ` +
      `telemetry_lost=${STREAM_N - r.stream.received - r.stream.dropped}`,
  );
} finally {
  svc.close();
  await browser.close();
  await dc.close();
  await sig.stop();
}
