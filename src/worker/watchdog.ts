import type { Logger } from '../shared/logger.ts';
import { createRedis, type RedisClient, type RedisSettings } from '../shared/redis.ts';

export interface RedisWatchdog {
  stop(): void;
}

/**
 * Ends a worker process (exit 1) that has been without Redis for longer than `limitMs`, so its supervisor
 * (Docker's restart policy, systemd, Kubernetes) starts a fresh one. ioredis reconnects forever on its own;
 * this bounds how long a process can sit there reconnecting — a half-open socket, a stale DNS answer or a
 * start-up stuck waiting for Redis otherwise never heals. Jobs it held are taken over by other workers once
 * their locks expire. It PINGs on a connection of its own (fail-fast kind), so a silently dead peer counts
 * too, not only a closed socket. `limitMs` 0 turns it off.
 */
export function startRedisWatchdog(
  target: RedisSettings | RedisClient,
  limitMs: number,
  log: Logger,
  onExpire: () => void = () => process.exit(1),
): RedisWatchdog {
  if (limitMs <= 0) return { stop: () => {} };
  const own = !('status' in target);
  const redis = own ? createRedis(target, 'command', 'voicebot-watchdog') : target;
  // A tenth of the limit, at most every 10 s: a PING a second was most of an idle worker's Redis traffic.
  const everyMs = Math.max(50, Math.min(10_000, Math.floor(limitMs / 10)));
  let lastOk = Date.now();
  let wasDown = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const ping = () =>
    Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), Math.max(everyMs, 500)).unref()),
    ]);

  const tick = async () => {
    const ok = await ping();
    if (stopped) return;
    const now = Date.now();
    if (ok) {
      if (wasDown) log.info({ down_ms: now - lastOk }, 'redis reachable again');
      lastOk = now;
      wasDown = false;
    } else if (!wasDown) {
      wasDown = true;
      log.warn({ limit_ms: limitMs }, 'redis unreachable: the watchdog ends this process if it stays so');
    } else if (now - lastOk >= limitMs) {
      log.fatal(
        { down_ms: now - lastOk, limit_ms: limitMs },
        'redis unreachable for longer than REDIS_WATCHDOG_MS: exiting so the supervisor restarts this worker',
      );
      onExpire();
      return;
    }
    timer = setTimeout(tick, everyMs);
    timer.unref();
  };
  timer = setTimeout(tick, everyMs);
  timer.unref();
  log.info({ limit_ms: limitMs }, 'redis watchdog armed');
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (own) redis.disconnect();
    },
  };
}
