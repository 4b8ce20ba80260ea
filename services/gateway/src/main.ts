/** Entry point: config from the environment, then serve until SIGTERM/SIGINT. */
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { GatewayEndpoint } from './signaling/gateway-endpoint.js';
import { warmUpDataChannels } from './signaling/warm-up.js';

/** A warm-up that has not connected by then is given up: the gateway starts cold rather than late. */
const WARM_UP_TIMEOUT_MS = 3_000;

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(78); // EX_CONFIG, as every service
  }
  throw err;
}
const logger = pino({ level: config.logLevel, base: { svc: 'gateway', robot: config.robotId } });
const gateway = await startGateway(config, logger);

// Optional: the app link through signaling (WebRTC data channels). Without SIGNALING_URL the gateway is LAN-only.
let endpoint: GatewayEndpoint | null = null;
if (config.signaling) {
  const ep = new GatewayEndpoint({
    signaling: config.signaling,
    robotId: config.robotId,
    attachLink: (link) => gateway.attachLink(link),
    services: () => gateway.stats().services,
    highWaterBytes: config.signaling.highWaterBytes,
    metrics: gateway.metrics,
    logger,
  });
  gateway.onServicesChanged((names) => ep.updateServices(names));
  // Before signaling can bring an app: the first one after a boot must not wait for werift to be compiled.
  await warmUpDataChannels(WARM_UP_TIMEOUT_MS).then(
    (ms) => logger.info({ ms: Math.round(ms) }, 'data channels warmed up'),
    (err: Error) =>
      logger.warn({ err: err.message }, 'data-channel warm-up failed; the first session starts cold'),
  );
  ep.start();
  endpoint = ep;
}

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ sig }, 'stopping');
    // The hub first (every link hears shutting_down), then signaling (sessions closed, endpoint gone).
    Promise.all([gateway.close(), endpoint?.close()]).then(
      () => process.exit(0),
      (err: Error) => {
        logger.error({ err: err.message }, 'unclean stop');
        process.exit(1);
      },
    );
  });
}
