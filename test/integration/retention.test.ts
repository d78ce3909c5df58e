import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/shared/job-store.ts';
import { keys } from '../../src/shared/stages.ts';
import { sweepExpired } from '../../src/worker/retention.ts';
import { postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('retention', () => {
  let stack: Stack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startStack({ env: { JOB_RETENTION_SECONDS: '3600' } });
    redis = new Redis(stack.config.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  it('a finished job record expires after the retention period, and the sweep deletes its files then', async () => {
    const { body } = await postJob(stack.url, { text: 'keep me for an hour' });
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    const store = new JobStore(redis, stack.config.prefix, stack.config.retentionSeconds);
    const ttl = await redis.ttl(store.key(body.id));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);

    const storage = stack.api.deps.storage;
    // Within the retention period the sweep leaves the job alone.
    expect(await sweepExpired(store, storage, 3600)).toBe(0);
    expect(await storage.exists(keys.speech(body.id, 'mp3'))).toBe(true);
    // An hour and a bit later it deletes every stored object of the job.
    expect(await sweepExpired(store, storage, 3600, Date.now() + 3601_000)).toBe(1);
    for (const key of [keys.speech(body.id, 'mp3')]) {
      expect(await storage.exists(key)).toBe(false);
    }
    expect(await store.finishedBefore(Number.MAX_SAFE_INTEGER, 10)).not.toContain(body.id);
  });

  it('finished BullMQ stage jobs are removed by age and count, so Redis does not grow without bound', async () => {
    const { body } = await postJob(stack.url, { text: 'count me' });
    await waitForJob(stack.url, body.id);
    const opts = stack.api.deps.queues.stages.chat.defaultJobOptions;
    expect(opts.removeOnComplete).toEqual({ age: 3600, count: 5000 });
    expect(opts.removeOnFail).toMatchObject({ age: 3600 });
  });

  it('the sweep is scheduled by a BullMQ job scheduler', async () => {
    const schedulerKeys = await redis.keys(`${stack.config.prefix}:maintenance:repeat*`);
    expect(schedulerKeys.length).toBeGreaterThan(0);
  });
});
