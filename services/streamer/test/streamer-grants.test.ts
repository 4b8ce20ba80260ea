// The talk grant, enforced by the robot: real signaling, the streamer service (GStreamer + werift) and Chromium
// offering its microphone. A token without `talk` still watches, but nothing it sends is received or decoded; a
// token with `talk` is heard.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { detectEncoders } from '../src/media/encoders.js';
import { loadServiceConfig } from '../src/service-config.js';
import { loopbackServiceEnv } from './support/service-env.js';
import { startStreamerService, type StreamerService } from '../src/streamer-service.js';
import { eventually, startSignaling, type RunningSignaling } from '../../../test/support/signaling.js';
import { TestKeys } from '../../../test/support/tokens.js';
import type { AppBrowser } from './support/chromium-app.js';
import { MediaAppPage, launchMediaAppBrowser } from './support/signaling-page.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const ROBOT = 'robot-grants';

describe('the talk grant on the robot (Chromium microphone)', { timeout: 120_000 }, () => {
  const keys = new TestKeys();
  let signaling: RunningSignaling;
  let streamer: StreamerService;
  let app: AppBrowser;

  before(async () => {
    signaling = await startSignaling(keys);
    const service = loadServiceConfig(await loopbackServiceEnv(keys, ROBOT, { signalingUrl: signaling.url }));
    const media = loadConfig(
      {},
      { audioSink: 'counting', videoSink: 'counting', lingerMs: 1000, iceIncludeLoopback: true },
    );
    streamer = await startStreamerService(service, media, {
      log,
      encoders: await detectEncoders('auto'),
      defaultMetrics: false,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    app = await launchMediaAppBrowser();
  });

  after(async () => {
    await app?.close();
    await streamer?.close();
    await signaling?.stop();
  });

  for (const [grant, heard] of [
    ['view', false],
    ['talk', true],
  ] as const) {
    test(`a ${grant} token's microphone ${heard ? 'is' : 'is not'} decoded on the robot; its video plays`, async () => {
      const page = await MediaAppPage.open(app);
      try {
        await page.connect(signaling.url, await keys.appWith(`${grant}-user`, { [ROBOT]: [grant] }));
        await page.start({ robotId: ROBOT, cameras: 1, mic: true, relay: false });
        // Video flows both ways' worth of time: enough for a microphone to have been decoded if it were taken.
        const first = await page.framesBeyond(0, 'first decoded frame', 20_000);
        await page.framesBeyond(first.framesDecoded + 30, 'video keeps arriving', 20_000);
        const viewer = streamer.core.introspect().viewers[0];
        assert.ok(viewer, 'one viewer');
        const audio = viewer.bindings.find((b) => b.kind === 'audio');
        assert.equal(audio?.receiving, heard, 'the robot receives app audio only with talk');
        if (heard) {
          const sink = await eventually(
            () => {
              const s = streamer.core.introspect().sinks.find((k) => k.kind === 'audio');
              return s && (s.decodedBuffers ?? 0) > 25 && s;
            },
            20_000,
            'the microphone decoded on the robot',
          );
          assert.equal(sink.codec, 'opus');
        } else {
          assert.deepEqual(streamer.core.introspect().sinks, [], 'no sink pipeline: nothing decoded');
          const s = await page.stats();
          assert.ok(s.framesDecoded > first.framesDecoded, 'watching still works');
        }
      } finally {
        await page.close();
      }
      await eventually(
        () => streamer.core.viewers().length === 0,
        10_000,
        'viewer closed after the app left',
      );
    });
  }
});
