/**
 * How every test and bench starts Debian's Chromium here, in one place: headless, no background networking (the
 * closed network refuses it), fake camera and microphone devices, a fresh profile each time, and a loopback
 * HTTP origin for the page (getUserMedia needs a secure context, which loopback is). Why each flag:
 * docs/development.md.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_EXECUTABLE = '/usr/bin/chromium';

export const CHROMIUM_FLAGS: string[] = [
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

/**
 * CHROMIUM_WEBRTC_LOG=1: Chromium's own WebRTC log on its stderr (ICE gathering phases, TURN, DTLS, the video
 * receiver's complaints such as a missing PPS), which Playwright prints with DEBUG=pw:browser.
 */
const WEBRTC_LOG_FLAGS =
  process.env['CHROMIUM_WEBRTC_LOG'] === '1' ? ['--enable-logging=stderr', '--v=1'] : [];

export interface TestChromium {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Chromium with a fresh profile (`profilePrefix` names its temporary directory). */
export async function launchChromium(
  o: {
    profilePrefix?: string;
    viewport?: { width: number; height: number };
    /** More flags, e.g. --use-file-for-fake-audio-capture=<wav> for a known microphone signal. */
    extraArgs?: string[];
  } = {},
): Promise<TestChromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), o.profilePrefix ?? 'robostream-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_EXECUTABLE,
    args: [...CHROMIUM_FLAGS, ...WEBRTC_LOG_FLAGS, ...(o.extraArgs ?? [])],
    headless: true,
    ...(o.viewport ? { viewport: o.viewport } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Files a test origin serves besides its page (e.g. a bundled script), by path. */
export type PageAssets = Record<string, { contentType: string; body: string }>;

export interface ChromiumApp extends TestChromium {
  /** http://127.0.0.1:port, serving `html` at every path but the assets'. */
  origin: string;
}

/** Chromium plus a loopback origin that serves the test's page and assets. */
export async function launchChromiumApp(o: {
  html: string;
  assets?: PageAssets;
  profilePrefix?: string;
  extraArgs?: string[];
}): Promise<ChromiumApp> {
  const assets = o.assets ?? {};
  const server: Server = createServer((req, res) => {
    const asset = assets[new URL(req.url ?? '/', 'http://x').pathname];
    if (asset) {
      res.writeHead(200, { 'content-type': asset.contentType });
      res.end(asset.body);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(o.html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no server address');
  const browser = await launchChromium({
    ...(o.profilePrefix ? { profilePrefix: o.profilePrefix } : {}),
    ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
  });
  return {
    context: browser.context,
    origin: `http://127.0.0.1:${address.port}`,
    async close() {
      await browser.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
