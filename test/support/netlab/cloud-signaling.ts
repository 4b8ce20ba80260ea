// The signaling service in the lab's cloud namespace (run by lab-stack.ts): robots on the shaped path and apps
// reach it through the router, as they reach the cloud service in production. Env: PORT, HOST, PUBLIC_KEY.
// Prints {"type":"ready","url":...} when it listens.
import { createSignalingServer } from '@robostream/signaling';

const server = await createSignalingServer({
  port: Number(process.env['PORT'] ?? 0),
  host: process.env['HOST'] ?? '0.0.0.0',
  publicKey: process.env['PUBLIC_KEY'] ?? '',
  logLevel: (process.env['LOG_LEVEL'] as 'warn' | undefined) ?? 'warn',
});
const url = await server.listen();
process.stdout.write(`${JSON.stringify({ type: 'ready', url })}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => void server.shutdown().finally(() => process.exit(0)));
