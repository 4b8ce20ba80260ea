// Relay-only media through a real coturn with TURN REST credentials handed out by the signaling server; then
// the cut path: the coturn is killed (every allocation and the relayed path with it) and started again on the
// same port; the robot notices the silence, asks the app for an ICE restart, both ends allocate anew and frames
// resume in the same session. The robot has no microphone, so the offer's audio section is rejected: the case
// that kept werift on the old ICE credentials (see oneIceGeneration).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { StreamerService } from '../src/streamer-service.js';
import { eventually, type RunningSignaling } from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';
import type { AppBrowser } from './support/chromium-app.js';
import { startCoturn, type Coturn } from '../../../test/support/coturn.js';
import { MediaAppPage } from './support/signaling-page.js';
import { startTurnRobot, type TurnRobot } from './support/turn-robot.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const ROBOT = 'robot-relay';

describe('relay-only media through coturn', { timeout: 240_000 }, () => {
  const keys = new TestKeys();
  const secret = randomBytes(24).toString('hex');
  let turn: Coturn;
  let signaling: RunningSignaling;
  let streamer: StreamerService;
  let app: AppBrowser;
  let page: MediaAppPage;
  let robot: TurnRobot | undefined;

  before(async () => {
    turn = await startCoturn({ secret });
    robot = await startTurnRobot(keys, ROBOT, turn, {
      log,
      robotEnv: { STREAMER_ICE_TRANSPORT_POLICY: 'relay' },
    });
    ({ signaling, streamer, app, page } = robot);
  });

  after(async () => {
    await page?.close();
    await robot?.close();
    await turn?.kill();
  });

  test('both ends relay-only: video decodes and the selected pair is relay on both sides', async () => {
    await page.connect(signaling.url, await keys.app('operator', [ROBOT]));
    await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: true });
    const s = await page.framesBeyond(30, 'frames decoded through the relay', 30_000);
    assert.equal(s.frameWidth, 1280);
    assert.equal(s.localCandidateType, 'relay');
    assert.equal(s.remoteCandidateType, 'relay');
    const viewer = streamer.core.viewers()[0];
    assert.ok(viewer);
    const robotSide = await viewer.stats();
    assert.equal(robotSide.transport.localCandidateType, 'relay');
  });

  test('coturn restarted mid-stream: the robot asks for an ICE restart and frames resume', async () => {
    // Its own page and session: the first test's viewer is gone before the cut.
    await page.close();
    page = await MediaAppPage.open(app);
    await eventually(() => streamer.core.viewers().length === 0, 10_000, 'the first viewer gone');
    await page.connect(signaling.url, await keys.app('operator-2', [ROBOT]));
    await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: true });
    const before = await page.framesBeyond(30, 'frames decoded through the relay', 30_000);
    const port = turn.port;
    await turn.kill();
    const cutAt = (await page.stats()).framesDecoded;
    // Nothing gets through while the relay is down.
    await new Promise((r) => setTimeout(r, 1500));
    const stalled = (await page.stats()).framesDecoded;
    assert.ok(stalled - cutAt < 15, `frames kept arriving with the relay down (${cutAt} -> ${stalled})`);
    turn = await startCoturn({ secret, port });
    const resumed = await page.framesBeyond(stalled + 60, 'frames resume after the ICE restart', 60_000);
    assert.ok(resumed.iceRestartsReceived >= 1, 'the robot asked for an ICE restart');
    assert.notEqual(resumed.localUfrag, before.localUfrag, 'new ICE credentials');
    assert.equal(resumed.sessionClosed, null);
    assert.equal(resumed.localCandidateType, 'relay');
    const viewer = streamer.core.viewers()[0];
    assert.ok(viewer);
    assert.equal((await viewer.stats()).transport.connectionState, 'connected');
  });
});
