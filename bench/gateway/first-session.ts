/**
 * The first data-channel session after the gateway starts, against the ones after it: Chromium (the project's
 * BrowserGatewayApp) opens a `gateway` session through signaling and authenticates on the reliable channel;
 * timed in the page from the call to the gateway's `welcome`. Each of PROCESSES gateways is a fresh process
 * (services/gateway/src/main.ts, as it runs on a robot) serving SESSIONS sessions one after the other: the first
 * is "cold", the others "warm". Signaling runs in this process.
 *
 *   npm run bench -- gateway/first-session        (PROCESSES=5 SESSIONS=4)
 *
 * Ends with: gateway-first-session cold_p50_ms=<n> warm_p50_ms=<n> processes=<n>
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestKeys } from '../../test/support/tokens.js';
import { startSignaling } from '../../test/support/signaling.js';
import { launchBrowser } from '../../services/gateway/test/support/browser.js';
import { summarize } from '../support/stats.js';

const PROCESSES = Math.max(1, Number(process.env['PROCESSES'] ?? 5));
const SESSIONS = Math.max(2, Number(process.env['SESSIONS'] ?? 4));
const ROBOT = 'bench-first-session';

const keys = new TestKeys();
const sig = await startSignaling(keys);
const browser = await launchBrowser();
const cold: number[] = [];
const warm: number[] = [];
try {
  const page = await browser.page();
  // tsx (esbuild keepNames) wraps named inner functions in __name(); the page needs it for page.evaluate bodies.
  await page.evaluate('window.__name = (f) => f');
  const token = await keys.app('bench', [ROBOT]);
  for (let p = 0; p < PROCESSES; p++) {
    const dir = mkdtempSync(join(tmpdir(), 'robostream-bench-gw-'));
    const gw = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
      env: {
        ...process.env,
        SIGNALING_URL: sig.url,
        ROBOT_TOKEN: await keys.robot(ROBOT),
        GATEWAY_APP_PUBLIC_KEY: keys.publicPem,
        GATEWAY_LOCAL_SOCKET: join(dir, 'gw.sock'),
        GATEWAY_LAN_HOST: '127.0.0.1',
        GATEWAY_LAN_PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`gateway not registered in 30 s: ${out}`)), 30_000);
        gw.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('registered with signaling')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const times: number[] = [];
      for (let s = 0; s < SESSIONS; s++) {
        times.push(
          await page.evaluate(
            async (o) => {
              const t0 = performance.now();
              const app = await window.BrowserGatewayApp.open({
                signalingUrl: o.url,
                token: o.token,
                robotId: o.robot,
              });
              await app.authenticate(o.token);
              const ms = performance.now() - t0;
              app.close();
              return ms;
            },
            { url: sig.url, token, robot: ROBOT },
          ),
        );
        // The gateway sees the session end before the next one opens (one seat per app is not a limit here).
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log(`process ${p + 1}: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
      cold.push(times[0]!);
      warm.push(...times.slice(1));
    } finally {
      gw.kill('SIGTERM');
      await once(gw, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await browser.close();
  await sig.stop();
}
const c = summarize(cold);
const w = summarize(warm);
console.log(
  `\nfirst session after start (open -> welcome): p50 ${c.p50.toFixed(0)} ms, max ${c.max.toFixed(0)} (n=${c.n}); ` +
    `later sessions p50 ${w.p50.toFixed(0)} ms, max ${w.max.toFixed(0)} (n=${w.n})`,
);
console.log(
  `gateway-first-session cold_p50_ms=${c.p50.toFixed(0)} warm_p50_ms=${w.p50.toFixed(0)} processes=${PROCESSES}`,
);
