/**
 * How long the oldest job waiting in a BullMQ queue has waited: the first thing a queue on-call asks, read
 * at scrape time (`voicebot_queue_oldest_waiting_seconds`). Waiting means in the `wait` list or the
 * `prioritized` set (fair queuing), not delayed (a retry's backoff) and not running.
 *
 * The wait list is taken from its tail, so its oldest job is its last. In the prioritized set, a job's score is
 * priority × 2^32 + an ever-growing counter: within one priority level, the first job is the oldest, so the
 * script reads the first job of each level (one range query per level, at most MAX_LEVELS) and compares
 * their `timestamp` (when the job was added to this queue). A job the rate limiter put back keeps its own
 * timestamp. The cost does not grow with the backlog, only with the number of priority levels in use.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from './redis.ts';

const MAX_LEVELS = 1000;

/**
 * KEYS[1] wait list, KEYS[2] prioritized set. ARGV[1] the queue's job key prefix, ARGV[2] the most levels
 * to read. Returns the oldest waiting job's `timestamp` (ms since the epoch), or 0 when none waits.
 */
const OLDEST_WAITING = `
local oldest = 0
local function consider(id)
  if not id then return end
  local ts = tonumber(redis.call('HGET', ARGV[1] .. id, 'timestamp'))
  if ts and (oldest == 0 or ts < oldest) then oldest = ts end
end
consider(redis.call('LINDEX', KEYS[1], -1))
local level = 0
for _ = 1, tonumber(ARGV[2]) do
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], level * 4294967296, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #first == 0 then break end
  consider(first[1])
  level = math.floor(tonumber(first[2]) / 4294967296) + 1
end
return oldest`;

/** Seconds the oldest waiting job of `queue` has waited (0 when none waits). */
export async function oldestWaitingSeconds(
  redis: RedisClient,
  queue: Queue,
  now = Date.now(),
): Promise<number> {
  const { wait, prioritized } = queue.keys;
  if (!wait || !prioritized) throw new Error(`queue ${queue.name} without wait or prioritized key`);
  const oldest = Number(await redis.eval(OLDEST_WAITING, 2, wait, prioritized, queue.toKey(''), MAX_LEVELS));
  return oldest > 0 ? Math.max(0, (now - oldest) / 1000) : 0;
}
