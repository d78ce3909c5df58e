/**
 * A provider's 429 pauses a whole queue (every worker of every process) for as long as the provider asked.
 * The pause and its end both live in Redis, so they outlive the process that paused:
 *
 * - the pause is BullMQ's queue rate limit (the limiter key, with its own expiry). BullMQ honours it only on a
 *   queue with a limit, so a queue without one (STAGE_RPM=0) also gets a limit that never binds
 *   (`PAUSE_ONLY_LIMIT`, in the queue's meta hash) for as long as the pause lasts;
 * - its end is a delayed job, `pause-end`, due when the pause ends, plus `WAKE_MARKERS` wake-up markers with
 *   its due time in the queue's marker set. Each worker blocked on the queue (for up to
 *   WORKER_IDLE_BLOCK_SECONDS) pops one and waits until the due time, as for any delayed job; one marker
 *   alone could be popped by the pausing process itself, and would die with it. None can take the job before
 *   the pause is over; whichever takes it removes the pause-only limit (`END_PAUSE`) and, by taking a job,
 *   wakes the next worker. Without it, a job put back during the pause (a prioritized one gets no wake-up
 *   marker from BullMQ) would wait for the end of some worker's idle block.
 *
 * The Redis contract (BullMQ's own `meta`, `limiter` and `marker` keys of the queue) is written here only.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from './redis.ts';

/** The name of the delayed job that ends a pause (`QueueWorker` runs it; no stage ever sees it). */
export const PAUSE_END_JOB = 'pause-end';

/** A limit high enough never to bind: set on a queue only so that a pause holds. */
const PAUSE_ONLY_LIMIT = { max: 1_000_000, duration: 1_000 };
/**
 * Wake-up markers per pause: blocked workers are served one each, first come first served, so with two or
 * more at least one lands outside the pausing process. Surplus ones cost a worker one extra wait.
 */
const WAKE_MARKERS = 4;
/** The limiter key's value while paused (what BullMQ's own queue.rateLimit writes). */
const PAUSED = String(Number.MAX_SAFE_INTEGER);

/**
 * Starts (or lengthens) a pause, atomically.
 * KEYS[1] the queue's meta hash, KEYS[2] its limiter key, KEYS[3] its marker set.
 * ARGV[1] pause ms, ARGV[2] '1' to set the pause-only limit, ARGV[3] its max, ARGV[4] its duration,
 * ARGV[5] the paused value, ARGV[6] when the pause ends (ms since the epoch), ARGV[7] wake-up markers.
 * Returns the pause's ms left.
 * A shorter pause never cuts a longer one short; a running rate-limit window is replaced by the pause.
 */
const START_PAUSE = `
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'max', ARGV[3], 'duration', ARGV[4]) end
for i = 1, tonumber(ARGV[7]) do redis.call('ZADD', KEYS[3], ARGV[6], 'pause:' .. i) end
local ms = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[2])
if redis.call('GET', KEYS[2]) ~= ARGV[5] or left < ms then
  redis.call('SET', KEYS[2], ARGV[5], 'PX', ms)
  return ms
end
return left`;

/**
 * Ends the pause-only limit if no pause holds any more, atomically (a pause started meanwhile keeps it).
 * KEYS[1] meta, KEYS[2] limiter. ARGV[1] the pause-only max, ARGV[2] the paused value.
 * Returns the ms left of a pause that still holds, else 0.
 */
const END_PAUSE = `
local left = redis.call('PTTL', KEYS[2])
if left > 0 and redis.call('GET', KEYS[2]) == ARGV[2] then return left end
if redis.call('HGET', KEYS[1], 'max') == ARGV[1] then redis.call('HDEL', KEYS[1], 'max', 'duration') end
return 0`;

/** A queue's BullMQ keys (`queue.keys`, `worker.keys`): the two a pause uses. */
type QueueKeys = Record<string, string | undefined>;

function pauseKeys(keys: QueueKeys): [meta: string, limiter: string, marker: string] {
  const { meta, limiter, marker } = keys;
  if (!meta || !limiter || !marker) throw new Error('a BullMQ queue without meta, limiter or marker key');
  return [meta, limiter, marker];
}

/**
 * Pauses a whole queue for `ms`. The wake-up is scheduled first: a crash after it leaves at worst a pause-end
 * job with nothing to end; a crash before the pause is set leaves nothing at all.
 */
export async function pauseQueue(
  redis: RedisClient,
  queue: Queue,
  ms: number,
  hasLimiter: boolean,
): Promise<void> {
  const pause = Math.max(1, Math.round(ms));
  await queue.add(
    PAUSE_END_JOB,
    {},
    { delay: pause, attempts: 1, removeOnComplete: true, removeOnFail: true },
  );
  await redis.eval(
    START_PAUSE,
    3,
    ...pauseKeys(queue.keys),
    pause,
    hasLimiter ? '0' : '1',
    PAUSE_ONLY_LIMIT.max,
    PAUSE_ONLY_LIMIT.duration,
    PAUSED,
    Date.now() + pause,
    WAKE_MARKERS,
  );
}

/** Run by the worker that takes a pause-end job: the pause is over, the pause-only limit goes. */
export async function endPause(redis: RedisClient, keys: QueueKeys): Promise<number> {
  const [meta, limiter] = pauseKeys(keys);
  return Number(await redis.eval(END_PAUSE, 2, meta, limiter, PAUSE_ONLY_LIMIT.max, PAUSED));
}

/** How long the queue stays paused, in ms (0: not paused). */
export async function pauseLeft(redis: RedisClient, keys: QueueKeys): Promise<number> {
  const [, limiter] = pauseKeys(keys);
  const [value, left] = await Promise.all([redis.get(limiter), redis.pttl(limiter)]);
  return value === PAUSED && left > 0 ? left : 0;
}
