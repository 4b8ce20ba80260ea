import type { FastifyInstance } from 'fastify';
import type { Router } from '../routing/router.js';
import type { SignalingMetrics } from './metrics.js';

/** GET /healthz (503 when Redis does not answer or the instance is draining) and GET /metrics. */
export async function operationalRoutes(
  app: FastifyInstance,
  opts: { router: Router; metrics: SignalingMetrics; isDraining: () => boolean },
) {
  app.get('/healthz', { logLevel: 'warn' }, async (_req, reply) => {
    const routerOk = await opts.router.healthy();
    const ok = routerOk && !opts.isDraining();
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      router: opts.router.kind,
      routerHealthy: routerOk,
      draining: opts.isDraining(),
      instanceId: opts.router.instanceId,
    });
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
