// Entry point: configuration from the environment, then stream until SIGTERM/SIGINT.
// UV_THREADPOOL_SIZE must be set before Node starts (libuv reads it once, at the first pool use): the npm
// script sets it (`UV_THREADPOOL_SIZE=64 tsx src/main.ts`), and StreamerCore.start fails with
// ThreadPoolTooSmallError naming the value to set when it is too small for the configured sources.
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { ThreadPoolTooSmallError } from './core/thread-budget.js';
import { EncoderUnavailableError } from './media/encoders.js';
import { ServiceConfigError, loadServiceConfig } from './service-config.js';
import { RecordingConfigError, loadRecordingConfig, recordingNeeds } from './recording/recording-config.js';
import { startStreamerService } from './streamer-service.js';

let service;
let media;
let recording;
try {
  service = loadServiceConfig();
  media = loadConfig();
  recording = loadRecordingConfig();
  recordingNeeds(recording, service);
} catch (err) {
  if (
    err instanceof ConfigError ||
    err instanceof ServiceConfigError ||
    err instanceof RecordingConfigError
  ) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG, as every service
  }
  throw err;
}

const log = pino({ level: service.logLevel, base: { svc: 'streamer', robot: service.robotId } });
let streamer;
try {
  streamer = await startStreamerService(service, media, { log, recording });
} catch (err) {
  if (err instanceof ThreadPoolTooSmallError || err instanceof EncoderUnavailableError) {
    log.fatal({ err: err.message }, 'cannot start');
    process.exit(3);
  }
  throw err;
}
log.info(
  {
    http: streamer.httpUrl,
    direct: streamer.direct?.httpUrl ?? null,
    signaling: service.signalingUrls.length,
    encoder: streamer.core.introspect().encoders.h264,
  },
  'streamer ready',
);

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'stopping: closing sessions and pipelines');
    const running = streamer;
    running.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: Error) => {
        log.error({ err: err.message }, 'unclean stop');
        process.exit(1);
      },
    );
  });
}
