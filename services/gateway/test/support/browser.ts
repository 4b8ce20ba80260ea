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

// Flags measured on this machine (shared/ENVIRONMENT.md).
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

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
    executablePath: '/usr/bin/chromium',
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
