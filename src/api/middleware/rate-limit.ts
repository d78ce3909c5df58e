import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { HttpError } from '../../shared/errors.ts';
import { redisKeys } from '../../shared/lifecycle/keys.ts';
import type { RedisClient } from '../../shared/redis.ts';

/**
 * Requests per minute per client, counted in Redis so the limit holds across every API process.
 * Over the limit → 429 with Retry-After and the standard RateLimit headers.
 */
export function rateLimitPerClient(redis: RedisClient, prefix: string, perMinute: number): RequestHandler {
  if (perMinute <= 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => req.clientId,
    store: new RedisStore({
      prefix: redisKeys(prefix).rateLimit,
      // Cluster-safe form: ioredis routes by the key (single Redis and Cluster alike).
      sendCommandCluster: scriptSafeSender(redis),
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

/**
 * Sends rate-limit-redis's commands, cluster-safe. The store loads its Lua scripts with a keyless
 * `SCRIPT LOAD` (a cluster sends that to a random master) and then runs `EVALSHA` on the key's master, which
 * may never have seen the script — nor does a replica promoted by a failover (Redis 7 does not replicate the
 * script cache). So `SCRIPT LOAD` is answered here (the SHA1 of the text) and an `EVALSHA` that meets
 * `NOSCRIPT` is re-sent once as `EVAL`, which also caches the script on that node.
 */
export function scriptSafeSender(redis: RedisClient) {
  const scripts = new Map<string, string>();
  return async ({ command }: { command: string[] }): Promise<never> => {
    const [name = '', ...args] = command;
    const verb = name.toUpperCase();
    if (verb === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD' && args[1] !== undefined) {
      const sha = createHash('sha1').update(args[1]).digest('hex');
      scripts.set(sha, args[1]);
      return sha as never;
    }
    try {
      return (await redis.call(name, ...args)) as never;
    } catch (err) {
      const script = verb === 'EVALSHA' ? scripts.get(args[0] ?? '') : undefined;
      if (!script || !/^NOSCRIPT/.test((err as Error).message)) throw err;
      return (await redis.call('EVAL', script, ...args.slice(1))) as never;
    }
  };
}
