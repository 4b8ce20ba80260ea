/**
 * The app link through signaling, end to end with real parts: a signaling server (in process), the gateway with
 * its signaling endpoint (werift answers), a robot program over the local websocket, and Chromium as the app
 * running the project's own SignalingClient (bundled by esbuild) with the two data channels of the contract.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { TestKeys } from '../../../test/support/tokens.js';
import { startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { ServiceProbe, until } from './helpers.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { startDcGateway, type DcGateway } from './support/dc-gateway.js';
import type { Received } from './support/browser-gateway-app.js';

const keys = new TestKeys();
const ROBOT = 'rover-7';

describe('gateway over WebRTC data channels (Chromium, through signaling)', { timeout: 90_000 }, () => {
  let sig: RunningSignaling;
  let dc: DcGateway;
  let browser: TestBrowser;
  let svc: ServiceProbe;
  let page: Page;

  before(async () => {
    sig = await startSignaling(keys);
    dc = await startDcGateway(keys, ROBOT, sig.url);
    svc = await ServiceProbe.start(dc.gw.localUrl, 'policy');
    svc.client.onCommand((cmd) => ({ echo: cmd.payload, by: cmd.sub }));
    browser = await launchBrowser();
    page = await browser.page();
  });
  after(async () => {
    svc?.close();
    await browser?.close();
    await dc?.close();
    await sig?.stop();
  });

  test('session, auth over the channel, lock, command -> service -> reply, telemetry on the lossy channel', async () => {
    const token = await keys.app('alice', [ROBOT]);
    const r = await page.evaluate(
      async ({ url, token, robot }) => {
        const app = await window.BrowserGatewayApp.open({ signalingUrl: url, token, robotId: robot });
        window.apps['alice'] = app;
        app.send({ v: 1, type: 'auth', token });
        const welcome = await app.next('welcome');
        app.send({ v: 1, type: 'lock.take', id: 'l1' });
        const lock = await app.next('lock.state');
        app.send({ v: 1, type: 'command', id: 'c1', service: 'policy', payload: { action: 'start' } });
        const reply = await app.next('reply', { ref: 'c1' });
        return { welcome, lock, reply, pair: await app.selectedPair() };
      },
      { url: sig.url, token, robot: ROBOT },
    );
    assert.equal(r.welcome.label, 'gateway-reliable');
    assert.equal(r.welcome.msg['sub'], 'alice');
    assert.equal(r.welcome.msg['robot'], ROBOT);
    assert.deepEqual(r.welcome.msg['services'], [{ service: 'policy', up: true }]);
    assert.deepEqual((r.lock.msg['holder'] as { sub: string }).sub, 'alice');
    assert.equal(r.reply.label, 'gateway-reliable');
    assert.equal(r.reply.msg['ok'], true);
    assert.deepEqual(r.reply.msg['payload'], { echo: { action: 'start' }, by: 'alice' });
    assert.ok(r.pair, 'Chromium reports a selected candidate pair');

    // The service saw the command stamped with the link and the app's subject from its token.
    const cmd = await svc.wait('command', (c) => c.id === 'c1');
    assert.equal(cmd.sub, 'alice');
    assert.equal(cmd.from, r.welcome.msg['link']);
    const links = await dc.gw.metrics.registry.getSingleMetricAsString('gateway_app_links');
    assert.match(links, /gateway_app_links\{transport="datachannel"\} 1/);

    // Telemetry is lossy by contract: keep publishing until the page has seen one, then check its channel.
    let seen: Received | null = null;
    for (let i = 0; !seen && i < 200; i++) {
      svc.client.telemetry({ step: i }, { topic: 'status' });
      seen = await page.evaluate(
        () => window.apps['alice']!.received.find((x) => x.msg.type === 'telemetry') ?? null,
      );
      if (!seen) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(seen, 'telemetry reached the page');
    assert.equal(seen.label, 'gateway-lossy');
    assert.equal(seen.msg['service'], 'policy');
    assert.equal(seen.msg['topic'], 'status');

    // Frames published in one burst reach the page batched (fewer data-channel messages than frames), each
    // frame of a batch delivered as a frame of its own.
    const before = await page.evaluate(() => window.apps['alice']!.received.length);
    for (let i = 0; i < 40; i++) svc.client.telemetry({ burst: i }, { topic: 'burst' });
    const arrived = () =>
      page.evaluate(() => window.apps['alice']!.received.filter((x) => x.msg['topic'] === 'burst').length);
    for (const start = Date.now(); (await arrived()) < 30; await new Promise((res) => setTimeout(res, 20)))
      if (Date.now() - start > 10_000)
        throw new Error('the burst (lossy channel: most of it) did not arrive');
    const burst = await page.evaluate(
      (from) => ({
        batches: window.apps['alice']!.batches,
        frames: window.apps['alice']!.received.slice(from).filter((x) => x.msg['topic'] === 'burst'),
      }),
      before,
    );
    assert.ok(burst.batches >= 1, 'at least one message carried several frames');
    const indexes = burst.frames.map((f) => (f.msg['payload'] as { burst: number }).burst);
    assert.equal(new Set(indexes).size, indexes.length, 'no frame delivered twice');

    // Reliable frames in bursts much bigger than one batch (300 events, ~75 KB): every one arrives, in order.
    const pad = 'x'.repeat(200);
    for (let i = 0; i < 300; i++) svc.client.event({ seq: i, pad });
    const events = () =>
      page.evaluate(() =>
        window.apps['alice']!.received.filter((x) => x.msg.type === 'event').map(
          (x) => (x.msg['payload'] as { seq: number }).seq,
        ),
      );
    for (
      const start = Date.now();
      (await events()).length < 300;
      await new Promise((res) => setTimeout(res, 20))
    )
      if (Date.now() - start > 10_000)
        throw new Error(`only ${(await events()).length} of 300 events arrived`);
    assert.deepEqual(await events(), [...Array(300).keys()], 'all 300 events, in order, none twice');

    // The app leaves: the link, its lock and the session go away on the robot.
    await page.evaluate(() => window.apps['alice']!.close());
    await until(() => dc.gw.stats().links === 0, 'link gone');
    assert.equal(dc.gw.stats().lock, null);
    await until(() => dc.endpoint.sessionCount === 0, 'session gone');
  });

  test('a token that does not grant this robot is refused with forbidden; three refusals close the link', async () => {
    // Signaling lets the app open the session (its signaling token grants the robot); the gateway decides itself.
    const signalingToken = await keys.app('mallory', [ROBOT]);
    const ungranted = await keys.app('mallory', ['rover-9']);
    const forged = await new TestKeys().app('mallory', [ROBOT]);
    const r = await page.evaluate(
      async ({ url, signalingToken, ungranted, forged, robot }) => {
        const app = await window.BrowserGatewayApp.open({
          signalingUrl: url,
          token: signalingToken,
          robotId: robot,
        });
        window.apps['mallory'] = app;
        app.send({ v: 1, type: 'command', id: 'early', service: 'policy', payload: {} });
        const early = await app.next('error', { ref: 'early' });
        app.send({ v: 1, type: 'auth', token: ungranted });
        const forbidden = await app.next('error', { code: 'forbidden' });
        app.send({ v: 1, type: 'auth', token: forged });
        const invalid = await app.next('error', { code: 'token_invalid' });
        app.send({ v: 1, type: 'auth', token: ungranted });
        // The gateway closes the channel (Chromium sees it closed) and the session through signaling.
        while (app.reliable.readyState !== 'closed' || app.sessionClosed === null)
          await new Promise((res) => setTimeout(res, 20));
        const sessionClosed = app.sessionClosed;
        const welcomed = app.received.some((x) => x.msg.type === 'welcome');
        return { early, forbidden, invalid, welcomed, sessionClosed };
      },
      { url: sig.url, signalingToken, ungranted, forged, robot: ROBOT },
    );
    assert.equal(r.early.msg['code'], 'unauthenticated');
    assert.equal(r.forbidden.label, 'gateway-reliable');
    assert.match(String(r.forbidden.msg['message']), /does not grant robot rover-7/);
    assert.equal(r.invalid.msg['code'], 'token_invalid');
    assert.equal(r.welcomed, false);
    assert.match(r.sessionClosed, /4403 forbidden/);
    // Never admitted, never reached the service.
    assert.equal(
      svc.find('command', (c) => c.id === 'early'),
      undefined,
    );
    await until(() => dc.endpoint.sessionCount === 0, 'refused session gone');
    assert.equal(dc.gw.stats().links, 0);
    await page.evaluate(() => window.apps['mallory']!.signaling.close());
  });
});
