/** Entry point: config from the environment, then serve until SIGTERM/SIGINT. */
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { GatewayEndpoint } from './signaling/gateway-endpoint.js';

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
