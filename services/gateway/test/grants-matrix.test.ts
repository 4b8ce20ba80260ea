/**
 * Every grant x every gateway action, over both app links: the direct LAN websocket and WebRTC data channels
 * through signaling (Chromium as the app). The gateway verifies each token offline with the public key, as a
 * robot does; a real robot program (ServiceClient) sees what gets through.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { GATEWAY_ENVELOPE_VERSION as v } from '@robostream/protocol/gateway';
import type { Grant, RobotGrants } from '@robostream/protocol/auth';
import { TestKeys } from '../../../test/support/tokens.js';
import { startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { RawPeer, ServiceProbe, until } from './helpers.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { startDcGateway, type DcGateway } from './support/dc-gateway.js';

const keys = new TestKeys();
const ROBOT = 'rover-g';

type Msg = { type: string; [k: string]: unknown };

/** One app link under test, whatever its transport. */
interface TestLink {
  send(msg: object): Promise<void>;
  messages(): Promise<Msg[]>;
  close(): Promise<void>;
}

interface Profile {
  name: string;
  /** How the token is minted: per-robot grants, or the old `robots` form. */
  token: (sub: string) => Promise<string>;
  /** null: the gateway must refuse the link (forbidden). */
  expect: Grant[] | null;
}

const withGrants = (g: RobotGrants) => (sub: string) => keys.appWith(sub, g);
const PROFILES: Profile[] = [
  { name: 'other-robot', token: withGrants({ 'rover-x': ['supervise'] }), expect: null },
  { name: 'view', token: withGrants({ [ROBOT]: ['view'] }), expect: ['view'] },
  { name: 'talk', token: withGrants({ [ROBOT]: ['talk'] }), expect: ['view', 'talk'] },
  { name: 'drive', token: withGrants({ [ROBOT]: ['drive'] }), expect: ['view', 'drive'] },
  {
    name: 'supervise',
    token: withGrants({ '*': ['view'], [ROBOT]: ['supervise'] }),
    expect: ['view', 'drive', 'supervise'],
  },
  {
    name: 'legacy-robots',
    token: (sub) => keys.app(sub, [ROBOT]),
    expect: ['view', 'talk', 'drive', 'supervise'],
  },
];

async function waitFor(link: TestLink, what: string, pred: (m: Msg) => boolean): Promise<Msg> {
  const start = Date.now();
  for (;;) {
    const hit = (await link.messages()).find(pred);
    if (hit) return hit;
    if (Date.now() - start > 10_000) {
      const got = JSON.stringify(await link.messages()).slice(-800);
      throw new Error(`timed out waiting for ${what}; got ${got}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isError = (code: string, ref: string) => (m: Msg) =>
  m.type === 'error' && m.code === code && m.ref === ref;

describe('grants x actions on the gateway (direct link and data channels)', { timeout: 240_000 }, () => {
  let sig: RunningSignaling;
  let dc: DcGateway;
  let browser: TestBrowser;
  let page: Page;
  let svc: ServiceProbe;
  let operator: RawPeer;
  let seq = 0;

  const direct = async (token: string): Promise<TestLink> => {
    const p = await RawPeer.open(dc.gw.lanUrl!, 'app');
    p.send({ v, type: 'auth', token });
    return {
      send: async (m) => p.send(m),
      messages: async () => p.got as Msg[],
      close: async () => p.close(),
    };
  };

  // The signaling session is opened with a view token of its own, so that the gateway's offline check is what
  // refuses a token for another robot (signaling would refuse that one before any channel exists).
  const datachannel = async (token: string): Promise<TestLink> => {
    const key = `app${++seq}`;
    const carrier = await keys.appWith(`carrier-${seq}`, { [ROBOT]: ['view'] });
    await page.evaluate(
      async ({ url, carrier, token, robot, key }) => {
        const app = await window.BrowserGatewayApp.open({
          signalingUrl: url,
          token: carrier,
          robotId: robot,
        });
        window.apps[key] = app;
        app.send({ v: 1, type: 'auth', token });
      },
      { url: sig.url, carrier, token, robot: ROBOT, key },
    );
    return {
      send: (m) => page.evaluate(({ key, m }) => window.apps[key]!.send(m), { key, m }),
      messages: () => page.evaluate((key) => window.apps[key]!.received.map((r) => r.msg), key),
      close: () => page.evaluate((key) => window.apps[key]!.close(), key),
    };
  };

  before(async () => {
    sig = await startSignaling(keys);
    dc = await startDcGateway(keys, ROBOT, sig.url);
    svc = await ServiceProbe.start(dc.gw.localUrl, 'drive');
    svc.client.onCommand((c) => ({ ok: c.id }));
    browser = await launchBrowser();
    page = await browser.page();
    // The operator every takeover is tried against: a supervisor on the direct link.
    operator = await RawPeer.open(dc.gw.lanUrl!, 'app');
    operator.send({ v, type: 'auth', token: await keys.appWith('operator', { [ROBOT]: ['supervise'] }) });
    await operator.waitType('welcome');
  });
  after(async () => {
    operator?.close();
    svc?.close();
    await browser?.close();
    await dc?.close();
    await sig?.stop();
  });

  const operatorHolds = async () => {
    operator.send({ v, type: 'lock.take', id: `op-${++seq}` });
    await until(() => dc.gw.stats().lock?.sub === 'operator', 'the operator holds the lock');
  };
  const operatorReleases = async () => {
    operator.send({ v, type: 'lock.release' });
    await until(() => dc.gw.stats().lock === null, 'the lock is free');
  };

  for (const [transport, open] of [
    ['direct', direct],
    ['datachannel', datachannel],
  ] as const) {
    for (const p of PROFILES) {
      test(`${transport}: ${p.name}`, async () => {
        const sub = `${transport}-${p.name}`;
        const link = await open(await p.token(sub));
        try {
          if (p.expect === null) {
            const err = await waitFor(link, 'forbidden', (m) => m.type === 'error');
            assert.equal(err.code, 'forbidden');
            assert.match(String(err.message), new RegExp(`does not grant robot ${ROBOT}`));
            assert.equal((await link.messages()).filter((m) => m.type === 'welcome').length, 0);
            return;
          }
          const welcome = await waitFor(link, 'welcome', (m) => m.type === 'welcome');
          assert.deepEqual(welcome.grants, p.expect, 'the welcome says what the token grants here');
          const may = (g: Grant) => p.expect!.includes(g);

          // view: telemetry reaches every admitted link.
          svc.client.telemetry({ mark: sub });
          await waitFor(
            link,
            'telemetry',
            (m) => m.type === 'telemetry' && (m.payload as { mark?: string }).mark === sub,
          );

          // A command without the lock: forbidden without drive, not_operator with it.
          await link.send({ v, type: 'command', id: 'c-nolock', service: 'drive', payload: 1 });
          await waitFor(
            link,
            'command refusal',
            isError(may('drive') ? 'not_operator' : 'forbidden', 'c-nolock'),
          );

          // lock.take on a free lock, then a command: drive.
          await link.send({ v, type: 'lock.take', id: 't1' });
          if (may('drive')) {
            await until(() => dc.gw.stats().lock?.sub === sub, `${sub} holds the lock`);
            await link.send({ v, type: 'command', id: 'c-lock', service: 'drive', payload: 2 });
            const reply = await waitFor(link, 'reply', (m) => m.type === 'reply' && m.ref === 'c-lock');
            assert.equal(reply.ok, true);
            await link.send({ v, type: 'lock.release' });
            await until(() => dc.gw.stats().lock === null, 'released');
          } else {
            const err = await waitFor(link, 'lock.take refusal', isError('forbidden', 't1'));
            assert.match(String(err.message), /does not grant drive/);
            assert.equal(dc.gw.stats().lock, null);
            // A forged command (with a forged lock claim nowhere to put it) never reaches the robot program.
            await link.send({ v, type: 'command', id: 'c-forged', service: 'drive', payload: 3 });
            await waitFor(link, 'forged command refusal', isError('forbidden', 'c-forged'));
          }
          assert.equal(
            svc.find('command', (c) => c.sub === sub && c.id !== 'c-lock'),
            undefined,
            'only the command sent under the lock reached the robot program',
          );

          // lock.takeover from another operator: supervise only.
          await operatorHolds();
          await link.send({ v, type: 'lock.takeover', id: 'o1' });
          if (may('supervise')) {
            await until(() => dc.gw.stats().lock?.sub === sub, `${sub} took over`);
            await link.send({ v, type: 'lock.release' });
            await until(() => dc.gw.stats().lock === null, 'released');
          } else {
            const err = await waitFor(link, 'takeover refusal', isError('forbidden', 'o1'));
            assert.match(String(err.message), may('drive') ? /does not grant supervise/ : /does not grant/);
            assert.equal(dc.gw.stats().lock?.sub, 'operator', 'the operator keeps the lock');
            await operatorReleases();
          }
          // lock.takeover on a free lock is a take: drive suffices.
          await link.send({ v, type: 'lock.takeover', id: 'o2' });
          if (may('drive')) {
            await until(() => dc.gw.stats().lock?.sub === sub, `${sub} took the free lock`);
            await link.send({ v, type: 'lock.release' });
            await until(() => dc.gw.stats().lock === null, 'released');
          } else await waitFor(link, 'free takeover refusal', isError('forbidden', 'o2'));

          // The e-stop is every viewer's.
          await link.send({ v, type: 'estop', id: 'e1', reason: sub });
          const stop = await svc.wait('estop', (e) => e.reason === sub);
          assert.deepEqual(
            stop.source.kind === 'app' && stop.source.sub,
            sub,
            'the robot program hears the stop and who sent it',
          );
        } finally {
          await link.close();
        }
      });
    }
  }
});
