import Fastify, { type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import websocket from '@fastify/websocket';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { WS_PATH } from '@robostream/protocol';
import type { Config } from './config/config.js';
import { loggerOptions } from './logging.js';
import { SignalingMetrics } from './http/metrics.js';
import { operationalRoutes } from './http/routes.js';
import { whepRoutes } from './http/whep.js';
import { LocalRouter } from './routing/local-router.js';
import { RedisRouter } from './routing/redis-router.js';
import type { Router } from './routing/router.js';
import { tokenVerifier } from './auth/token-verifier.js';
import { Hub } from './ws/hub.js';

export interface SignalingServer {
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;
  hub: Hub;
  router: Router;
  metrics: SignalingMetrics;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<string>;
  /** Graceful stop: goaway to every client, drain, close. */
  shutdown(): Promise<void>;
}

export interface BuildOptions {
  /** Collect Node's default process metrics (off in tests that run several servers in one process). */
  defaultMetrics?: boolean;
}

export async function buildSignalingServer(
  config: Config,
  opts: BuildOptions = {},
): Promise<SignalingServer> {
  const log = pino(loggerOptions(config.logLevel));
  const app = Fastify({ loggerInstance: log, trustProxy: config.trustProxy });
  const metrics = new SignalingMetrics(opts.defaultMetrics ?? true);
  const router: Router = config.redisUrl
    ? new RedisRouter({
        url: config.redisUrl,
        keyPrefix: config.redisKeyPrefix,
        presenceTtlMs: config.presenceTtlMs,
        log,
      })
    : new LocalRouter();
  await router.start();
  const hub = new Hub(
    config,
    router,
    metrics,
    tokenVerifier(config.publicKey, config.tokenIssuer, config.tokenAudience),
    log,
  );

  // Connection attempts per IP, shared across instances through Redis when there is one.
  const rateRedis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 1000, enableOfflineQueue: false })
    : undefined;
  rateRedis?.on('error', (err: Error) =>
    log.warn({ err: err.message }, 'rate-limit redis error (limits fail open)'),
  );
  await app.register(rateLimit, {
    global: false,
    ...(rateRedis ? { redis: rateRedis, nameSpace: `${config.redisKeyPrefix}rl:` } : {}),
    skipOnError: true,
  });
  await app.register(websocket, { options: { maxPayload: config.limits.maxFrameBytes } });
  if (config.webRoot) {
    // The web app from the same origin as /v1/ws: no CORS, and the app token stays in the URL fragment, which
    // browsers never send, so it cannot reach these request logs.
    await app.register(fastifyStatic, { root: config.webRoot, prefix: '/', index: ['index.html'] });
  }
  // Under its own prefix, so that the CORS preflight route it registers covers WHEP only.
  await app.register(whepRoutes, { prefix: '/v1/robots', hub, corsOrigins: config.whepCorsOrigins });
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

  let address = '';
  return {
    app,
    hub,
    router,
    metrics,
    async listen() {
      address = await app.listen({ port: config.port, host: config.host });
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
    async shutdown() {
      app.log.info('draining');
      await hub.drain(config.shutdownGraceMs);
      await app.close();
      await router.stop();
      rateRedis?.disconnect();
    },
  };
}
