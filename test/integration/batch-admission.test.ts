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

/** The reproductions of issue 21: a refused batch leaves nothing, and a batch's Idempotency-Key replays it. */
describe('batch admission at the cap, through the API', () => {
  let stack: Stack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startStack({ workers: false, env: { MAX_JOBS_IN_FLIGHT: '5' } });
    redis = new Redis(stack.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  const keys = () => redisKeys(stack.config.prefix);
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const jobRecords = async () =>
    (await redis.keys(keys().job('*'))).filter((k) => !k.endsWith(':events')).length;
  const queuedChat = () => stack.api.deps.queues.stages.chat.getJobCounts('wait', 'prioritized');

  it('cap 5 with 3 jobs in flight: a batch of 3 is answered 429 and nothing of it is recorded or queued', async () => {
    for (let i = 0; i < 3; i++) expect((await post('/v1/jobs', { text: `single ${i}` })).status).toBe(202);
    const queuedBefore = await queuedChat();
    const res = await post('/v1/batches', { items: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] });
    expect(res.status).toBe(429);
    expect(((await res.json()) as Job).code).toBe('too_many_jobs_in_flight');
    expect(await redis.scard(keys().clientActive('public'))).toBe(3);
    expect(await jobRecords()).toBe(3);
    expect(await redis.zcard(keys().clientJobs('public'))).toBe(3);
    expect(await redis.keys(keys().batch('*'))).toEqual([]);
    expect(await queuedChat()).toEqual(queuedBefore);
  });

  it('a batch sent twice with one Idempotency-Key is recorded once and replayed, the key claimed only inside the accept script; another body with that key is 409', async () => {
    // Every command that touches an Idempotency-Key, as Redis runs it: a claim made by a command of its own
    // (then the accept) could be left behind by a crash in between, pointing at a batch that never existed.
    const monitor = await new Redis(stack.redis.url).monitor();
    const touching: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // Commands a script runs show with the source "lua": those are inside the atomic step.
      if (source !== 'lua' && args.some((a) => a.includes(keys().idempotency('public', ''))))
        touching.push(String(args[0]).toLowerCase());
    });
    const body = { items: [{ text: 'x' }, { text: 'y' }] };
    const first = await post('/v1/batches', body, { 'idempotency-key': 'batch-once' });
    monitor.disconnect();
    expect(touching.length).toBeGreaterThan(0);
    expect(touching.filter((c) => c !== 'evalsha' && c !== 'eval')).toEqual([]);
    expect(first.status).toBe(202);
    const batch = (await first.json()) as Job;
    const again = await post('/v1/batches', body, { 'idempotency-key': 'batch-once' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as Job).id).toBe(batch.id);
    expect(await redis.scard(keys().clientActive('public'))).toBe(5);
    expect(await redis.keys(keys().batch('*'))).toHaveLength(2); // the batch and its job list
    const other = await post('/v1/batches', { items: [{ text: 'z' }] }, { 'idempotency-key': 'batch-once' });
    expect(other.status).toBe(409);
    expect(((await other.json()) as Job).code).toBe('idempotency_key_reused');
  });
});
