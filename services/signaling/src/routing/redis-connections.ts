// Everything that needs ioredis, in the one module the server imports (dynamically) only when a Redis URL is set.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { RedisRouter } from './redis-router.js';

export interface RedisConnections {
  router: RedisRouter;
  /** Counts connection attempts per IP across instances; the limits fail open when it errs. */
  rateLimit: Redis;
}

export function redisConnections(
  url: string,
  config: Pick<Config, 'redisKeyPrefix' | 'presenceTtlMs'>,
  log: Logger,
): RedisConnections {
  const router = new RedisRouter({
    url,
    keyPrefix: config.redisKeyPrefix,
    presenceTtlMs: config.presenceTtlMs,
    log,
  });
  const rateLimit = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    enableOfflineQueue: false,
  });
  rateLimit.on('error', (err: Error) =>
    log.warn({ err: err.message }, 'rate-limit redis error (limits fail open)'),
  );
  return { router, rateLimit };
}
