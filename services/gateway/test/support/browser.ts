/**
 * A real Chromium (Debian's, driven by playwright-core) with a page that has the project's SignalingClient and
 * the browser gateway app loaded: browser-gateway-app.ts bundled by esbuild (platform browser, format esm).
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Received } from './browser-gateway-app.js';
import { CHROMIUM_EXECUTABLE, CHROMIUM_FLAGS } from '../../../../test/support/chromium.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The browser app with @robostream/protocol/client inlined, as one ES module. */
export async function bundleBrowserApp(): Promise<string> {
  const r = await build({
    entryPoints: [join(here, 'browser-gateway-app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const out = r.outputFiles[0];
  if (!out) throw new Error('esbuild produced nothing');
  return out.text;
}

export interface TestBrowser {
  context: BrowserContext;
  /** A fresh page with window.BrowserGatewayApp loaded. */
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const bundle = await bundleBrowserApp();
  const server: Server = createServer((req, res) => {
    if (req.url === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>gateway test app</title><script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no server address');
  const origin = `http://127.0.0.1:${address.port}`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'gateway-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_EXECUTABLE,
    args: CHROMIUM_FLAGS,
    headless: true,
  });
  return {
    context,
    async page() {
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error('[page error]', err.message));
      await page.goto(origin);
      await page.waitForFunction(() => typeof window.BrowserGatewayApp === 'function');
      return page;
    },
    async close() {
      await context.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(userDataDir, { recursive: true, force: true });
    },
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
    app.send({ v: 1, type: 'auth', token: o.token });
    const welcome = await app.next('welcome');
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
