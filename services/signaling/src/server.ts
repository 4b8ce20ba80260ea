import Fastify, { type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import websocket from '@fastify/websocket';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { pino, type Logger } from 'pino';
import { WS_PATH } from '@robostream/protocol';
import { configFromOptions, type SignalingServerOptions } from './config/config.js';
import { loggerOptions } from './logging/logger-options.js';
import { SignalingMetrics } from './http/metrics.js';
import { operationalRoutes } from './http/routes.js';
import { securityHeaders } from './http/security-headers.js';
import { whepRoutes } from './http/whep.js';
import { countedDelivery } from './routing/delivery.js';
import { LocalRouter } from './routing/local-router.js';
import type { Router } from './routing/router.js';
import { SessionService } from './sessions/session-service.js';
import { tokenVerifier } from './auth/token-verifier.js';
import { iceServersFor } from './turn/ice-servers.js';
import { Hub } from './ws/hub.js';
import { socketErrorHandler } from './ws/socket-errors.js';

export interface SignalingServer {
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;
  router: Router;
  metrics: SignalingMetrics;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<string>;
  /** Graceful stop: goaway to every client, drain, close. */
  shutdown(): Promise<void>;
}

/**
 * The signaling service as a library. Without `redisUrl` nothing of Redis is loaded (a robot embedding it for its
 * LAN never pays for ioredis); each server has its own metrics registry.
 */
export async function createSignalingServer(options: SignalingServerOptions): Promise<SignalingServer> {
  const config = configFromOptions(options);
  const log = pino(loggerOptions(config.logLevel));
  const app = Fastify({ loggerInstance: log, trustProxy: config.trustProxy });
  const metrics = new SignalingMetrics(options.processMetrics ?? false);
  const redis = config.redisUrl
    ? (await import('./routing/redis-connections.js')).redisConnections(config.redisUrl, config, log)
    : undefined;
  const router: Router = redis?.router ?? new LocalRouter();
  await router.start();
  const deliver = countedDelivery(router, metrics);
  const sessions = new SessionService({
    router,
    deliver,
    maxSessionsPerApp: config.limits.maxSessionsPerApp,
    metrics,
  });
  const verifier = tokenVerifier(config.publicKey, config.tokenIssuer, config.tokenAudience);
  const hub = new Hub(
    {
      router,
      sessions,
      verifier,
      deliver,
      limits: config.limits,
      metrics,
      iceServersFor: (subject) => iceServersFor(config, subject),
    },
    metrics,
    log,
  );

  await app.register(helmet, securityHeaders(config.consoleConnectSrc));
  // Connection attempts per IP, shared across instances through Redis when there is one.
  const rateRedis = redis?.rateLimit;
  await app.register(rateLimit, {
    global: false,
    ...(rateRedis ? { redis: rateRedis, nameSpace: `${config.redisKeyPrefix}rl:` } : {}),
    skipOnError: true,
  });
  await app.register(websocket, {
    options: { maxPayload: config.limits.maxFrameBytes },
    errorHandler: socketErrorHandler(metrics),
  });
  if (config.webRoot) {
    // The web app from the same origin as /v1/ws: no CORS, and the app token stays in the URL fragment, which
    // browsers never send, so it cannot reach these request logs.
    const { default: fastifyStatic } = await import('@fastify/static');
    await app.register(fastifyStatic, { root: config.webRoot, prefix: '/', index: ['index.html'] });
  }
  // Under its own prefix, so that the CORS preflight route it registers covers WHEP only.
  await app.register(whepRoutes, {
    prefix: '/v1/robots',
    sessions,
    verifier,
    peers: hub,
    deliver,
    metrics,
    corsOrigins: config.whepCorsOrigins,
  });
  await app.register(operationalRoutes, { router, metrics, isDraining: () => hub.draining });

  app.get(
    WS_PATH,
    {
      websocket: true,
      config: { rateLimit: { max: config.limits.connectionsPerIpPerMin, timeWindow: 60_000 } },
    },
    (socket, req) => {
      hub.accept(socket, req.ip);
    },
  );

  let stopping: Promise<void> | undefined;
  return {
    app,
    router,
    metrics,
    async listen() {
      const address = await app.listen({ port: config.port, host: config.host });
      app.log.info(
        {
          address,
          router: router.kind,
          instanceId: router.instanceId,
          keySource: config.keySource,
          turn: Boolean(config.turn),
        },
        'signaling ready',
      );
      return address;
    },
    // Idempotent: a second caller (a signal handler and a test's clean-up, say) waits for the same stop.
    shutdown() {
      stopping ??= (async () => {
        app.log.info('draining');
        await hub.drain(config.shutdownGraceMs);
        await app.close();
        await router.stop();
        rateRedis?.disconnect();
      })();
      return stopping;
    },
  };
}
