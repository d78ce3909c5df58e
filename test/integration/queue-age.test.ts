/**
 * voicebot_queue_oldest_waiting_seconds reads the age of a queue's oldest waiting job from Redis: from the
 * wait list and from the prioritized set (fair queuing), where the oldest job of a busy client can sit behind
 * newer jobs of other clients.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oldestWaitingSeconds } from '../../src/shared/queue-age.ts';
import { type RedisHandle, startRedis } from '../support/index.ts';

describe('oldest waiting job of a queue', () => {
  let handle: RedisHandle;
  let redis: Redis;
  let queue: Queue;
  const now = Date.now();
  beforeAll(async () => {
    handle = await startRedis();
    redis = new Redis(handle.url);
    queue = new Queue('chat', { connection: redis, prefix: `{${handle.prefix}}` });
  });
  afterAll(async () => {
    await queue?.close();
    redis?.disconnect();
    await handle?.stop();
  });

  it('is 0 for an empty queue', async () => {
    expect(await oldestWaitingSeconds(redis, queue, now)).toBe(0);
  });

  it('finds the oldest job behind newer ones of a lower priority, and in the wait list', async () => {
    // a client's 3rd job, added 10 minutes ago, waits behind newer rank-1 jobs of other clients
    await queue.add('x', {}, { priority: 3, timestamp: now - 600_000 });
    for (let i = 0; i < 50; i++) await queue.add('x', {}, { priority: 1, timestamp: now - 1000 * i });
    await queue.add('x', {}, { priority: 2, timestamp: now - 120_000 });
    expect(await oldestWaitingSeconds(redis, queue, now)).toBe(600);
    // a job without priority (the wait list) that is older still
    await queue.add('x', {}, { timestamp: now - 900_000 });
    expect(await oldestWaitingSeconds(redis, queue, now)).toBe(900);
  });

  it('does not count delayed or running jobs', async () => {
    await queue.obliterate({ force: true });
    await queue.add('x', {}, { delay: 60_000, timestamp: now - 3_600_000 });
    expect(await oldestWaitingSeconds(redis, queue, now)).toBe(0);
  });
});
