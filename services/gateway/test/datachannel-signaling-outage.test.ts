/**
 * Signaling goes away and comes back: direct wss links (and data channels already open) keep working meanwhile,
 * the gateway registers again by itself, and a new data-channel session works afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { TestKeys } from '../../../test/support/tokens.js';
import { eventually, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { DirectAppClient } from '../src/client/index.js';
import { AppProbe, ServiceProbe, selfSignedCert } from './helpers.js';
import {
  dataChannelCommand,
  dataChannelRoundTrip,
  launchBrowser,
  type TestBrowser,
} from './support/browser.js';
import { startDcGateway, type DcGateway } from './support/dc-gateway.js';

const keys = new TestKeys();
const ROBOT = 'rover-out';

describe('gateway while signaling is down', { timeout: 90_000 }, () => {
  let sig: RunningSignaling;
  let dc: DcGateway;
  let browser: TestBrowser;
  let svc: ServiceProbe;
  let page: Page;
  const tls = selfSignedCert();

  before(async () => {
    sig = await startSignaling(keys);
    dc = await startDcGateway(keys, ROBOT, sig.url, { tls });
    svc = await ServiceProbe.start(dc.gw.localUrl, 'drive');
    svc.client.onCommand((cmd) => ({ ok: cmd.id }));
    browser = await launchBrowser();
    page = await browser.page();
  });
  after(async () => {
    svc?.close();
    await browser?.close();
    await dc?.close();
    await sig?.stop();
  });

  const connected = () => dc.gw.metrics.registry.getSingleMetricAsString('gateway_signaling_connected');

  test('LAN and open data channels keep working, the gateway re-registers, a new session works', async () => {
    assert.match(await connected(), /gateway_signaling_connected 1/);
    const before = await dataChannelRoundTrip(page, {
      url: sig.url,
      token: await keys.app('dc-user', [ROBOT]),
      robot: ROBOT,
      key: 'early',
      service: 'drive',
      id: 'd1',
    });
    assert.equal(before.reply.msg['ok'], true);
    const lan = new AppProbe(
      await DirectAppClient.connect({
        url: dc.gw.lanUrl!,
        token: await keys.app('lan-user', [ROBOT]),
        ca: tls.cert,
      }),
    );
    assert.match(dc.gw.lanUrl!, /^wss:/);

    // Signaling goes away (same port later: the gateway keeps its SIGNALING_URL).
    const port = new URL(sig.httpUrl).port;
    await sig.stop();
    await eventually(() => !dc.endpoint.connected, 5_000, 'gateway notices signaling is gone');
    assert.match(await connected(), /gateway_signaling_connected 0/);

    // Direct wss: lock and a command round trip while signaling is down.
    lan.client.send({ v: 1, type: 'lock.takeover', id: 'lt' });
    lan.client.command('drive', 'lan-1', {});
    const lanReply = await lan.wait('reply', (m) => m.ref === 'lan-1');
    assert.equal(lanReply.ok, true);
    // The data channel opened before the outage lives on: peer to peer, no signaling involved.
    const early = await page.evaluate(() => window.apps['early']!.received.length);
    assert.ok(early > 0);
    await page.evaluate(() => window.apps['early']!.send({ v: 1, type: 'lock.takeover', id: 'lt2' }));
    const dcReply = await dataChannelCommand(page, 'early', 'drive', 'd2');
    assert.equal(dcReply.msg['ok'], true);
    assert.equal(dc.gw.stats().links, 2);

    // Signaling is back on the same address: the gateway registers again without help.
    sig = await startSignaling(keys, { PORT: port });
    await eventually(() => dc.endpoint.connected, 10_000, 'gateway registered again');
    await eventually(async () => /gateway_signaling_connected 1/.test(await connected()), 5_000, 'gauge');
    const after = await dataChannelRoundTrip(page, {
      url: sig.url,
      token: await keys.app('dc-user-2', [ROBOT]),
      robot: ROBOT,
      key: 'late',
      service: 'drive',
      id: 'd3',
    });
    assert.equal(after.welcome.msg['sub'], 'dc-user-2');
    assert.equal(after.reply.msg['ok'], true);
    assert.equal(dc.gw.stats().links, 3);
    lan.close();
  });
});
