// Drives test/support/browser/media-app.ts in a real Chromium: the page runs the protocol's SignalingClient,
// bundled for the browser with esbuild, so the tests exercise the same client code as the web app.
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type {
  LumaTransition,
  MediaAppStats,
  StartOptions,
  StartTimeline,
  WhepResult,
} from './browser/media-app.js';
import { eventually } from '../../../../test/support/signaling.js';
import { bundleForPage } from '../../../../test/support/browser-bundle.js';
import { launchAppBrowser, type AppBrowser } from './chromium-app.js';

let bundled: Promise<string> | undefined;

/** media-app.ts and @robostream/protocol/client as one browser ES module. */
export function bundleMediaApp(): Promise<string> {
  bundled ??= bundleForPage({ entry: fileURLToPath(new URL('./browser/media-app.ts', import.meta.url)) });
  return bundled;
}

export async function launchMediaAppBrowser(): Promise<AppBrowser> {
  const code = await bundleMediaApp();
  return launchAppBrowser({ '/media-app.js': { contentType: 'text/javascript', body: code } });
}

interface Window {
  mediaApp: {
    connect(url: string, token: string): Promise<void>;
    start(o: StartOptions): Promise<string>;
    whepPlay(url: string, token: string): Promise<WhepResult>;
    whepStop(resource: string, token: string): Promise<number>;
    stats(): Promise<MediaAppStats>;
    timeline: StartTimeline;
    firstFrameAt: number | null;
    startLumaProbe(): Promise<void>;
    lumaTransitions: LumaTransition[];
    closePeerOnly(): void;
    close(): void;
  };
}

export class MediaAppPage {
  private constructor(readonly page: Page) {}

  static async open(app: AppBrowser): Promise<MediaAppPage> {
    const page = await app.context.newPage();
    await page.goto(app.origin);
    await page.addScriptTag({ url: '/media-app.js', type: 'module' });
    await page.waitForFunction(() => 'mediaApp' in window);
    return new MediaAppPage(page);
  }

  connect(url: string, token: string): Promise<void> {
    return this.page.evaluate(([u, t]) => (window as unknown as Window).mediaApp.connect(u, t), [
      url,
      token,
    ] as const);
  }

  start(o: StartOptions): Promise<string> {
    return this.page.evaluate((opts) => (window as unknown as Window).mediaApp.start(opts), o);
  }

  /** WHEP from inside the page (cross-origin: the test server's origin is not the signaling service's). */
  whepPlay(url: string, token: string): Promise<WhepResult> {
    return this.page.evaluate(([u, t]) => (window as unknown as Window).mediaApp.whepPlay(u, t), [
      url,
      token,
    ] as const);
  }

  whepStop(resource: string, token: string): Promise<number> {
    return this.page.evaluate(([r, t]) => (window as unknown as Window).mediaApp.whepStop(r, t), [
      resource,
      token,
    ] as const);
  }

  stats(): Promise<MediaAppStats> {
    return this.page.evaluate(() => (window as unknown as Window).mediaApp.stats());
  }

  /** The steps of the last start(), in ms after it was called, as the page saw them. */
  timeline(): Promise<StartTimeline> {
    return this.page.evaluate(() => (window as unknown as Window).mediaApp.timeline);
  }

  /** Waits until the page has decoded more than `frames` video frames; resolves with the stats that showed it. */
  framesBeyond(frames: number, what: string, timeoutMs = 20_000): Promise<MediaAppStats> {
    return eventually(
      async () => {
        const s = await this.stats();
        return s.framesDecoded > frames && s;
      },
      timeoutMs,
      what,
    );
  }

  startLumaProbe(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as Window).mediaApp.startLumaProbe());
  }

  lumaTransitions(): Promise<LumaTransition[]> {
    return this.page.evaluate(() => (window as unknown as Window).mediaApp.lumaTransitions);
  }

  closePeerOnly(): Promise<void> {
    return this.page.evaluate(() => (window as unknown as Window).mediaApp.closePeerOnly());
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => (window as unknown as Window).mediaApp.close()).catch(() => undefined);
    await this.page.close();
  }
}
