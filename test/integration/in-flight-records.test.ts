import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { orphansFreed } from '../../src/shared/metrics.ts';
import { sweep } from '../../src/worker/retention.ts';
import { postJob, readEvents, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const secret = newSecret();
/**
 * Shorter than the job below stays in flight (the environment allows no less than 60 s, the stack does); long
 * enough that, once the job has ended, its record outlives the webhook's delivery on a loaded machine.
 */
const RETENTION_SECONDS = 8;

/**
 * A record carries no TTL while its job is in flight: the retention clock starts when the job ends. Ids left in
 * a client's in-flight set by a record that vanished anyway (a record written by an older version, a manual
 * delete) are freed by the maintenance sweep, counted and logged.
 */
describe('records of jobs in flight', () => {
  let stack: Stack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startStack({
      config: { retentionSeconds: RETENTION_SECONDS },
      env: {
        MAX_JOBS_IN_FLIGHT: '1',
        WEBHOOK_SECRET: secret,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      },
      // The chat call alone outlasts twice the retention: a provider slower than the retention period.
      simulator: { latencyMs: { chat: RETENTION_SECONDS * 2_000 + 1_000 } },
    });
    redis = new Redis(stack.config.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const jobKey = (id: string) => redisKeys(stack.config.prefix).job(id);

  it('a job in flight longer than twice the retention still succeeds, with its events, webhook and retention entry', async () => {
    const receiver = await startReceiver(secret);
    const { res, body } = await postJob(stack.url, { text: 'take your time', webhook_url: receiver.url });
    expect(res.status).toBe(202);
    const events = readEvents(stack.url, body.id);
    // In flight, neither the record nor its event stream has a TTL.
    expect(await redis.ttl(jobKey(body.id))).toBe(-1);
    expect(await redis.ttl(`${jobKey(body.id)}:events`)).toBe(-1);

    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(Date.parse(job.finished_at) - Date.parse(job.created_at)).toBeGreaterThan(
      RETENTION_SECONDS * 2_000,
    );
    const types = (await events).map((e) => e.type);
    expect(types).toContain('job.succeeded');
    await waitFor(() => receiver.received.length >= 1, {
      timeoutMs: 120_000,
      message: 'the job.succeeded webhook',
    });
    expect(receiver.received[0]?.verified).toMatchObject({
      type: 'job.succeeded',
      data: { id: body.id, status: 'succeeded' },
    });
    const prefix = stack.config.prefix;
    expect(await redis.zscore(redisKeys(prefix).finished, body.id)).not.toBeNull();
    expect(await redis.sismember(redisKeys(prefix).clientActive('public'), body.id)).toBe(0);
    // Ended, the record expires (it has a TTL, or is already gone).
    expect(await redis.ttl(jobKey(body.id))).not.toBe(-1);
    await receiver.close();
  });

  it('an id in an in-flight set whose record is gone is freed by the sweep, counted and logged', async () => {
    const prefix = stack.config.prefix;
    const active = redisKeys(prefix).clientActive('public');
    await redis.sadd(active, 'job_orphan0000000000000000');
    // The orphan holds the client's only slot.
    expect((await postJob(stack.url, { text: 'refused' })).res.status).toBe(429);

    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const before = (await orphansFreed.get()).values[0]?.value ?? 0;
    const { deps } = stack.api;
    const result = await sweep({
      store: deps.store,
      lifecycle: deps.lifecycle,
      storage: deps.storage,
      log,
      retentionSeconds: stack.config.retentionSeconds,
    });
    expect(result.orphans).toBe(1);
    expect(await redis.smembers(active)).toEqual([]);
    expect((await orphansFreed.get()).values[0]?.value).toBe(before + 1);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({ client_id: 'public', job_ids: ['job_orphan0000000000000000'] }),
    );

    // The slot is free again; a second sweep finds nothing.
    const { res, body } = await postJob(stack.url, { text: 'admitted' });
    expect(res.status).toBe(202);
    expect((await sweep({ ...deps, log, retentionSeconds: RETENTION_SECONDS })).orphans).toBe(0);
    await fetch(`${stack.url}/v1/jobs/${body.id}`, { method: 'DELETE' });
  });
});
