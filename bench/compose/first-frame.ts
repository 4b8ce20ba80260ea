// First frame in the `docker compose up` stack (issue 12): the project's images built from this checkout, compose.yaml
// brought up under a project name of its own, and Chromium on the host as a user's browser would be, measuring
//  - web app: the console served by the edge, signed in, robot list live; click the simulated robot -> the front
//    camera's first frame decoded (requestVideoFrameCallback's metadata: last packet's arrival plus decode time)
//    and presented in its <video> (the callback), timed inside the page;
//  - WHEP: the reference WHEP player of the streamer tests (services/streamer/test/support/browser/media-app.ts)
//    POSTs a complete offer to the edge -> first frame decoded (its decode time from requestVideoFrameCallback's
//    metadata), timed in the page.
// The click comes once the console has the robot's media connection ready, as an operator's would (consoleReady).
// One cold run each (the robot's first viewer: its source pipeline has to start; each browser has made one call to
// itself before, bench/support/browser-warm-up.ts), then RUNS (default 20) measured runs; p50/p90 of those
// (of 10 runs the p90 is the second-slowest, which one slow moment of the machine moves by tens of ms).
// The stack goes down at the end, on failure and on Ctrl-C. LOG_LEVEL (default warn) is the stack's; with
// BENCH_KEEP_LOGS=1 the logs of the simulated robot, its gateway and both signaling replicas go to
// bench-results/compose/, and every run's click time (epoch ms) is printed to line the runs up with them.
// Run: npm run bench -- compose/first-frame
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ComposeStack } from '../../test/containers/support/compose.js';
import {
  buildImagesTagged,
  containerLogs,
  docker,
  dockerHostAddress,
  freePort,
  REPO_ROOT,
} from '../../test/containers/support/docker-cli.js';
import { launchChromium } from '../../test/support/chromium.js';
import { TestKeys } from '../../test/support/tokens.js';
import { MediaAppPage, launchMediaAppBrowser } from '../../services/streamer/test/support/signaling-page.js';
import { summarize } from '../support/stats.js';
import { warmBrowserWebRtc } from '../support/browser-warm-up.js';

const RUNS = Math.max(1, Number(process.env.RUNS ?? 20));
const ROBOT = 'sim-robot';
const ROBOT_BUTTON = `[data-robot="${ROBOT}"]`;
const FRONT = 'video[data-camera="front"]';
/** Images of this bench's own tag: building them never retags the `test` images a container test may be running. */
const TAG = 'bench';
/** A liveness bound for one run (not a speed criterion: a run that takes longer failed). */
const RUN_TIMEOUT_MS = 30_000;

/** A /24 no Docker network of this machine uses (compose's default 172.31.240.0/24 may be another stack's). */
async function freeSubnet(): Promise<string> {
  const { stdout } = await docker(['network', 'ls', '-q']);
  const ids = stdout.split('\n').filter(Boolean);
  const used = new Set<string>();
  if (ids.length > 0) {
    const r = await docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids]);
    for (const s of r.stdout.split(/\s+/)) if (s) used.add(s.replace(/\.\d+\/\d+$/, ''));
  }
  for (let third = 200; third < 250; third++) {
    const prefix = `172.31.${third}`;
    if (!used.has(prefix)) return `${prefix}.0/24`;
  }
  throw new Error('no free 172.31.x.0/24 for the bench stack');
}

function line(name: string, cold: number, warm: number[]): string {
  const s = summarize(warm);
  return (
    `${name}: cold ${cold.toFixed(0)} ms; ${s.n} runs p50 ${s.p50.toFixed(0)} ms, p90 ${s.p90.toFixed(0)} ms, ` +
    `min ${Math.min(...warm).toFixed(0)}, max ${s.max.toFixed(0)}`
  );
}

/**
 * Marks, inside every console page, when each peer connection's WebRTC steps happen (performance.now()): its first
 * createOffer called and resolved, the offer set (ICE starts), the session request sent (requestSent: the
 * page's own work after the click), the robot's answer in the page (answerIn), given to
 * and set by the connection (answerCall, answerSet: Chromium's own work), the connection up. The
 * media session's connection is the one with a video transceiver that got an answer (the console's warm-up offer
 * is never set; the gateway's data-channel session has no video).
 */
const STEP_MARKS = `(() => {
  const pcs = (window.__ffPcs = []);
  const marksOf = (pc) => {
    if (!pc.__ffMarks) { pc.__ffMarks = {}; pcs.push(pc); }
    return pc.__ffMarks;
  };
  const mark = (pc, name) => { const m = marksOf(pc); if (m[name] === undefined) m[name] = performance.now(); };
  const P = RTCPeerConnection.prototype;
  const wrap = (name, before, after) => {
    const orig = P[name];
    P[name] = function (...args) {
      if (before) mark(this, before);
      const r = orig.apply(this, args);
      if (after) r.then(() => mark(this, after), () => undefined);
      if (name === 'setLocalDescription' && !this.__ffWatched) {
        this.__ffWatched = true;
        this.addEventListener('connectionstatechange', () => {
          if (this.connectionState === 'connected') mark(this, 'connected');
        });
        this.addEventListener('iceconnectionstatechange', () => {
          if (this.iceConnectionState === 'connected') mark(this, 'iceConnected');
        });
      }
      return r;
    };
  };
  wrap('createOffer', 'offer', 'offerMade');
  wrap('setLocalDescription', null, 'offerSet');
  wrap('setRemoteDescription', 'answerCall', 'answerSet');
  wrap('addIceCandidate', 'remoteCandidate', null);
  // When the robot's answer (the media one: it has a video m-line) reached the page's JS (the event's own time).
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      // When the session request (with the prepared offer) left the page's JS.
      const send = this.send.bind(this);
      this.send = (data) => {
        if (typeof data === 'string' && data.includes('"session_open"')) window.__ffRequestSent ??= performance.now();
        return send(data);
      };
      this.addEventListener('message', (ev) => {
        if (typeof ev.data === 'string' && ev.data.includes('"answer"') && ev.data.includes('m=video'))
          window.__ffAnswerIn ??= ev.timeStamp;
      });
    }
  };

})();`;

/**
 * The page's window as STEP_MARKS leaves it: every peer connection with the times of its steps, and the page's own
 * marks (the media session's request sent, its answer in), each set once until the bench reads and clears it.
 */
type MarkedWindow = {
  __ffPcs?: (RTCPeerConnection & { __ffMarks: Record<string, number> })[];
  __ffRequestSent?: number;
  __ffAnswerIn?: number;
};

/** The steps of one web run, in ms after the click. */
type WebSteps = Record<string, number>;
const WEB_STEPS = [
  'offer',
  'offerMade',
  'offerSet',
  'requestSent',
  'answerIn',
  'answerCall',
  'answerSet',
  'remoteCandidate',
  'iceConnected',
  'connected',
  'frame',
  'presented',
] as const;

function stepsLine(cold: WebSteps, warm: WebSteps[]): string {
  // A step no warm run had prints as '-' (offer, offerMade: the console prepares its offer before the click).
  const med = (k: string): number | undefined => {
    const had = warm.map((w) => w[k]).filter((x): x is number => x !== undefined && !isNaN(x));
    return had.length > 0 ? summarize(had).p50 : undefined;
  };
  const fmt = (k: string, v: number | undefined): string => `${k} ${v === undefined ? '-' : v.toFixed(0)}`;
  return (
    `  steps after the click, cold: ${WEB_STEPS.map((k) => fmt(k, cold[k])).join(', ')}\n` +
    `  steps after the click, warm p50: ${WEB_STEPS.map((k) => fmt(k, med(k))).join(', ')}\n` +
    warm.map((w, i) => `  run ${i + 1}: ${WEB_STEPS.map((k) => fmt(k, w[k])).join(', ')}`).join('\n')
  );
}

/** The longest the bench waits for the console to be ready before it clicks (see consoleReady). */
const READY_MAX_MS = 1500;

/**
 * Waits, as an operator looks at the list before clicking, until the console has the robot's media connection ready
 * (its prepared offer set and its candidates gathered: services/web/src/offer-preparer.ts), at most READY_MAX_MS;
 * resolves with how long that took after the robot was listed. Clicked the instant the list rendered, half the runs
 * had the page's own start-up (its prepared offer set 20-50 ms after the click) on the path to the first frame.
 */
async function consoleReady(page: Page): Promise<number> {
  const t0 = performance.now();
  await page
    .waitForFunction(
      () =>
        ((window as unknown as MarkedWindow).__ffPcs ?? []).some(
          (pc) => pc.__ffMarks['offerSet'] !== undefined && pc.iceGatheringState === 'complete',
        ),
      undefined,
      { timeout: READY_MAX_MS, polling: 10 },
    )
    .catch(() => undefined);
  return performance.now() - t0;
}

/** Click the robot in the console -> its front camera's first frame decoded and presented, timed inside the page. */
async function webFirstFrame(page: Page): Promise<WebSteps> {
  return page.evaluate(
    async ([button, front, timeoutMs]) => {
      // No named helper functions in here: tsx's esbuild wraps them in a __name() call the page does not have.
      const deadline = performance.now() + timeoutMs;
      const t0 = performance.now();
      (document.querySelector(button) as HTMLElement).click();
      let el = document.querySelector<HTMLVideoElement>(front);
      while (!el) {
        if (performance.now() > deadline) throw new Error('no front video element');
        await new Promise((r) => setTimeout(r, 2));
        el = document.querySelector<HTMLVideoElement>(front);
      }
      const video = el;
      const shown = await Promise.race([
        new Promise<{ decoded: number; presented: number }>((resolve) =>
          video.requestVideoFrameCallback((now, meta) =>
            resolve({
              // Its last packet's arrival plus its decode time, as the WHEP player reads it.
              decoded:
                meta.receiveTime !== undefined && meta.processingDuration !== undefined
                  ? meta.receiveTime + meta.processingDuration * 1000 - t0
                  : meta.presentationTime - t0,
              presented: now - t0,
            }),
          ),
        ),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no front frame presented')), deadline - performance.now()),
        ),
      ]);
      const pcs = (window as unknown as MarkedWindow).__ffPcs ?? [];
      const media = pcs.find(
        (pc) =>
          pc.__ffMarks['answerSet'] !== undefined &&
          pc.getTransceivers().some((t) => t.receiver.track.kind === 'video'),
      );
      const marks = media?.__ffMarks ?? {};
      const steps: Record<string, number> = {
        frame: shown.decoded,
        presented: shown.presented,
        clickEpochMs: performance.timeOrigin + t0,
      };
      for (const [k, v] of Object.entries(marks)) if (v >= t0) steps[k] = v - t0;
      const w = window as unknown as MarkedWindow;
      for (const [step, key] of [
        ['requestSent', '__ffRequestSent'],
        ['answerIn', '__ffAnswerIn'],
      ] as const) {
        const at = w[key];
        if (at !== undefined && at >= t0) steps[step] = at - t0;
        w[key] = undefined;
      }
      return steps;
    },
    [ROBOT_BUTTON, FRONT, RUN_TIMEOUT_MS] as const,
  );
}

interface WhepRun {
  ms: number;
  /** After the POST's start: the player's own gathering (it POSTs a complete offer), and the answer set. */
  posted: number;
  answered: number;
  resource: string | null;
}

/** The WHEP player: complete offer, POST, answer -> first decoded frame, timed inside the page. */
async function whepFirstFrame(page: MediaAppPage, url: string, token: string): Promise<WhepRun> {
  return page.page.evaluate(
    async ([u, t, timeoutMs]) => {
      const app = (
        window as unknown as {
          mediaApp: {
            whepPlay(
              u: string,
              t: string,
            ): Promise<{
              status: number;
              body: string;
              resource: string | null;
              postedAt: number;
              answeredAt: number | null;
            }>;
            firstFrameAt: number | null;
          };
        }
      ).mediaApp;
      const t0 = performance.now();
      const res = await app.whepPlay(u, t);
      if (res.status !== 201) throw new Error(`WHEP POST answered ${res.status}: ${res.body}`);
      while (app.firstFrameAt === null) {
        if (performance.now() - t0 > timeoutMs) throw new Error('no frame decoded from WHEP');
        await new Promise((r) => setTimeout(r, 5));
      }
      return {
        ms: app.firstFrameAt - t0,
        posted: res.postedAt - t0,
        answered: (res.answeredAt ?? NaN) - t0,
        resource: res.resource,
      };
    },
    [url, token, RUN_TIMEOUT_MS] as const,
  );
}

async function main(): Promise<void> {
  const keys = new TestKeys();
  const project = `robostream-bench-ff-${process.pid}`;
  const logLevel = process.env.LOG_LEVEL ?? 'warn';
  console.log(`building images (tag ${TAG}) ...`);
  await buildImagesTagged(TAG, ['signaling', 'edge', 'robot']);
  const httpPort = await freePort();
  const stack = new ComposeStack(project, {
    ROBOSTREAM_TAG: TAG,
    ROBOSTREAM_HTTP_PORT: String(httpPort),
    ROBOSTREAM_PUBLIC_KEY: keys.publicPem,
    ROBOSTREAM_SUBNET: await freeSubnet(),
    TURN_SECRET: randomBytes(24).toString('hex'),
    TURN_HOST: await dockerHostAddress(),
    TURN_PORT: String(await freePort()),
    SIM_ROBOT_ID: ROBOT,
    SIM_ROBOT_TOKEN: await keys.robot(ROBOT, 3600),
    LOG_LEVEL: logLevel,
  });

  let downed: Promise<void> | null = null;
  const down = (): Promise<void> =>
    (downed ??= stack
      .run(['down', '--volumes', '--remove-orphans', '--timeout', '5'], 120_000)
      .then(
        () => undefined,
        (err: Error) => console.error(`compose down failed: ${err.message}`),
      )
      .finally(() => stack.removeEnvFile()));
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`${sig}: taking the stack down`);
      void down().finally(() => process.exit(130));
    });

  const closers: (() => Promise<void>)[] = [];
  try {
    console.log(`compose project ${project} up ...`);
    await stack.run(['up', '--wait', '--wait-timeout', '180', '--no-build']);
    const origin = `http://localhost:${httpPort}`;

    // Web app: a fresh page per run (the console opens its sessions on click; leaving the page ends them).
    const chromium = await launchChromium({
      profilePrefix: 'robostream-bench-compose-',
      viewport: { width: 1280, height: 800 },
    });
    closers.push(() => chromium.close());
    await chromium.context.addInitScript(STEP_MARKS);
    const webToken = await keys.appWith('bench-web', { [ROBOT]: ['view', 'talk', 'drive'] }, 3600);
    const readyWaits: number[] = [];
    const webRun = async (): Promise<WebSteps> => {
      const page = await chromium.context.newPage();
      try {
        await page.goto(`${origin}/#token=${webToken}`);
        // The robot listed with its media endpoint (the gateway may register first).
        await page.waitForFunction(
          (sel) => /media/.test(document.querySelector(sel)?.textContent ?? ''),
          ROBOT_BUTTON,
          { timeout: 60_000 },
        );
        readyWaits.push(await consoleReady(page));
        return await webFirstFrame(page);
      } finally {
        // pagehide ends the console's sessions at once, so the robot's seat is free for the next run.
        await page.goto('about:blank').catch(() => undefined);
        await page.close();
      }
    };
    // The browser's own first WebRTC use is not the robot's cold start (bench/support/browser-warm-up.ts).
    const webBrowserFirst = await warmBrowserWebRtc(chromium.context, origin);
    const webCold = await webRun();
    const webSteps: WebSteps[] = [];
    for (let i = 0; i < RUNS; i++) webSteps.push(await webRun());
    const web = webSteps.map((w) => w['frame'] ?? NaN);
    console.log(line('web app (click robot -> first frame decoded)', webCold['frame'] ?? NaN, web));
    const presented = webSteps.map((w) => w['presented'] ?? NaN);
    console.log(
      line('web app (click robot -> first frame presented)', webCold['presented'] ?? NaN, presented),
    );
    console.log(stepsLine(webCold, webSteps));
    console.log(
      `  the browser's own first WebRTC use, before the cold run: ${webBrowserFirst.toFixed(0)} ms; ` +
        `before each click the console was ready ${summarize(readyWaits).p50.toFixed(0)} ms (p50; max ` +
        `${Math.max(...readyWaits).toFixed(0)}, at most ${READY_MAX_MS}) after the robot was listed`,
    );
    // To line each run up with the stack's logs (one clock: the containers share the host's).
    if (process.env.BENCH_KEEP_LOGS === '1')
      console.log(
        `  click epochs (ms), cold first: ${[webCold, ...webSteps].map((w) => w['clickEpochMs']?.toFixed(0)).join(' ')}`,
      );

    // WHEP through the edge, from a page on another origin (CORS), as any player would.
    const player = await launchMediaAppBrowser();
    closers.push(() => player.close());
    const whepToken = await keys.appWith('bench-whep', { [ROBOT]: ['view'] }, 3600);
    const whepUrl = `${origin}/v1/robots/${ROBOT}/whep`;
    const whepRun = async (): Promise<WhepRun> => {
      const page = await MediaAppPage.open(player);
      try {
        const r = await whepFirstFrame(page, whepUrl, whepToken);
        if (r.resource) await page.whepStop(r.resource, whepToken);
        return r;
      } finally {
        await page.close();
      }
    };
    const playerFirst = await warmBrowserWebRtc(player.context, player.origin);
    const whepCold = await whepRun();
    const whepRuns: WhepRun[] = [];
    for (let i = 0; i < RUNS; i++) whepRuns.push(await whepRun());
    const whep = whepRuns.map((r) => r.ms);
    console.log(line('WHEP (POST offer -> first frame decoded)', whepCold.ms, whep));
    console.log(
      `  steps after the player started, warm p50: complete offer POSTed ` +
        `${summarize(whepRuns.map((r) => r.posted)).p50.toFixed(0)}, answer set ` +
        `${summarize(whepRuns.map((r) => r.answered)).p50.toFixed(0)}, frame ${summarize(whep).p50.toFixed(0)}`,
    );
    console.log(
      `  the player's browser's own first WebRTC use, before the cold run: ${playerFirst.toFixed(0)} ms`,
    );

    if (process.env.BENCH_KEEP_LOGS === '1') {
      const dir = join(REPO_ROOT, 'bench-results', 'compose');
      mkdirSync(dir, { recursive: true });
      for (const service of ['sim-streamer', 'sim-gateway', 'signaling-a', 'signaling-b']) {
        const file = join(dir, `${service}.log`);
        writeFileSync(file, await containerLogs(await stack.containerOf(service)));
        console.log(`${service} log: ${file}`);
      }
    }
    const w = summarize(web);
    const p = summarize(whep);
    console.log(
      `compose-first-frame web_p50_ms=${w.p50.toFixed(0)} web_p90_ms=${w.p90.toFixed(0)} ` +
        `whep_p50_ms=${p.p50.toFixed(0)} whep_p90_ms=${p.p90.toFixed(0)} runs=${RUNS}`,
    );
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await down();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
