/**
 * The data-channel app link through TURN only: a real coturn on loopback ports, signaling handing out TURN REST
 * credentials, iceTransportPolicy 'relay' on both ends (Chromium and the gateway's werift).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestKeys } from '../../../test/support/tokens.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { ServiceProbe } from './helpers.js';
import { dataChannelRoundTrip, launchBrowser, type TestBrowser } from './support/browser.js';
import { startCoturn, type Coturn } from '../../../test/support/coturn.js';
import { startDcGateway, type DcGateway } from './support/dc-gateway.js';

const keys = new TestKeys();
const ROBOT = 'rover-relay';

describe('gateway data channels relayed through TURN', { timeout: 90_000 }, () => {
  let turn: Coturn;
  let sig: RunningSignaling;
  let dc: DcGateway;
  let browser: TestBrowser;
  let svc: ServiceProbe;

  before(async () => {
    // One allocation per username at a time: a session that ends must give its allocation back (see below).
    turn = await startCoturn({ maxAllocateLifetimeSec: 6, userQuota: 1 });
    sig = await startSignaling(keys, { TURN_URLS: turn.url, TURN_SECRET: turn.secret, TURN_TTL_SEC: '600' });
    dc = await startDcGateway(keys, ROBOT, sig.url, { iceTransportPolicy: 'relay' });
    svc = await ServiceProbe.start(dc.gw.localUrl, 'arm');
    svc.client.onCommand((cmd) => ({ moved: cmd.payload }));
    browser = await launchBrowser();
  });
  after(async () => {
    svc?.close();
    await browser?.close();
    await dc?.close();
    await sig?.stop();
    await turn?.stop();
  });

  test('the gateway got TURN credentials from signaling; a command round trip works over a relay pair', async () => {
    const servers = dc.endpoint.client.iceServers;
    assert.equal(servers.length, 1);
    assert.deepEqual(servers[0]!.urls, [turn.url]);
    assert.match(servers[0]!.username ?? '', /^\d+:/);

    const page = await browser.page();
    const r = await dataChannelRoundTrip(page, {
      url: sig.url,
      token: await keys.app('ops', [ROBOT]),
      robot: ROBOT,
      key: 'relay',
      service: 'arm',
      id: 'r1',
      relayOnly: true,
    });
    assert.equal(r.welcome.msg['sub'], 'ops');
    assert.equal(r.reply.msg['ok'], true);
    assert.deepEqual(r.reply.msg['payload'], { moved: { n: 1 } });
    assert.deepEqual(r.pair, { local: 'relay', remote: 'relay', localProtocol: 'udp' });
    await page.evaluate(() => window.apps['relay']!.close());
    await page.close();
  });

  test('a session that ended gave its TURN allocation back: the next app gets a relay pair again', async () => {
    // The first test's session is over. coturn frees a deleted allocation about a second after the request; the
    // gateway's would otherwise hold the robot's only place in the quota for its 6 s lifetime.
    await eventually(() => dc.endpoint.sessionCount === 0, 10_000, 'the first session gone');
    await sleep(3000);
    const page = await browser.page();
    const r = await dataChannelRoundTrip(page, {
      url: sig.url,
      token: await keys.app('ops-2', [ROBOT]),
      robot: ROBOT,
      key: 'relay2',
      service: 'arm',
      id: 'r2',
      relayOnly: true,
    });
    assert.equal(r.reply.msg['ok'], true);
    assert.deepEqual(r.pair, { local: 'relay', remote: 'relay', localProtocol: 'udp' });
    await page.evaluate(() => window.apps['relay2']!.close());
    await page.close();
  });
});
