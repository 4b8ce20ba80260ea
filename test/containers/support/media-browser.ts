/**
 * Chromium (Debian's, driven by playwright-core) with pages that run browser-media-app.ts: the project's
 * SignalingClient bundled by esbuild for the browser, served from a loopback origin (a secure context, so the
 * fake microphone works). The signaling URL may be any host: the signaling service does not check origins.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { MediaAppOptions, MediaAppStats } from './browser-media-app.js';
import { launchChromiumApp } from '../../support/chromium.js';
import { bundleForPage } from '../../support/browser-bundle.js';

const here = dirname(fileURLToPath(import.meta.url));

function bundle(): Promise<string> {
  return bundleForPage({ entry: join(here, 'browser-media-app.ts') });
}

/** One page running one media session. */
export class MediaPage {
  constructor(readonly page: Page) {}

  stats(): Promise<MediaAppStats> {
    return this.page.evaluate(() => {
      if (!window.mediaApp) throw new Error('no media app started');
      return window.mediaApp.stats();
    });
  }

  async close(): Promise<void> {
    await this.page.evaluate(() => window.mediaApp?.close()).catch(() => undefined);
    await this.page.close();
  }
}

export interface MediaBrowser {
  /** Opens a page and starts a media session in it (resolves once the offer is sent). */
  open(options: MediaAppOptions): Promise<MediaPage>;
  close(): Promise<void>;
}

export async function launchMediaBrowser(): Promise<MediaBrowser> {
  const js = await bundle();
  const app = await launchChromiumApp({
    html: '<!doctype html><title>container test app</title><script type="module" src="/app.js"></script>',
    assets: { '/app.js': { contentType: 'text/javascript', body: js } },
    profilePrefix: 'robostream-containers-chromium-',
  });
  const { context, origin } = app;
  return {
    async open(options) {
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error('[page error]', err.message));
      await page.goto(origin);
      await page.waitForFunction(() => typeof window.MediaApp === 'function');
      await page.evaluate(async (o) => {
        window.mediaApp = await window.MediaApp.start(o);
      }, options);
      return new MediaPage(page);
    },
    close: () => app.close(),
  };
}
