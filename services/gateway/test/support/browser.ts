/**
 * A real Chromium (Debian's, driven by playwright-core) with a page that has the project's SignalingClient and
 * the browser gateway app loaded: browser-gateway-app.ts bundled by esbuild (platform browser, format esm).
 */
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import type { Received } from './browser-gateway-app.js';
import { launchChromiumApp } from '../../../../test/support/chromium.js';
import { bundleForPage } from '../../../../test/support/browser-bundle.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The browser app with @robostream/protocol/client inlined, as one ES module. */
export function bundleBrowserApp(): Promise<string> {
  return bundleForPage({ entry: join(here, 'browser-gateway-app.ts') });
}

export interface TestBrowser {
  context: BrowserContext;
  /** A fresh page with window.BrowserGatewayApp loaded. */
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const bundle = await bundleBrowserApp();
  const app = await launchChromiumApp({
    html: '<!doctype html><title>gateway test app</title><script type="module" src="/app.js"></script>',
    assets: { '/app.js': { contentType: 'text/javascript', body: bundle } },
    profilePrefix: 'gateway-chromium-',
  });
  return {
    context: app.context,
    async page() {
      const page = await app.context.newPage();
      page.on('pageerror', (err) => console.error('[page error]', err.message));
      await page.goto(app.origin);
      await page.waitForFunction(() => typeof window.BrowserGatewayApp === 'function');
      return page;
    },
    close: () => app.close(),
  };
}

export interface RoundTrip {
  welcome: Received;
  reply: Received;
  pair: { local: string; remote: string; localProtocol: string } | null;
}

/**
 * In the page: a new app `key` opens a gateway session, authenticates with `token` over the reliable channel,
 * takes the lock and sends command `id` to `service`; returns the welcome, the reply and the selected pair.
 */
export function dataChannelRoundTrip(
  page: Page,
  o: {
    url: string;
    token: string;
    robot: string;
    key: string;
    service: string;
    id: string;
    relayOnly?: boolean;
  },
): Promise<RoundTrip> {
  return page.evaluate(async (o) => {
    const app = await window.BrowserGatewayApp.open({
      signalingUrl: o.url,
      token: o.token,
      robotId: o.robot,
      relayOnly: !!o.relayOnly,
    });
    window.apps[o.key] = app;
    const welcome = await app.authenticate(o.token);
    app.send({ v: 1, type: 'lock.takeover', id: `${o.id}-lock` });
    await app.next('lock.state');
    app.send({ v: 1, type: 'command', id: o.id, service: o.service, payload: { n: 1 } });
    const reply = await app.next('reply', { ref: o.id });
    return { welcome, reply, pair: await app.selectedPair() };
  }, o);
}

/** In the page: command `id` again on an app opened before; resolves with its reply. */
export function dataChannelCommand(page: Page, key: string, service: string, id: string): Promise<Received> {
  return page.evaluate(
    async ({ key, service, id }) => {
      const app = window.apps[key]!;
      app.send({ v: 1, type: 'command', id, service, payload: { n: 2 } });
      return app.next('reply', { ref: id });
    },
    { key, service, id },
  );
}
