/**
 * The console is served with a strict Content-Security-Policy and no framing; a page under that policy still signs
 * in over the signaling WebSocket of its own origin in a real Chromium, while inline scripts and connections to any
 * other origin are refused. (The full console under the same headers: test/e2e/local-stack.test.ts.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { TestKeys } from '../../../test/support/tokens.js';
import { loadConfig } from '../src/config/config.js';
import { startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { CHROMIUM_EXECUTABLE, CHROMIUM_FLAGS } from '../../../test/support/chromium.js';

const keys = new TestKeys();

const INDEX = `<!doctype html>
<html><head><meta charset="utf-8"><title>console</title></head>
<body>
<script>document.body.dataset.inline = 'ran';</script>
<script type="module" src="./app.js"></script>
</body></html>`;

// What the console does with signaling, reduced to its bones: the same URL rule as services/web/src/token.ts.
const APP = `
const violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  violations.push(e.effectiveDirective + ' ' + e.blockedURI);
  document.body.dataset.violations = violations.join('|');
});
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const ws = new WebSocket((location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/v1/ws');
ws.onopen = () => ws.send(JSON.stringify({ type: 'authenticate', token }));
ws.onmessage = (m) => { document.body.dataset.welcome = JSON.parse(m.data).role; };
try { new WebSocket('ws://127.0.0.2:9/v1/ws'); } catch (e) { document.body.dataset.foreign = e.name; }
`;

describe('console security headers', () => {
  let s: RunningSignaling;
  let webRoot: string;
  let browser: Browser;
  before(async () => {
    webRoot = mkdtempSync(join(tmpdir(), 'rs-console-'));
    writeFileSync(join(webRoot, 'index.html'), INDEX);
    writeFileSync(join(webRoot, 'app.js'), APP);
    s = await startSignaling(keys, { WEB_ROOT: webRoot });
    browser = await chromium.launch({
      executablePath: CHROMIUM_EXECUTABLE,
      args: CHROMIUM_FLAGS,
      headless: true,
    });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
    rmSync(webRoot, { recursive: true, force: true });
  });

  test('the console and its scripts carry a strict CSP, no framing and nosniff', async () => {
    for (const path of ['/', '/app.js']) {
      const r = await fetch(`${s.httpUrl}${path}`);
      assert.equal(r.status, 200);
      const csp = r.headers.get('content-security-policy') ?? '';
      const directives = new Map(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name!, values.join(' ')];
        }),
      );
      assert.equal(directives.get('default-src'), "'none'", csp);
      assert.equal(directives.get('script-src'), "'self'", csp);
      assert.equal(directives.get('style-src'), "'self'", csp);
      assert.equal(directives.get('connect-src'), "'self'", csp);
      assert.equal(directives.get('frame-ancestors'), "'none'", csp);
      assert.equal(directives.get('object-src'), "'none'", csp);
      assert.equal(directives.get('base-uri'), "'none'", csp);
      assert.ok(!directives.has('upgrade-insecure-requests'), 'a robot serves the console over plain HTTP');
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    }
  });

  test("CONSOLE_CONNECT_SRC adds the robots' origins to connect-src, and a value that is not an origin is refused", async () => {
    const extra = await startSignaling(keys, {
      WEB_ROOT: webRoot,
      CONSOLE_CONNECT_SRC: 'http://rover-1.lan:8090, https://*.robots.example.com',
    });
    try {
      const csp = (await fetch(`${extra.httpUrl}/`)).headers.get('content-security-policy') ?? '';
      assert.match(csp, /connect-src 'self' http:\/\/rover-1\.lan:8090 https:\/\/\*\.robots\.example\.com;/);
    } finally {
      await extra.stop();
    }
    assert.throws(
      () => loadConfig({ PUBLIC_KEY: keys.publicPem, CONSOLE_CONNECT_SRC: "http://a.lan 'unsafe-inline'" }),
      /CONSOLE_CONNECT_SRC: .* is not scheme:\/\/host\[:port\]/,
    );
  });

  test('in Chromium the page signs in over its own origin; inline scripts and other origins are refused', async () => {
    const page = await browser.newPage();
    const console: string[] = [];
    page.on('console', (m) => console.push(m.text()));
    try {
      await page.goto(`${s.httpUrl}/#token=${await keys.app('op', '*')}`);
      await page.waitForSelector('body[data-welcome="app"]', { state: 'attached', timeout: 10_000 });
      const data = await page.evaluate(() => ({ ...document.body.dataset }));
      assert.equal(data['inline'], undefined, 'the inline script did not run');
      assert.ok(
        console.some((l) => /inline script.*(violates|Content Security Policy)/.test(l)),
        `Chromium reports the refused inline script: ${console.join('\n')}`,
      );
      const violations = await page.waitForFunction(() => document.body.dataset['violations']);
      const seen = (await violations.jsonValue()) as string;
      assert.match(seen, /connect-src ws:\/\/127\.0\.0\.2:9/);
      assert.doesNotMatch(seen, new RegExp(new URL(s.httpUrl).host.replace(/\./g, '\\.')));
    } finally {
      await page.close();
    }
  });
});
