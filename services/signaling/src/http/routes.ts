import type { FastifyInstance } from 'fastify';
import type { Router } from '../routing/router.js';
import type { SignalingMetrics } from './metrics.js';

/**
 * GET /healthz (liveness), GET /readyz (readiness) and GET /metrics.
 *
 * Liveness is what a load balancer's health check must use: it answers 200 while the process serves HTTP, whatever
 * Redis does. Were it to fail with Redis, one Redis outage would take every replica out of the load balancer at
 * once, although each replica still relays between its own clients and answers the rest with a prompt typed error.
 * Readiness (Redis answers, the instance is not draining) is for rollouts, alerts and operators.
 */
export async function operationalRoutes(
  app: FastifyInstance,
  opts: { router: Router; metrics: SignalingMetrics; isDraining: () => boolean },
) {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({
    status: 'ok',
    router: opts.router.kind,
    instanceId: opts.router.instanceId,
  }));
  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    const routerOk = await opts.router.healthy();
    const draining = opts.isDraining();
    const ok = routerOk && !draining;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ready' : 'unavailable',
      router: opts.router.kind,
      routerHealthy: routerOk,
      draining,
      instanceId: opts.router.instanceId,
    });
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
