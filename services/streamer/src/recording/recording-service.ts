// Wires the recorder into the streamer process: its feeds (the core's shared encoders), its HTTP routes and the
// viewer events. Kept apart from streamer-service.ts so that file only gains a few lines.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { publicKeyFromPem } from '@robostream/protocol/auth/keys';
import type { StreamerCore } from '../core/streamer-core.js';
import type { ServiceConfig } from '../service-config.js';
import type { RecordingConfig } from './recording-config.js';
import { Recorder } from './recorder.js';
import { registerRecordingRoutes } from './recording-routes.js';

export interface RecordingService {
  recorder: Recorder;
  routes: (app: FastifyInstance) => void;
  onViewer: (event: 'viewer.open' | 'viewer.close', app: string, viewerId: string) => void;
  close(): Promise<void>;
}

export async function startRecording(
  config: RecordingConfig | undefined,
  service: Pick<ServiceConfig, 'robotId' | 'appPublicKeyPem'>,
  core: StreamerCore,
  log: Logger,
): Promise<RecordingService | null> {
  if (!config?.dir) return null;
  const dir = config.dir;
  // Checked with the other settings at start-up (recordingNeeds); repeated here for callers that skip it.
  if (!service.robotId || !service.appPublicKeyPem)
    throw new Error('recording needs the robot id (robot token) and STREAMER_APP_PUBLIC_KEY');
  const robotId = service.robotId;
  const appPublicKey = publicKeyFromPem(service.appPublicKeyPem);
  const recorder = new Recorder(
    { ...config, dir },
    robotId,
    core.recordingSources(),
    log.child({ part: 'recorder' }),
  );
  await recorder.start();
  log.info(
    { dir, blackboxSeconds: config.blackboxSeconds, gatewayTap: config.gatewayTapUrl },
    'recorder started',
  );
  return {
    recorder,
    routes: (app) => registerRecordingRoutes(app, { recorder, robotId, appPublicKey }),
    onViewer: (event, app, viewerId) => recorder.viewer(event, app, viewerId),
    close: () => recorder.close(),
  };
}
