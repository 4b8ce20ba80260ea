/** Entry point: config from the environment, then serve until SIGTERM/SIGINT. */
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './gateway.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const logger = pino({ level: config.logLevel, base: { svc: 'gateway', robot: config.robotId } });
const gateway = await startGateway(config, logger);

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ sig }, 'stopping');
    gateway.close().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err: err.message }, 'unclean stop');
        process.exit(1);
      },
    );
  });
}
