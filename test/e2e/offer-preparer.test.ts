// The console's prepared media connection (services/web/src/offer-preparer.ts) in real Chromium: a connection of
// the wanted shape is handed over with its offer set and every candidate gathered so far, exactly once; anything
// else (another shape, renewed ICE servers, signaling down, too old) closes it and hands nothing.
// The signaling client is a stand-in: the preparer only reads its state and ICE servers and listens to both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromiumApp, type ChromiumApp } from '../support/chromium.js';
import { bundleForPage } from '../support/browser-bundle.js';

function bundle(): Promise<string> {
  return bundleForPage({
    stdin: {
      contents: `
        import { TypedEmitter } from '@robostream/protocol/client';
        import { OfferPreparer } from './offer-preparer.ts';
        import { RobotDirectory } from './robot-directory.ts';
        import { RobotList } from './views/robot-list.ts';
        class Client extends TypedEmitter {
          state = 'ready';
          iceServers = [];
          set(state) { this.state = state; this.emit('state', state); }
          renew(iceServers) { this.iceServers = iceServers; this.emit('ice_servers', { type: 'ice_servers', iceServers }); }
        }
        // Every candidate each connection gathers, seen from a listener of its own, to check the hand-over.
        const gathered = new Map();
        const PC = RTCPeerConnection;
        window.RTCPeerConnection = class extends PC {
          constructor(...a) {
            super(...a);
            const all = [];
            gathered.set(this, all);
            this.addEventListener('icecandidate', (e) => all.push(e.candidate ? e.candidate.candidate : null));
          }
        };
        // The robot list with two robots online and one offline, recording when it says the operator is about to
        // open one.
        const dir = new RobotDirectory();
        const intents = [];
        const list = new RobotList(dir, () => undefined, (id) => intents.push(id));
        const media = { name: 'media', since: 1, meta: { cameras: 'front' } };
        dir.reset([
          { robotId: 'r1', endpoints: [media] },
          { robotId: 'r2', endpoints: [media] },
          { robotId: 'r3', endpoints: [] },
        ]);
        document.body.append(list.el);
        window.lab = { Client, OfferPreparer, gathered, intents };`,
      resolveDir: join(process.cwd(), 'services/web/src'),
      loader: 'js',
    },
  });
}

type Prepared = {
  peer: { pc: RTCPeerConnection; videoTx: unknown[]; cameraTx: unknown };
  offer: string;
  early: (RTCIceCandidateInit | null)[];
};
type Lab = {
  Client: new () => { state: string; iceServers: unknown[]; set(s: string): void; renew(s: unknown[]): void };
  OfferPreparer: new (
    client: unknown,
    maxAgeMs?: number,
  ) => {
    prepare(shape: { cameras: string[]; offerCamera: boolean }): void;
    take(shape: { cameras: string[]; offerCamera: boolean }): Promise<Prepared | null>;
    takeNow(shape: { cameras: string[]; offerCamera: boolean }): Prepared | null | undefined;
    discard(): void;
    dispose(): void;
    preparedShape: string | null;
  };
  gathered: Map<RTCPeerConnection, (string | null)[]>;
  intents: string[];
};

describe('console: the media connection prepared before the click', { timeout: 120_000 }, () => {
  let app: ChromiumApp;
  let page: Page;

  before(async () => {
    app = await launchChromiumApp({
      html: '<!doctype html><html><body><script type="module" src="/lab.js"></script></body></html>',
      assets: { '/lab.js': { contentType: 'text/javascript', body: await bundle() } },
    });
    page = await app.context.newPage();
    await page.goto(app.origin);
    await page.waitForFunction(() => 'lab' in window);
  });

  after(async () => {
    await app?.close();
  });

  test('the connection of the wanted shape is handed over once, its offer set and every candidate kept', async () => {
    const r = await page.evaluate(async () => {
      const { Client, OfferPreparer, gathered } = (window as unknown as { lab: Lab }).lab;
      const prep = new OfferPreparer(new Client());
      const shape = { cameras: ['front', 'rear'], offerCamera: false };
      prep.prepare(shape);
      prep.prepare({ cameras: ['front', 'rear'], offerCamera: false }); // the same: kept, not made again
      const made = gathered.size;
      // Gathering ends before the click (the operator is slower than ICE on loopback).
      await new Promise((r) => setTimeout(r, 1500));
      const got = await prep.take(shape);
      if (!got) return null;
      // The taker's listener from here on: a candidate gathered now must not be lost in between.
      const after: (string | null)[] = [];
      got.peer.pc.addEventListener('icecandidate', (e) =>
        after.push(e.candidate ? e.candidate.candidate : null),
      );
      const all = gathered.get(got.peer.pc) ?? [];
      const second = await prep.take(shape);
      const r = {
        made,
        signalingState: got.peer.pc.signalingState,
        videoLines: got.offer.match(/^m=video .*$/gm)?.length ?? 0,
        recvonly: got.offer.match(/^a=recvonly$/gm)?.length ?? 0,
        audioSendrecv: /m=audio[\s\S]*a=sendrecv/.test(got.offer),
        cameraTx: got.peer.cameraTx,
        videoTx: got.peer.videoTx.length,
        early: got.early.map((c) => (c ? c.candidate : null)),
        all,
        after,
        second: second === null,
        preparedShape: prep.preparedShape,
      };
      got.peer.pc.close();
      return r;
    });
    assert.ok(r, 'the prepared connection is handed over');
    assert.equal(r.made, 1, 'preparing the same shape twice makes one connection');
    assert.equal(r.signalingState, 'have-local-offer');
    assert.equal(r.videoLines, 2);
    assert.equal(r.recvonly, 2);
    assert.ok(r.audioSendrecv);
    assert.equal(r.cameraTx, null);
    assert.equal(r.videoTx, 2);
    assert.ok(
      r.early.some((c) => c !== null),
      `candidates gathered before the click: ${JSON.stringify(r.early)}`,
    );
    assert.equal(r.early.at(-1), null, 'gathering ended before the click, and the end is handed over too');
    assert.deepEqual([...r.early, ...r.after], r.all, 'no candidate lost or repeated in the hand-over');
    assert.ok(r.second, 'handed over once only');
    assert.equal(r.preparedShape, null);
  });

  test('taken while its offer is still being made: the taker waits for it', async () => {
    const r = await page.evaluate(async () => {
      const { Client, OfferPreparer } = (window as unknown as { lab: Lab }).lab;
      const prep = new OfferPreparer(new Client());
      const shape = { cameras: ['front'], offerCamera: true };
      prep.prepare(shape);
      const got = await prep.take(shape); // no wait at all: the click as the list appears
      const r = got && {
        signalingState: got.peer.pc.signalingState,
        sendonly: /m=video[\s\S]*a=sendonly/.test(got.offer),
        cameraTx: got.peer.cameraTx !== null,
      };
      got?.peer.pc.close();
      return r;
    });
    assert.deepEqual(r, { signalingState: 'have-local-offer', sendonly: true, cameraTx: true });
  });

  test('taken without waiting (the click): nothing while the offer is being made, then the connection at once', async () => {
    const r = await page.evaluate(async () => {
      const { Client, OfferPreparer } = (window as unknown as { lab: Lab }).lab;
      const prep = new OfferPreparer(new Client());
      const shape = { cameras: ['front'], offerCamera: false };
      prep.prepare(shape);
      const pending = prep.takeNow(shape);
      const stillPrepared = prep.preparedShape !== null;
      await new Promise((r) => setTimeout(r, 500));
      const got = prep.takeNow(shape);
      const r = {
        pending: pending === undefined ? 'undefined' : String(pending),
        stillPrepared,
        sync: got !== null && got !== undefined && !(got instanceof Promise),
        signalingState: got?.peer.pc.signalingState,
        // The one set on it (its local description has gathered candidates since): the same ICE credentials.
        offerIsLocal:
          !!got &&
          got.offer.match(/a=ice-ufrag:(\S+)/)?.[1] ===
            got.peer.pc.localDescription?.sdp.match(/a=ice-ufrag:(\S+)/)?.[1],
        again: prep.takeNow(shape),
        otherShape: (() => {
          prep.prepare(shape);
          const other = prep.takeNow({ cameras: ['rear'], offerCamera: false });
          return { other, preparedShape: prep.preparedShape };
        })(),
      };
      got?.peer.pc.close();
      prep.dispose();
      return r;
    });
    assert.equal(
      r.pending,
      'undefined',
      'while its offer is being made, takeNow() hands nothing and keeps it',
    );
    assert.ok(r.stillPrepared, 'the pending connection stays prepared for take()');
    assert.ok(r.sync, 'once made, the connection is handed over synchronously');
    assert.equal(r.signalingState, 'have-local-offer');
    assert.ok(r.offerIsLocal, 'its offer is the one set on it');
    assert.equal(r.again, null, 'handed over once only');
    assert.deepEqual(r.otherShape, { other: null, preparedShape: null }, 'another shape closes it');
  });

  test('another shape, renewed ICE servers, signaling down or age: closed, nothing handed over', async () => {
    const cases = ['otherCameras', 'withCamera', 'renewed', 'signalingDown', 'tooOld', 'disposed'] as const;
    for (const which of cases) {
      const r = await page.evaluate(async (which) => {
        // One case per call, inline: a named helper here would be wrapped in a __name() the page does not have.
        const { Client, OfferPreparer, gathered } = (window as unknown as { lab: Lab }).lab;
        const client = new Client();
        const prep = new OfferPreparer(client, 300);
        const known = new Set(gathered.keys());
        const shape = { cameras: ['front'], offerCamera: false };
        prep.prepare(shape);
        const pc = [...gathered.keys()].find((p) => !known.has(p));
        if (!pc) return null;
        await new Promise((r) => setTimeout(r, 50));
        let want = shape;
        if (which === 'otherCameras') want = { cameras: ['rear'], offerCamera: false };
        if (which === 'withCamera') want = { cameras: ['front'], offerCamera: true };
        if (which === 'renewed')
          client.renew([{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }]);
        if (which === 'signalingDown') {
          client.set('reconnecting');
          client.set('ready');
        }
        if (which === 'tooOld') await new Promise((r) => setTimeout(r, 500));
        if (which === 'disposed') {
          prep.dispose();
          prep.prepare(shape);
        }
        const handed = await prep.take(want);
        const out = { handed: handed !== null, state: pc.signalingState, made: gathered.size - known.size };
        prep.dispose();
        return out;
      }, which);
      assert.deepEqual(r, { handed: false, state: 'closed', made: 1 }, which);
    }
  });

  test('nothing is prepared while signaling is not ready', async () => {
    const made = await page.evaluate(() => {
      const { Client, OfferPreparer, gathered } = (window as unknown as { lab: Lab }).lab;
      const client = new Client();
      client.set('connecting');
      const prep = new OfferPreparer(client);
      const n = gathered.size;
      prep.prepare({ cameras: ['front'], offerCamera: false });
      return gathered.size - n;
    });
    assert.equal(made, 0);
  });

  test('the robot list says which robot the operator is about to open: resting pointer, press, focus', async () => {
    const intents = (): Promise<string[]> =>
      page.evaluate(() => (window as unknown as { lab: Lab }).lab.intents.splice(0));
    const box = async (id: string) => {
      const b = await page.locator(`[data-robot="${id}"]`).boundingBox();
      if (!b) throw new Error(`no button for ${id}`);
      return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    };
    await page.mouse.move(0, 0);
    await intents();
    // Passing over r1 on the way to r2 (no rest on r1), then resting on r2.
    const r1 = await box('r1');
    const r2 = await box('r2');
    await page.mouse.move(r1.x, r1.y);
    await page.mouse.move(r2.x, r2.y);
    await page.waitForTimeout(300);
    assert.deepEqual(await intents(), ['r2'], 'only the robot the pointer rests on');
    // A press says it at once; so does the keyboard focus.
    await page.mouse.move(r1.x, r1.y);
    await page.mouse.down();
    assert.deepEqual((await intents())[0], 'r1');
    await page.mouse.up();
    await page.waitForTimeout(200);
    await intents();
    await page.focus('[data-robot="r2"]');
    assert.deepEqual(await intents(), ['r2']);
    // An offline robot has nothing to prepare.
    const r3 = await box('r3');
    await page.mouse.move(r3.x, r3.y);
    await page.waitForTimeout(300);
    await page.mouse.down();
    await page.mouse.up();
    assert.deepEqual(await intents(), []);
  });
});
