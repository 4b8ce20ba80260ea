// Streamer benchmark through the real protocol: time from the app opening a media session (openSession in the
// page's SignalingClient) to the first decoded frame in Chromium, p50/p90 over RUNS runs (default 10), for
//  - direct mode: the page talks to the streamer's embedded signaling server (LAN case), host candidates;
//  - TURN: cloud-style signaling handing out TURN REST credentials, relay-only ICE on both ends through coturn.
//  - the same with the app APP_DELAY_MS (default 40) one way from signaling (a TCP proxy that holds each chunk),
//    where a signaling round trip costs what it costs on a real network;
//  - the same with the robot ROBOT_DELAY_MS (default 40) one way from signaling (a robot on a cellular link to the
//    cloud): another streamer, robot id bench-robot-far, whose signaling connection goes through such a proxy.
// Each path twice: the app's first offer sent with the session request (as the web app does), and sent once the
// robot accepted (the protocol's other way).
// The source pipeline lingers between runs (a robot that had a viewer a moment ago); each run is a fresh page.
// Run: npm run bench -- streamer/signaling-first-frame (BENCH_LOG=debug for the streamers' logs on stdout)
// "Cold" is the robot's: its first viewer after it starts, from a browser whose own first WebRTC use is done (and
// printed) before it.
// Ends with one summary line: signaling-first-frame cold_ms=… direct_p50_ms=… direct_p90_ms=… turn_p50_ms=… …
// browser_first_ms=… runs=…
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../../services/streamer/src/config.js';
import { detectEncoders } from '../../services/streamer/src/media/encoders.js';
import { loadServiceConfig } from '../../services/streamer/src/service-config.js';
import { startStreamerService } from '../../services/streamer/src/streamer-service.js';
import { loopbackServiceEnv } from '../../services/streamer/test/support/service-env.js';
import { startCoturn, freeUdpPort } from '../../test/support/coturn.js';
import { MediaAppPage, launchMediaAppBrowser } from '../../services/streamer/test/support/signaling-page.js';
import type { StartTimeline } from '../../services/streamer/test/support/browser/media-app.js';
import { eventually, startSignaling } from '../../test/support/signaling.js';
import { TestKeys } from '../../test/support/tokens.js';
import { startDelayProxy, type DelayProxy } from '../support/delay-proxy.js';
import { percentileOf } from '../support/stats.js';
import { warmBrowserWebRtc } from '../support/browser-warm-up.js';

const RUNS = Number(process.env.RUNS ?? 10);
/** The third path: the app's signaling connection through a proxy that delays each way by this much. */
const APP_DELAY_MS = Number(process.env.APP_DELAY_MS ?? 40);
/** The fourth path: the robot's signaling connection through such a proxy. */
const ROBOT_DELAY_MS = Number(process.env.ROBOT_DELAY_MS ?? 40);
const ROBOT = 'bench-robot';
const ROBOT_FAR = 'bench-robot-far';

async function main(): Promise<void> {
  const log = pino({ level: process.env.BENCH_LOG ?? 'warn' });
  const keys = new TestKeys();
  const secret = randomBytes(24).toString('hex');
  const turn = await startCoturn({ secret });
  const signaling = await startSignaling(keys, { TURN_URLS: turn.url, TURN_SECRET: secret });
  const encoders = await detectEncoders('auto');
  const media = loadConfig(
    {},
    // No loopback candidate (the default): with one, Chromium sometimes checked its LAN address against the
    // robot's 127.0.0.1 first, which cannot answer, and connected one check interval (~50 ms) later (3 of 20
    // direct sessions; none of 20 without it).
    { audioSink: 'counting', videoSink: 'none', lingerMs: 60_000, iceIncludeLoopback: false },
  );
  const directPort = await freeUdpPort();
  const direct = await startStreamerService(
    loadServiceConfig(
      await loopbackServiceEnv(keys, ROBOT, { directPort, extra: { STREAMER_MAX_VIEWERS: '64' } }),
    ),
    media,
    { log, encoders, defaultMetrics: false },
  );
  /** A robot on cloud signaling, relay-only. */
  const relayedRobot = async (robotId: string, signalingUrl: string) =>
    startStreamerService(
      loadServiceConfig(
        await loopbackServiceEnv(keys, robotId, {
          signalingUrl,
          extra: { STREAMER_ICE_TRANSPORT_POLICY: 'relay', STREAMER_MAX_VIEWERS: '64' },
        }),
      ),
      media,
      { log, encoders, defaultMetrics: false },
    );
  const relayed = await relayedRobot(ROBOT, signaling.url);
  const proxies: DelayProxy[] = [];
  const cloud = new URL(signaling.url);
  const robotProxy = await startDelayProxy(
    { host: cloud.hostname, port: Number(cloud.port) },
    ROBOT_DELAY_MS,
  );
  proxies.push(robotProxy);
  cloud.host = robotProxy.hostPort;
  const distant = await relayedRobot(ROBOT_FAR, cloud.href);
  await eventually(() => relayed.clients.get('signaling-1')?.state === 'ready', 10_000);
  await eventually(() => distant.clients.get('signaling-1')?.state === 'ready', 10_000);
  const app = await launchMediaAppBrowser();
  const appToken = await keys.app('bench-app', [ROBOT, ROBOT_FAR]);
  try {
    // The browser's own first WebRTC use is not the robot's cold start (bench/support/browser-warm-up.ts).
    const browserFirst = await warmBrowserWebRtc(app.context, app.origin);
    console.log(
      `the browser's own first WebRTC use (a call to itself: microphone, camera, DTLS, decode; before the cold run, not in it): ` +
        `${browserFirst.toFixed(0)} ms`,
    );
    // Timed in the page (its own clock, getStats every 5 ms), not by polling it from here.
    const firstFrame = async (
      url: string,
      relay: boolean,
      offerInOpen: boolean,
      robotId: string,
    ): Promise<StartTimeline> => {
      const page = await MediaAppPage.open(app);
      await page.connect(url, appToken);
      await page.start({ robotId, cameras: 1, mic: true, relay, receiverRtt: true, offerInOpen });
      await eventually(async () => (await page.timeline()).firstFrame !== undefined, 15_000, 'first frame');
      const t = await page.timeline();
      await page.close();
      return t;
    };
    /** The timeline's steps, in order, with the words the printed lines use. */
    const STEPS = [
      ['accepted', 'accepted'],
      ['offerSent', 'offer sent'],
      ['answer', 'answer'],
      ['iceConnected', 'ICE connected'],
      ['connected', 'DTLS connected'],
      ['firstFrame', 'first frame'],
    ] as const;
    /** Each step's median over `runs` (one run: its own value), ms after openSession; '-' for a step not reached. */
    const steps = (runs: StartTimeline[]): string =>
      STEPS.map(([step, label]) => {
        const p50 = percentileOf(
          runs.map((r) => r[step] ?? NaN),
          50,
        );
        return `${label} ${Number.isFinite(p50) ? p50.toFixed(0) : '-'}`;
      }).join(', ');
    const far = new URL(signaling.url);
    const proxy = await startDelayProxy({ host: far.hostname, port: Number(far.port) }, APP_DELAY_MS);
    proxies.push(proxy);
    far.host = proxy.hostPort;
    const paths = [
      [
        'direct',
        'direct mode (embedded signaling, host candidates)',
        `ws://127.0.0.1:${directPort}/v1/ws`,
        false,
        ROBOT,
      ],
      ['turn', 'signaling + TURN (relay-only both ends)', signaling.url, true, ROBOT],
      ['app_far', `the same, the app ${APP_DELAY_MS} ms (one way) from signaling`, far.href, true, ROBOT],
      [
        'robot_far',
        `the same, the robot ${ROBOT_DELAY_MS} ms (one way) from signaling`,
        signaling.url,
        true,
        ROBOT_FAR,
      ],
    ] as const;
    const modes = [
      [true, 'offer with the request'],
      [false, 'offer after acceptance'],
    ] as const;
    // The summary line: each path the web app's way (offer with the request), and the very first session's cold start.
    const summary: string[] = [];
    for (const [key, path, url, relay, robotId] of paths)
      for (const [offerInOpen, mode] of modes) {
        const name = `${path}, ${mode}`;
        const coldRun = await firstFrame(url, relay, offerInOpen, robotId);
        const cold = coldRun.firstFrame!;
        const runs: StartTimeline[] = [];
        for (let i = 0; i < RUNS; i++) runs.push(await firstFrame(url, relay, offerInOpen, robotId));
        const warm = runs.map((r) => r.firstFrame!);
        const [p50, p90] = [percentileOf(warm, 50).toFixed(0), percentileOf(warm, 90).toFixed(0)];
        console.log(
          `${name}: first decoded frame after openSession, ${offerInOpen ? 'cold' : 'first run (source already warm)'} ` +
            `${cold.toFixed(0)} ms; warm ${RUNS} runs p50 ` +
            `${p50} ms, p90 ${p90} ms, ` +
            `min ${Math.min(...warm).toFixed(0)}, max ${Math.max(...warm).toFixed(0)}`,
        );
        console.log(`  steps (p50, ms after openSession): ${steps(runs)}`);
        console.log(`  cold run's steps: ${steps([coldRun])}`);
        runs.forEach((r, i) => console.log(`  run ${i + 1}: ${steps([r])}`));
        if (summary.length === 0) summary.push(`cold_ms=${cold.toFixed(0)}`);
        if (offerInOpen) summary.push(`${key}_p50_ms=${p50} ${key}_p90_ms=${p90}`);
      }
    console.log(
      `signaling-first-frame ${summary.join(' ')} browser_first_ms=${browserFirst.toFixed(0)} runs=${RUNS}`,
    );
  } finally {
    await app.close();
    await direct.close();
    await relayed.close();
    await distant.close();
    for (const p of proxies) await p.close();
    await signaling.stop();
    await turn.kill();
  }
}

await main();
process.exit(0);
