import { loadConfig, ConfigError } from './config/config.js';
import { EcsStopWatch } from './lifecycle/ecs-stop-watch.js';
import { createSignalingServer } from './server.js';

/** EX_CONFIG (sysexits.h): every service exits with it on a configuration error. */
const EX_CONFIG = 78;

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(EX_CONFIG);
  }
  throw err;
}

const server = await createSignalingServer({ ...config, processMetrics: true });
await server.listen();

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.shutdown().then(
    () => process.exit(0),
    (err: unknown) => {
      server.app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, stop);
// On ECS the stop begins when the task is marked for stopping, before the load balancer's deregistration delay
// ends and long before SIGTERM (docs/deploy-aws.md).
EcsStopWatch.fromEnv(process.env, stop, server.app.log)?.start();
