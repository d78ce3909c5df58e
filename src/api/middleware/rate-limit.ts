import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import { HttpError } from '../../shared/errors.ts';

/**
 * Requests per minute per client, counted in Redis so the limit holds across every API process.
 * Over the limit → 429 with Retry-After and the standard RateLimit headers.
 */
export function rateLimitPerClient(redis: Redis, prefix: string, perMinute: number): RequestHandler {
  if (perMinute <= 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => req.clientId,
    store: new RedisStore({
      prefix: `${prefix}:ratelimit:`,
      // Cluster-safe form: ioredis routes by the key (single Redis and Cluster alike).
      sendCommandCluster: ({ command }) =>
        redis.call(...(command as [string, ...string[]])) as Promise<never>,
    }),
    handler: (_req, _res, next, options) => {
      next(
        new HttpError(
          429,
          'rate_limited',
          `Too many requests: the limit is ${options.limit} per minute. Retry after the Retry-After delay.`,
        ),
      );
    },
  });
}
