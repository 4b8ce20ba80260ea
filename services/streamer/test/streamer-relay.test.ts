// Relay-only media through a real coturn with TURN REST credentials handed out by the signaling server.
// (A relay that dies mid-stream and recovers through an ICE restart: streamer-ice-restart.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { detectEncoders } from '../src/media/encoders.js';
import { loadServiceConfig } from '../src/service-config.js';
import { startStreamerService, type StreamerService } from '../src/streamer-service.js';
import { eventually, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';
import type { AppBrowser } from './support/chromium-app.js';
import { startCoturn, type Coturn } from './support/coturn.js';
import { MediaAppPage, launchMediaAppBrowser } from './support/signaling-page.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const ROBOT = 'robot-relay';

describe('relay-only media through coturn', { timeout: 150_000 }, () => {
  const keys = new TestKeys();
  const secret = randomBytes(24).toString('hex');
  let turn: Coturn;
  let signaling: RunningSignaling;
  let streamer: StreamerService;
  let app: AppBrowser;
  let page: MediaAppPage;

  before(async () => {
    turn = await startCoturn(secret);
    signaling = await startSignaling(keys, { TURN_URLS: turn.url, TURN_SECRET: secret });
    streamer = await startStreamerService(
      loadServiceConfig({
        SIGNALING_URL: signaling.url,
        ROBOT_TOKEN: await keys.robot(ROBOT),
        STREAMER_HTTP_PORT: '0',
        STREAMER_HTTP_HOST: '127.0.0.1',
        STREAMER_ICE_TRANSPORT_POLICY: 'relay',
        LOG_LEVEL: 'warn',
      }),
      loadConfig({}, { audioSource: { kind: 'none' }, audioSink: 'none', videoSink: 'none', lingerMs: 1000 }),
      { log, encoders: await detectEncoders('auto'), defaultMetrics: false },
    );
    await eventually(
      () => streamer.clients.get('signaling-1')?.state === 'ready',
      10_000,
      'robot registered',
    );
    app = await launchMediaAppBrowser();
    page = await MediaAppPage.open(app);
  });

  after(async () => {
    await page?.close();
    await app?.close();
    await streamer?.close();
    await signaling?.stop();
    await turn?.kill();
  });

  test('both ends relay-only: video decodes and the selected pair is relay on both sides', async () => {
    await page.connect(signaling.url, await keys.app('operator', [ROBOT]));
    await page.start({ robotId: ROBOT, cameras: 1, mic: false, relay: true });
    const s = await eventually(
      async () => {
        const st = await page.stats();
        return st.framesDecoded > 30 && st;
      },
      30_000,
      'frames decoded through the relay',
    );
    assert.equal(s.frameWidth, 1280);
    assert.equal(s.localCandidateType, 'relay');
    assert.equal(s.remoteCandidateType, 'relay');
    const viewer = streamer.core.viewers()[0];
    assert.ok(viewer);
    const robotSide = await viewer.stats();
    assert.equal(robotSide.transport.localCandidateType, 'relay');
  });
});
