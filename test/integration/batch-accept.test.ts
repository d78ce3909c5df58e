/**
 * The batch accept transition (src/shared/lifecycle/commands/accept-batch.lua) on a real Redis: a batch is
 * admitted whole or not at all, whatever the cap, the jobs in flight and its size, and its Idempotency-Key is
 * claimed in the same step.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRecord } from '../../src/api/intake.ts';
import { createJobSchema } from '../../src/api/job-schemas.ts';
import { batchFields } from '../../src/shared/batches.ts';
import type { JobRecord } from '../../src/shared/job-record.ts';
import { BullmqAddError } from '../../src/shared/lifecycle/bullmq-add.ts';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import type { Stage } from '../../src/shared/pipelines.ts';
import { stageJobId } from '../../src/shared/queue-registry.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('batch accept transition', () => {
  let stack: Stack;
  let redis: Redis;
  beforeAll(async () => {
    // No workers: accepted jobs stay queued, so what the transition wrote is all there is.
    stack = await startStack({ workers: false });
    redis = new Redis(stack.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const keys = () => redisKeys(stack.config.prefix);
  const lifecycle = () => stack.api.deps.lifecycle;

  /** n jobs of one batch for `clientId`: text jobs (chat stage) unless `audioAt` says which item is audio. */
  function batchOf(clientId: string, n: number, audioAt = -1) {
    const batchId = randomUUID();
    const items = Array.from({ length: n }, (_, i) => {
      const body = createJobSchema(1000).parse(
        i === audioAt ? { audio_url: 'https://example.com/a.wav' } : { text: `item ${i}` },
      );
      return {
        record: newRecord(
          stack.api.deps,
          { kind: i === audioAt ? 'audio' : 'text', body },
          { id: randomUUID(), clientId, batchId },
        ),
      };
    });
    const batch = {
      id: batchId,
      fields: batchFields({
        id: batchId,
        client_id: clientId,
        total: n,
        webhook_url: null,
        metadata: null,
        created_at: new Date().toISOString(),
      }),
    };
    return { batch, items, records: items.map((it) => it.record) };
  }

  /** What exists in Redis of these records: each record, and each first-stage BullMQ job. */
  async function written(records: JobRecord[]) {
    const pipe = redis.pipeline();
    for (const r of records) pipe.exists(keys().job(r.id));
    const exists = ((await pipe.exec()) ?? []).map(([, v]) => v === 1);
    const queued = await Promise.all(
      records.map(
        async (r) =>
          (await stack.api.deps.queues.stages[r.stage as Stage].getJob(
            stageJobId(r.id, r.stage as Stage),
          )) !== undefined,
      ),
    );
    return { records: exists, queued };
  }

  it('admits a batch whole exactly when the jobs in flight plus the batch fit under the cap, and otherwise writes nothing', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        async (cap, inFlight, n, fair) => {
          const clientId = `prop-${++run}`;
          if (inFlight > 0)
            await redis.sadd(
              keys().clientActive(clientId),
              ...Array.from({ length: inFlight }, (_, i) => `earlier-${i}`),
            );
          const { batch, items, records } = batchOf(clientId, n);
          const result = await lifecycle().acceptBatch(items, { cap, fair, batch });
          const state = await written(records);
          if (inFlight + n <= cap) {
            expect(result).toEqual({
              outcome: 'accepted',
              ranks: records.map((_, i) => inFlight + i + 1),
              transcriptOptions: records.map(() => null),
            });
            expect(await redis.scard(keys().clientActive(clientId))).toBe(inFlight + n);
            expect(await redis.hget(keys().batch(batch.id), 'total')).toBe(String(n));
            expect(await redis.lrange(keys().batchJobs(batch.id), 0, -1)).toEqual(records.map((r) => r.id));
            expect(state).toEqual({ records: records.map(() => true), queued: records.map(() => true) });
            const priorities = await Promise.all(
              records.map((r) => redis.hget(keys().job(r.id), 'priority')),
            );
            expect(priorities).toEqual(records.map((_, i) => (fair ? String(inFlight + i + 1) : null)));
          } else {
            expect(result).toEqual({ outcome: 'full', active: inFlight });
            expect(await redis.scard(keys().clientActive(clientId))).toBe(inFlight);
            expect(await redis.exists(keys().batch(batch.id), keys().batchJobs(batch.id))).toBe(0);
            expect(await redis.zcard(keys().clientJobs(clientId))).toBe(0);
            expect(state).toEqual({ records: records.map(() => false), queued: records.map(() => false) });
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('claims the Idempotency-Key with the batch: a refused batch leaves no claim, a replay returns the stored one', async () => {
    const clientId = `idem-${randomUUID()}`;
    const claim = (batchId: string) => ({
      key: keys().idempotency(clientId, 'k1'),
      value: JSON.stringify({ fingerprint: 'f', id: batchId }),
      ttlSeconds: 60,
    });
    const big = batchOf(clientId, 3);
    expect(
      await lifecycle().acceptBatch(big.items, {
        cap: 2,
        fair: false,
        batch: big.batch,
        idempotency: claim(big.batch.id),
      }),
    ).toEqual({ outcome: 'full', active: 0 });
    expect(await redis.exists(keys().idempotency(clientId, 'k1'))).toBe(0);
    const ok = batchOf(clientId, 2);
    const first = await lifecycle().acceptBatch(ok.items, {
      cap: 2,
      fair: false,
      batch: ok.batch,
      idempotency: claim(ok.batch.id),
    });
    expect(first.outcome).toBe('accepted');
    expect(await redis.get(keys().idempotency(clientId, 'k1'))).toBe(claim(ok.batch.id).value);
    const again = batchOf(clientId, 2);
    expect(
      await lifecycle().acceptBatch(again.items, {
        cap: 2,
        fair: false,
        batch: again.batch,
        idempotency: claim(again.batch.id),
      }),
    ).toEqual({ outcome: 'replay', stored: claim(ok.batch.id).value });
    expect(await written(again.records)).toEqual({ records: [false, false], queued: [false, false] });
    expect(await redis.scard(keys().clientActive(clientId))).toBe(2);
  });

  it('a batch whose second add BullMQ refuses records no job, no batch and no claim', async () => {
    const clientId = `refused-${randomUUID()}`;
    const { batch, items, records } = batchOf(clientId, 3, 1);
    // Item 1 is the only audio job: its transcribe add names a parent that does not exist (BullMQ answers -5).
    const transcribe = stack.api.deps.queues.stages.transcribe as unknown as {
      jobsOpts: Record<string, unknown>;
    };
    const saved = transcribe.jobsOpts;
    transcribe.jobsOpts = { ...saved, parent: { id: 'gone', queue: `${stack.config.prefix}:nowhere` } };
    try {
      const err = await lifecycle()
        .acceptBatch(items, {
          cap: 10,
          fair: true,
          batch,
          idempotency: { key: keys().idempotency(clientId, 'k'), value: '{}', ttlSeconds: 60 },
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(BullmqAddError);
    } finally {
      transcribe.jobsOpts = saved;
    }
    const pipe = redis.pipeline();
    for (const r of records) pipe.exists(keys().job(r.id), keys().jobEvents(r.id));
    expect(((await pipe.exec()) ?? []).map(([, v]) => v)).toEqual([0, 0, 0]);
    expect(await redis.exists(keys().batch(batch.id), keys().batchJobs(batch.id))).toBe(0);
    expect(await redis.exists(keys().idempotency(clientId, 'k'))).toBe(0);
    expect(await redis.scard(keys().clientActive(clientId))).toBe(0);
    expect(await redis.zcard(keys().clientJobs(clientId))).toBe(0);
  });
});
