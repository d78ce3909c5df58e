import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/shared/job-files.ts';
import { JobStore } from '../../src/shared/job-store.ts';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { ALL_QUEUE_NAMES } from '../../src/shared/queue-registry.ts';
import { type SweepDeps, sweepExpired } from '../../src/worker/retention.ts';
import { type Job, postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('retention', () => {
  let stack: Stack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startStack({ env: { JOB_RETENTION_SECONDS: '3600' } });
    redis = new Redis(stack.config.redisUrl);
  });
  const sweepDeps = (): SweepDeps => ({
    ...stack.api.deps,
    log: createLogger({ level: 'silent', env: 'test' }),
    retentionSeconds: 3600,
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
    expect(await sweepExpired(sweepDeps())).toBe(0);
    expect(await storage.exists(keys.speech(body.id, 'mp3'))).toBe(true);
    // An hour and a bit later it deletes every stored object of the job.
    expect(await sweepExpired(sweepDeps(), Date.now() + 3601_000)).toBe(1);
    for (const key of [keys.speech(body.id, 'mp3')]) {
      expect(await storage.exists(key)).toBe(false);
    }
    expect(await store.finishedBefore(Number.MAX_SAFE_INTEGER, 10)).not.toContain(body.id);
  });

  it('after retention nothing names the job: not its client’s list, its batch’s list, the retention index', async () => {
    const { body } = await postJob(stack.url, { text: 'forget me' });
    const res = await fetch(`${stack.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ text: 'batched, forget me' }, { text: 'and me' }] }),
    });
    expect(res.status).toBe(202);
    const batch = (await res.json()) as Job;
    const prefix = stack.config.prefix;
    const batchIds = await redis.lrange(redisKeys(prefix).batchJobs(batch.id), 0, -1);
    const ids = [body.id as string, ...batchIds];
    for (const id of ids) expect((await waitForJob(stack.url, id)).status).toBe('succeeded');
    // Ended, each job is named by its client's list, the retention index and (items) the batch's list.
    expect(await redis.zscore(redisKeys(prefix).clientJobs('public'), body.id)).not.toBeNull();
    expect(await redis.lrange(redisKeys(prefix).batchJobs(batch.id), 0, -1)).toEqual(batchIds);

    expect(await sweepExpired(sweepDeps(), Date.now() + 3601_000)).toBeGreaterThanOrEqual(3);
    // Every key of the service's own (BullMQ's queues keep their finished jobs by age, see below) is read
    // whole: none holds, or is named by, any of the jobs.
    const queueHeads = ALL_QUEUE_NAMES.map((q) => `${prefix}:${q}:`);
    const own = (await redis.keys(`${prefix}:*`)).filter((k) => !queueHeads.some((h) => k.startsWith(h)));
    const naming: string[] = [];
    for (const key of own) {
      const type = await redis.type(key);
      const content =
        type === 'hash'
          ? JSON.stringify(await redis.hgetall(key))
          : type === 'zset'
            ? (await redis.zrange(key, '0', '-1')).join(' ')
            : type === 'list'
              ? (await redis.lrange(key, 0, -1)).join(' ')
              : type === 'set'
                ? (await redis.smembers(key)).join(' ')
                : type === 'string'
                  ? ((await redis.get(key)) ?? '')
                  : '';
      for (const id of ids) if (key.includes(id) || content.includes(id)) naming.push(`${key} names ${id}`);
    }
    expect(naming).toEqual([]);
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
