// Chromium inside a lab namespace, pinned to one CPU, driving browser/lab-page.ts. playwright-core starts the
// browser through a wrapper that enters the namespace (it talks to it over a pipe, which crosses namespaces);
// the page's origin is answered by playwright itself, so nothing has to listen inside the namespace for it.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_EXECUTABLE, CHROMIUM_FLAGS } from '../chromium.js';
import { bundleForPage } from '../browser-bundle.js';
import { ScreenWatch } from '../screen-watch.js';
import type { GatewayRecord } from './browser/gateway-page.js';
import type { LabSignal, PageResults } from './browser/lab-page.js';
import { shownLevels } from './timeline.js';

const bundles = new Map<string, Promise<string>>();
/** A browser module of ./browser/ with its imports, as one ES module (built once per process). */
function bundle(entry: string): Promise<string> {
  let b = bundles.get(entry);
  if (!b) {
    b = bundleForPage({ entry: fileURLToPath(new URL(`./browser/${entry}.ts`, import.meta.url)) });
    bundles.set(entry, b);
  }
  return b;
}

export interface LabBrowser {
  context: BrowserContext;
  origin: string;
  close(): Promise<void>;
}

/** Chromium in `ns` on CPU `cpu`, its page origin at http://<address>:8000 (a secure context by flag). */
export async function launchLabBrowser(ns: string, cpu: number, address: string): Promise<LabBrowser> {
  const scripts: Record<string, string> = {
    '/lab-page.js': await bundle('lab-page'),
    '/gateway-page.js': await bundle('gateway-page'),
  };
  const dir = mkdtempSync(join(tmpdir(), 'netlab-chromium-'));
  const wrapper = join(dir, 'chromium');
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec ip netns exec ${ns} taskset -c ${cpu} ${CHROMIUM_EXECUTABLE} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  const origin = `http://${address}:8000`;
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: wrapper,
    args: [
      ...CHROMIUM_FLAGS,
      `--unsafely-treat-insecure-origin-as-secure=${origin}`,
      // Real addresses in host candidates (the robot cannot resolve Chromium's mDNS names across the router),
      // and no Local Network Access prompt for the lab's private addresses (nobody is there to answer it).
      '--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets',
    ],
    headless: true,
  });
  await context.route(`${origin}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const script = scripts[path];
    if (script) return route.fulfill({ contentType: 'text/javascript', body: script });
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>netlab</title>' });
  });
  return {
    context,
    origin,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface LabWindow {
  lab: {
    viewRobot(url: string, token: string, robotId: string): Promise<void>;
    baselineOffer(): Promise<string>;
    baselineAnswer(offer: string, maxKbps: number): Promise<string>;
    onSignal(msg: LabSignal): Promise<void>;
    startSampler(): void;
    collect(since?: number): PageResults;
    framesSince(atEpochMs: number): number;
    close(): void;
  };
}

/** One page of the lab in a LabBrowser. */
export class LabPage {
  private peer: LabPage | null = null;
  private screen: ScreenWatch | null = null;

  private constructor(readonly page: Page) {}

  static async open(b: LabBrowser): Promise<LabPage> {
    const page = await b.context.newPage();
    const lab = new LabPage(page);
    // Baseline signaling: what one page sends, the controller hands to its peer page.
    await page.exposeFunction('__labSignal', async (json: string) => {
      const msg = JSON.parse(json) as LabSignal;
      await lab.peer?.page
        .evaluate((m) => (window as unknown as LabWindow).lab.onSignal(m), msg)
        .catch(() => undefined);
    });
    await page.goto(b.origin);
    await page.addScriptTag({ url: '/lab-page.js', type: 'module' });
    await page.waitForFunction(() => 'lab' in window);
    return lab;
  }

  viewRobot(signalingUrl: string, token: string, robotId: string): Promise<void> {
    return this.page.evaluate(([u, t, r]) => (window as unknown as LabWindow).lab.viewRobot(u, t, r), [
      signalingUrl,
      token,
      robotId,
    ] as const);
  }

  /** Connects a baseline receiver (this page) with a baseline sender page, Chromium to Chromium. */
  async baselineFrom(sender: LabPage, maxKbps: number): Promise<void> {
    this.peer = sender;
    sender.peer = this;
    const offer = await this.page.evaluate(() => (window as unknown as LabWindow).lab.baselineOffer());
    const answer = await sender.page.evaluate(
      ([o, k]) => (window as unknown as LabWindow).lab.baselineAnswer(o, k),
      [offer, maxKbps] as const,
    );
    await this.page.evaluate(
      (sdp) => (window as unknown as LabWindow).lab.onSignal({ kind: 'answer', sdp }),
      answer,
    );
  }

  startSampler(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as LabWindow).lab.startSampler());
  }

  /** Watches what the compositor swaps from now on: collect() then reports `shown` (glass-to-glass from it). */
  async watchScreen(): Promise<void> {
    this.screen ??= await ScreenWatch.start(this.page, 'video');
  }

  async collect(since = 0): Promise<PageResults> {
    const r = await this.page.evaluate((s) => (window as unknown as LabWindow).lab.collect(s), since);
    if (this.screen) r.shown = shownLevels(await this.screen.stop()).filter((x) => x.atEpochMs >= since);
    return r;
  }

  framesSince(atEpochMs: number): Promise<number> {
    return this.page.evaluate((t) => (window as unknown as LabWindow).lab.framesSince(t), atEpochMs);
  }

  /** Waits until `n` frames were displayed after `atEpochMs`; false after `timeoutMs`. */
  async waitFrames(n: number, atEpochMs: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.framesSince(atEpochMs)) >= n) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as LabWindow).lab.close()).catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}

interface GatewayWindow {
  gatewayLab: {
    start(url: string, token: string, robotId: string, intervalMs: number): Promise<void>;
    collect(): GatewayRecord;
    close(): void;
  };
}

/** A page of a LabBrowser operating the robot's gateway (browser/gateway-page.ts). */
export class GatewayPage {
  private constructor(readonly page: Page) {}

  static async open(b: LabBrowser): Promise<GatewayPage> {
    const page = await b.context.newPage();
    await page.goto(b.origin);
    await page.addScriptTag({ url: '/gateway-page.js', type: 'module' });
    await page.waitForFunction(() => 'gatewayLab' in window);
    return new GatewayPage(page);
  }

  start(signalingUrl: string, token: string, robotId: string, intervalMs: number): Promise<void> {
    return this.page.evaluate(
      ([u, t, r, i]) => (window as unknown as GatewayWindow).gatewayLab.start(u, t, r, i),
      [signalingUrl, token, robotId, intervalMs] as const,
    );
  }

  collect(): Promise<GatewayRecord> {
    return this.page.evaluate(() => (window as unknown as GatewayWindow).gatewayLab.collect());
  }

  async close(): Promise<void> {
    await this.page
      .evaluate(() => (window as unknown as GatewayWindow).gatewayLab.close())
      .catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}
