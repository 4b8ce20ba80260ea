// /healthz and /metrics on STREAMER_HTTP_PORT, plus the routes a caller adds (the recordings API).
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { urlHost } from '@robostream/protocol';
import type { StreamerMetrics } from './metrics.js';

export interface HealthSource {
  /** Null when healthy; else why not (the core is closed, start-up incomplete). */
  problem(): string | null;
  details(): Record<string, unknown>;
}

export async function startHttpServer(
  host: string,
  port: number,
  metrics: StreamerMetrics,
  health: HealthSource,
  routes?: (app: FastifyInstance) => void,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  routes?.(app);
  app.get('/healthz', async (_req, reply) => {
    const problem = health.problem();
    return reply
      .code(problem ? 503 : 200)
      .send({ status: problem ? 'unhealthy' : 'ok', ...(problem ? { problem } : {}), ...health.details() });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
  await app.listen({ host, port });
  return { app, url: `http://${urlHost(host)}:${(app.server.address() as AddressInfo).port}` };
}
