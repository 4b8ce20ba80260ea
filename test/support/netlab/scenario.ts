// Runs one network scenario in a fresh lab, for robostream (the real streamer, the web app's MediaSession) and,
// when asked, for the baseline (Chromium to Chromium) over the same path right after, and turns what the pages
// recorded into figures. Tests run it short and assert behaviour; benches run it full length and print figures.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Flip, PageResults } from './browser/lab-page.js';
import type { Lab } from './lab.js';
import type { LabPage } from './lab-browser.js';
import { LabStack, type RobotTarget } from './lab-stack.js';
import { analyze, type Analysis, type ObservationWindow, type RecoverBy } from './timeline.js';

export type Mode = 'robostream' | 'baseline';

export interface ScenarioContext {
  lab: Lab;
  /** Full length (bench) or short (test). */
  full: boolean;
  mode: Mode;
  /** Opens one more viewer in `app`'s namespace (robostream: a web app page; baseline: one more Chromium pair). */
  addViewer(app: string): Promise<void>;
  /** Closes the viewer `addViewer` opened in `app`'s namespace (its results are kept). */
  removeViewer(app: string): Promise<void>;
}

export interface Scenario {
  name: string;
  /** One line: what the path does. */
  what: string;
  /** App namespaces; the first one's viewer is the main one. Default ["app"]. */
  apps?: string[];
  warmupMs(full: boolean): number;
  /** The impairment; returns once the path is (or is made) clean again. */
  impair(ctx: ScenarioContext): Promise<void>;
  afterMs(full: boolean): number;
  recover: RecoverBy;
}

export interface ModeResult {
  mode: Mode;
  window: ObservationWindow;
  main: Analysis;
  /** Viewers added during the scenario, by app name. */
  extra: Map<string, Analysis>;
  raw: PageResults;
}

export interface ScenarioResult {
  scenario: Scenario;
  runs: ModeResult[];
}

const now = (): number => performance.timeOrigin + performance.now();

async function runMode(scn: Scenario, stack: LabStack, mode: Mode, full: boolean): Promise<ModeResult> {
  const pages: LabPage[] = [];
  const extra = new Map<string, LabPage>();
  const senders: LabPage[] = [];
  let targets: RobotTarget[] = [];
  let robotFlips: Flip[] | null = null;
  const open = async (app: string): Promise<LabPage> => {
    if (mode === 'robostream') return stack.viewer(app);
    const [receiver, sender] = await stack.baseline(app);
    senders.push(sender);
    pages.push(sender);
    return receiver;
  };
  try {
    if (mode === 'robostream') {
      const robot = await stack.startRobot();
      targets = robot.targets;
      robotFlips = robot.flips;
    }
    const apps = scn.apps ?? ['app'];
    await stack.launchBrowsers(apps, mode === 'baseline');
    const main = await open(apps[0] ?? 'app');
    pages.push(main);
    if (!(await main.waitFrames(60, 0, 45_000)))
      throw new Error(`${scn.name} (${mode}): no picture on a clean path`);
    await main.watchScreen();
    const startMs = now();
    await sleep(scn.warmupMs(full));
    const impairStartMs = now();
    await scn.impair({
      lab: stack.lab,
      full,
      mode,
      addViewer: async (app) => {
        const p = await open(app);
        if (full) await p.watchScreen();
        pages.push(p);
        extra.set(app, p);
      },
      removeViewer: async (app) => {
        await extra
          .get(app)
          ?.page.evaluate(() => (window as unknown as { lab: { close(): void } }).lab.close());
      },
    });
    const impairEndMs = now();
    await sleep(scn.afterMs(full));
    const window: ObservationWindow = { startMs, impairStartMs, impairEndMs, endMs: now() };
    const flips = async (i: number): Promise<Flip[]> =>
      robotFlips ?? (await senders[i]?.collect())?.flips ?? [];
    const raw = await main.collect();
    const result: ModeResult = {
      mode,
      window,
      main: analyze(raw, await flips(0), window, scn.recover, targets),
      extra: new Map(),
      raw,
    };
    let i = 1;
    for (const [app, p] of extra) {
      // A viewer added during the impairment is judged from its first frame to its leaving.
      const got = await p.collect();
      const first = got.frames.find((t) => t >= impairStartMs) ?? impairStartMs;
      const own = { startMs: impairStartMs, impairStartMs: first, impairEndMs, endMs: impairEndMs };
      result.extra.set(app, analyze(got, await flips(i++), own, null, targets, window.startMs));
    }
    return result;
  } finally {
    for (const p of pages) await p.close();
    if (mode === 'robostream') await stack.stopRobot();
  }
}

/** One scenario in a fresh lab: robostream, then (if `baseline`) Chromium to Chromium on the same path. */
export async function runScenario(
  scn: Scenario,
  o: { full: boolean; baseline: boolean },
): Promise<ScenarioResult> {
  const stack = await LabStack.start(scn.apps ? { apps: scn.apps } : {});
  try {
    const runs = [await runMode(scn, stack, 'robostream', o.full)];
    if (o.baseline) runs.push(await runMode(scn, stack, 'baseline', o.full));
    return { scenario: scn, runs };
  } finally {
    await stack.close();
  }
}
