import type { Redis } from 'ioredis';
import type { Logger } from '../shared/logger.ts';

/**
 * Ends a worker process (exit 1) that has been without Redis for longer than `limitMs`, so its supervisor
 * (Docker's restart policy, systemd, Kubernetes) starts a fresh one. ioredis reconnects forever on its own;
 * this bounds how long a process can sit there reconnecting — a half-open socket, a stale DNS answer or a
 * wedged connection otherwise never heals. Jobs it held are taken over by other workers once their locks
 * expire. `limitMs` 0 turns it off.
 */
export function startRedisWatchdog(
  redis: Redis,
  limitMs: number,
  log: Logger,
  onExpire: () => void = () => process.exit(1),
): () => void {
  if (limitMs <= 0) return () => {};
  let downSince: number | undefined;
  const check = () => {
    if (redis.status === 'ready') {
      if (downSince !== undefined) log.info({ down_ms: Date.now() - downSince }, 'redis reachable again');
      downSince = undefined;
      return;
    }
    if (downSince === undefined) {
      downSince = Date.now();
      log.warn({ status: redis.status, limit_ms: limitMs }, 'redis unreachable: watchdog started');
      return;
    }
    const downMs = Date.now() - downSince;
    if (downMs >= limitMs) {
      clearInterval(timer);
      log.fatal(
        { down_ms: downMs, limit_ms: limitMs },
        'redis unreachable for longer than REDIS_WATCHDOG_MS: exiting so the supervisor restarts this worker',
      );
      onExpire();
    }
  };
  const timer = setInterval(check, Math.max(50, Math.min(1000, Math.floor(limitMs / 10))));
  timer.unref();
  return () => clearInterval(timer);
}
