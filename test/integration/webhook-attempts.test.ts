import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookState } from '../../src/shared/job-record.ts';
import { postJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

const attempt = (status_code: number | null) => ({
  at: new Date().toISOString(),
  status_code,
  latency_ms: 1,
  error: null,
});

/**
 * Recording a webhook attempt is a guarded transition: it never re-creates a record (or batch) that expired,
 * and an attempt of an older delivery never overwrites the status a newer delivery (a redelivery) wrote.
 */
describe('webhook attempts', () => {
  let stack: Stack;
  let redis: Redis;
  beforeAll(async () => {
    // No workers: the test plays the deliveries, in the order it wants.
    stack = await startStack({ workers: false, env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    redis = new Redis(stack.config.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  it('an attempt on a record or batch that expired writes nothing', async () => {
    const { lifecycle, store, batches } = stack.api.deps;
    for (const key of [store.key('job_expired000000000000000'), batches.key('batch_expired00000000000')]) {
      const state = { eventId: 'msg_x', eventType: 'job.succeeded', status: 'delivered' };
      const recorded = await lifecycle.webhookAttempt(key, state, attempt(200));
      expect(await redis.exists(key)).toBe(0);
      expect(recorded).toBe('missing');
    }
  });

  it('a late attempt of the first delivery never overwrites what a newer redelivery recorded', async () => {
    const { lifecycle, store, queues } = stack.api.deps;
    const { body } = await postJob(stack.url, { text: 'hook me', webhook_url: 'http://127.0.0.1:9/hook' });
    const record = await store.get(body.id);
    if (!record) throw new Error('no record');
    expect(await lifecycle.finish(record, 'succeeded')).toBe(true);
    const ended = await store.get(body.id);
    if (!ended) throw new Error('no record');
    const state = { eventId: ended.webhook?.event_id ?? '', eventType: 'job.succeeded' };

    // The first delivery (0) is out, slow; a redelivery (sequence 1000) goes out and is delivered.
    const key = store.key(body.id);
    const replies = [await lifecycle.redeliver(ended, 1000)];
    const redelivery = await queues.deliver.getJob(`${body.id}_deliver_1000`);
    replies.push(
      await lifecycle.webhookAttempt(key, { ...state, status: 'delivered', delivery: 1000 }, attempt(200)),
    );
    // The first delivery's last attempt comes back failed: kept in the history, the status stays delivered.
    replies.push(
      await lifecycle.webhookAttempt(key, { ...state, status: 'failed', delivery: 0 }, attempt(500)),
    );
    const webhook = (await store.get(body.id))?.webhook as WebhookState;
    expect(webhook.status).toBe('delivered');
    expect(webhook.attempts.map((a) => a.status_code)).toEqual([200, 500]);
    expect(replies).toEqual(['ok', 'ok', 'stale']);
    expect(redelivery?.data).toMatchObject({ jobId: body.id, delivery: 1000 });
    // A newer delivery still moves it.
    await lifecycle.redeliver(ended, 2000);
    expect((await store.get(body.id))?.webhook?.status).toBe('pending');
  });
});
