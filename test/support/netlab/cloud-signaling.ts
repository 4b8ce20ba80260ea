// The signaling service in the lab's cloud namespace (run by lab-stack.ts): robots on the shaped path and apps
// reach it through the router, as they reach the cloud service in production. Env: PORT, HOST, PUBLIC_KEY.
// Prints {"type":"ready","url":...} when it listens.
import { buildSignalingServer, loadConfig } from '@robostream/signaling';

const server = await buildSignalingServer(
  loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }),
  {
    defaultMetrics: false,
  },
);
const url = await server.listen();
process.stdout.write(`${JSON.stringify({ type: 'ready', url })}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => void server.shutdown().finally(() => process.exit(0)));
