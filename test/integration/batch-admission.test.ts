import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { fixture, type Job } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

const CAP = 16;

/** Batches are admitted whole or not at all, against the client's cap of jobs in flight. */
describe('batch admission', () => {
  let stack: Stack;
  let redis: Redis;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  beforeAll(async () => {
    // No workers: every accepted job stays in flight, so the cap is the only thing that moves.
    stack = await startStack({ workers: false, env: { MAX_JOBS_IN_FLIGHT: String(CAP) } });
    redis = new Redis(stack.redis.url);
    process.on('warning', onWarning);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    redis?.disconnect();
    await stack?.close();
  });

  const inFlight = () => redis.scard(redisKeys(stack.config.prefix).clientActive('public'));
  const batchKeys = async () =>
    (await redis.keys(redisKeys(stack.config.prefix).batch('*'))).filter((k) => !k.endsWith(':jobs'));
  const storedJobs = async () => readdir(join(stack.dataDir, 'objects', 'jobs')).catch(() => []);
  const audioBatch = async (n: number) => {
    const wav = new Uint8Array(await fixture('question.wav'));
    const form = new FormData();
    form.append('pipeline', 'transcribe');
    for (let i = 0; i < n; i++) form.append('audio', new Blob([wav], { type: 'audio/wav' }), `m${i}.wav`);
    return fetch(`${stack.url}/v1/batches`, { method: 'POST', body: form });
  };
  const textBatch = (n: number) =>
    fetch(`${stack.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: Array.from({ length: n }, (_, i) => ({ text: `item ${i}` })) }),
    });

  it('twelve recordings in one request are twelve queued jobs of one batch, each with its own stored input', async () => {
    const res = await audioBatch(12);
    expect(res.status).toBe(202);
    const batch = (await res.json()) as Job;
    expect(batch).toMatchObject({ status: 'running', total: 12 });
    const ids = await redis.lrange(redisKeys(stack.config.prefix).batchJobs(batch.id), 0, -1);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    expect((await storedJobs()).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const job = (await (await fetch(`${stack.url}/v1/jobs/${id}`)).json()) as Job;
      expect(job).toMatchObject({ status: 'queued', stage: 'transcribe', batch_id: batch.id });
    }
    expect(await inFlight()).toBe(12);
    // One socket listener per request, however many files it streams.
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('concurrent batches racing for the last slots: exactly those that fit are admitted, whole', async () => {
    // 12 in flight, cap 16: two batches of 2 fit, the other four must be refused — whatever the interleaving.
    const answers = await Promise.all(Array.from({ length: 6 }, () => textBatch(2)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 429, 429, 429, 429]);
    for (const r of answers.filter((a) => a.status === 429))
      expect(((await r.json()) as Job).code).toBe('too_many_jobs_in_flight');
    expect(await inFlight()).toBe(CAP);
    expect(await batchKeys()).toHaveLength(3);
    for (const key of await batchKeys()) {
      const total = Number(await redis.hget(key, 'total'));
      expect(await redis.llen(`${key}:jobs`)).toBe(total);
    }
  });

  it('a batch over the cap is refused whole: 429, no job, no batch, none of its files stored', async () => {
    const before = await storedJobs();
    const res = await audioBatch(2);
    expect(res.status).toBe(429);
    expect(((await res.json()) as Job).code).toBe('too_many_jobs_in_flight');
    expect(await storedJobs()).toEqual(before);
    expect(await inFlight()).toBe(CAP);
    expect(await batchKeys()).toHaveLength(3);
  });
});
