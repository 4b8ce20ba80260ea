// A robot registered with a signaling server that hands out TURN REST credentials for a real coturn, as the relay
// tests need it: the streamer without microphone or sinks, a Chromium with the reference app's page open.
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { detectEncoders } from '../../src/media/encoders.js';
import { loadServiceConfig } from '../../src/service-config.js';
import { startStreamerService, type StreamerService } from '../../src/streamer-service.js';
import type { Coturn } from '../../../../test/support/coturn.js';
import { eventually, startSignaling, type RunningSignaling } from '../../../../test/support/signaling.js';
import type { TestKeys } from '../../../../test/support/tokens.js';
import type { AppBrowser } from './chromium-app.js';
import { loopbackServiceEnv } from './service-env.js';
import { MediaAppPage, launchMediaAppBrowser } from './signaling-page.js';

export interface TurnRobot {
  signaling: RunningSignaling;
  streamer: StreamerService;
  app: AppBrowser;
  page: MediaAppPage;
  /** Browser, streamer and signaling; not the page (a test may open another) nor the coturn (it may restart it). */
  close(): Promise<void>;
}

export async function startTurnRobot(
  keys: TestKeys,
  robot: string,
  turn: Coturn,
  o: { log: Logger; robotEnv?: Record<string, string> },
): Promise<TurnRobot> {
  const signaling = await startSignaling(keys, { TURN_URLS: turn.url, TURN_SECRET: turn.secret });
  const streamer = await startStreamerService(
    loadServiceConfig(
      await loopbackServiceEnv(keys, robot, { signalingUrl: signaling.url, extra: o.robotEnv ?? {} }),
    ),
    loadConfig({}, { audioSource: { kind: 'none' }, audioSink: 'none', videoSink: 'none', lingerMs: 1000 }),
    { log: o.log, encoders: await detectEncoders('auto'), defaultMetrics: false },
  );
  await eventually(() => streamer.clients.get('signaling-1')?.state === 'ready', 10_000, 'robot registered');
  const app = await launchMediaAppBrowser();
  return {
    signaling,
    streamer,
    app,
    page: await MediaAppPage.open(app),
    close: async () => {
      await app.close();
      await streamer.close();
      await signaling.stop();
    },
  };
}
