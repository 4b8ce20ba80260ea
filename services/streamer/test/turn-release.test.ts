// A session's TURN allocations are deleted on the server when it ends, not left to expire. werift's close() does
// not tell the server, so every session of a relay-only robot kept a relay port (and a place in the robot's
// user-quota) for the allocation's lifetime, 600 s with coturn's defaults: a robot whose viewers come and go ran
// out. Here coturn lets each username hold one allocation at a time: the second viewer gets video only if the
// robot's first allocation was deleted when the first viewer left. coturn frees a deleted allocation about a
// second after the client's request (measured: a new one was refused 0.5 s after, granted 1.5 s after), so each
// viewer comes 3 s after the previous one left; without the deletion the robot's second allocation is refused for
// the full lifetime.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { eventually } from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';
import { startCoturn, type Coturn } from '../../../test/support/coturn.js';
import { MediaAppPage } from './support/signaling-page.js';
import { startTurnRobot, type TurnRobot } from './support/turn-robot.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const ROBOT = 'robot-turn-release';

describe('TURN allocations are given back when a session ends', { timeout: 180_000 }, () => {
  const keys = new TestKeys();
  let turn: Coturn;
  let robot: TurnRobot | undefined;

  before(async () => {
    turn = await startCoturn({ secret: randomBytes(24).toString('hex'), userQuota: 1 });
    robot = await startTurnRobot(keys, ROBOT, turn, {
      log,
      robotEnv: { STREAMER_ICE_TRANSPORT_POLICY: 'relay' },
    });
  });

  after(async () => {
    await robot?.page.close();
    await robot?.close();
    await turn?.kill();
  });

  test('one allocation per username: viewers one after another each get video through the relay', async () => {
    const { signaling, streamer, app } = robot!;
    let page = robot!.page;
    for (let viewer = 1; viewer <= 3; viewer++) {
      if (viewer > 1) {
        await sleep(3000);
        page = robot!.page = await MediaAppPage.open(app);
      }
      // Each viewer its own app subject, so Chromium's own allocation has its own quota.
      await page.connect(signaling.url, await keys.app(`operator-${viewer}`, [ROBOT]));
      await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: true });
      const s = await page.framesBeyond(10, `viewer ${viewer}: frames through the relay`, 20_000);
      assert.equal(s.localCandidateType, 'relay');
      assert.equal((await streamer.core.viewers()[0]!.stats()).transport.localCandidateType, 'relay');
      await page.close();
      await eventually(() => streamer.core.viewers().length === 0, 10_000, `viewer ${viewer} gone`);
    }
  });
});
