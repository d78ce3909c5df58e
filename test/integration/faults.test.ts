import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJobEvents } from '../../src/shared/events.ts';
import { audioForm, fixture, getJob, postJob, readEvents, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

describe('stages under provider faults', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { STAGE_ATTEMPTS: '3', STAGE_BACKOFF_MS: '50' } });
  });
  afterAll(async () => stack?.close());

  it('a 400 from the provider fails the job on its first attempt with a clear error', async () => {
    stack.sim.reset();
    stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 400, message: 'Invalid prompt' }] });
    const { body } = await postJob(stack.url, { text: 'hello' });
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'provider_rejected', stage: 'chat', attempts: 1 });
    expect(job.error.message).toMatch(/rejected the request \(400\)/);
    expect(stack.sim.stats().calls).toMatchObject({ chat: 1, speech: 0 });
  });

  it('a 429 storm slows the stage and fails nothing — waits do not spend attempts', async () => {
    stack.sim.reset();
    // More consecutive 429s than STAGE_ATTEMPTS: only pausing (not retrying) lets the job through.
    stack.sim.configure({
      failNext: Array.from({ length: 6 }, () => ({
        endpoint: 'chat' as const,
        status: 429,
        retryAfterMs: 100,
      })),
    });
    const { body } = await postJob(stack.url, { text: 'storm' });
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(stack.sim.stats().faults['429']).toBe(6);
    const events = await readEvents(stack.url, body.id);
    expect(
      events.filter((e) => e.type === 'stage.retrying' && e.error?.code === 'rate_limited'),
    ).toHaveLength(6);
    expect(events.at(-1)?.type).toBe('job.succeeded');
  });

  it('a failing speech call is retried without repeating transcription or chat (checkpoints)', async () => {
    stack.sim.reset();
    stack.sim.configure({
      failNext: [
        { endpoint: 'speech', status: 500 },
        { endpoint: 'speech', status: 503 },
      ],
    });
    const { body } = await postJob(stack.url, audioForm(await fixture('question.wav')));
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(stack.sim.stats().calls).toEqual({ transcriptions: 1, chat: 1, speech: 3 });
  });

  it('a stage that keeps failing fails the job after its attempts, naming the stage', async () => {
    stack.sim.reset();
    stack.sim.configure({
      failNext: Array.from({ length: 3 }, () => ({ endpoint: 'chat' as const, status: 500 })),
    });
    const { body } = await postJob(stack.url, { text: 'doomed' });
    const job = await waitForJob(stack.url, body.id);
    expect(job).toMatchObject({
      status: 'failed',
      error: { code: 'provider_server_error', stage: 'chat', attempts: 3 },
    });
  });
});

describe('cancellation and deletion', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A chat call that would take minutes: only an abort ends it while the test waits.
    stack = await startStack({ simulator: { latencyMs: { chat: 600_000 } } });
  });
  afterAll(async () => stack?.close());

  it('DELETE on a running job aborts its stage; no later stage runs', async () => {
    stack.sim.reset();
    const { body } = await postJob(stack.url, { text: 'cancel me' });
    await waitFor(async () => (await getJob(stack.url, body.id)).status === 'running', {
      timeoutMs: 120_000,
    });
    await waitFor(() => stack.sim.stats().inFlight.chat === 1, { timeoutMs: 120_000 });
    const res = await fetch(`${stack.url}/v1/jobs/${body.id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('canceled');
    // The provider call in flight is aborted (the simulator sees the client go away).
    await waitFor(() => stack.sim.stats().inFlight.chat === 0, {
      timeoutMs: 120_000,
      message: 'the chat call in flight to be aborted',
    });
    await new Promise((r) => setTimeout(r, 500));
    const job = await getJob(stack.url, body.id);
    expect(job.status).toBe('canceled');
    expect(job.reply_text).toBeNull();
    expect(stack.sim.stats().calls.speech).toBe(0);
  });

  it('DELETE on a queued job cancels it before any stage runs', async () => {
    stack.sim.reset();
    // Fill chat's concurrency so the next job waits in the queue.
    stack.sim.configure({ latencyMs: { chat: 1500 } });
    const blockers = await Promise.all(
      Array.from(
        { length: stack.config.worker.settings.chat.concurrency },
        async () => (await postJob(stack.url, { text: 'busy' })).body.id,
      ),
    );
    const { body } = await postJob(stack.url, { text: 'never runs' });
    const res = await fetch(`${stack.url}/v1/jobs/${body.id}`, { method: 'DELETE' });
    expect(((await res.json()) as { status: string }).status).toBe('canceled');
    for (const id of blockers) await waitForJob(stack.url, id);
    await new Promise((r) => setTimeout(r, 300));
    const job = await getJob(stack.url, body.id);
    expect(job.status).toBe('canceled');
    expect(stack.sim.stats().calls.chat).toBe(blockers.length);
  });

  it('DELETE on a finished job deletes its stored files and keeps a tombstone', async () => {
    stack.sim.configure({ latencyMs: 0 });
    const { body } = await postJob(stack.url, { text: 'forget me' });
    const done = await waitForJob(stack.url, body.id);
    expect(done.status).toBe('succeeded');
    const audioUrl = done.audio_url as string;
    expect((await fetch(audioUrl)).status).toBe(200);
    const res = await fetch(`${stack.url}/v1/jobs/${body.id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    const tomb = await getJob(stack.url, body.id);
    expect(tomb).toMatchObject({ status: 'succeeded', transcript: null, reply_text: null, audio_url: null });
    expect(tomb.deleted_at).toEqual(expect.any(String));
    expect((await fetch(audioUrl)).status).toBe(404);
  });
});

describe('storage outage', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ storage: 's3', env: { STAGE_ATTEMPTS: '8', STAGE_BACKOFF_MS: '200' } });
  });
  afterAll(async () => {
    await stack?.s3?.resume();
    await stack?.close();
  });

  it('stages retry while S3 is away and succeed once it is back', async () => {
    const s3 = stack.s3;
    if (!s3?.canInterrupt) return expect.fail('needs the local s3rver');
    stack.sim.reset();
    stack.sim.configure({ latencyMs: { transcriptions: 600 } });
    const { body } = await postJob(stack.url, audioForm(await fixture('question.wav')));
    expect(body.status).toBe('queued');
    await waitFor(() => stack.sim.stats().inFlight.transcriptions === 1, { timeoutMs: 120_000 });
    await s3.interrupt();
    // The provider call ends (latency + recognition: slow on a loaded machine) and the stage's write meets
    // the outage: the stage is retried, and the job stays running while the store is away.
    const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
    try {
      const storageRetries = async () =>
        (await readJobEvents(redis, stack.config.prefix, body.id)).filter(
          (e) =>
            e.type === 'stage.retrying' &&
            (e.data.error as { code?: string } | undefined)?.code === 'storage_unavailable',
        ).length;
      let retries = 0;
      await waitFor(
        async () => {
          retries = await storageRetries();
          return retries >= 2;
        },
        {
          timeoutMs: 120_000,
          progress: () => retries,
          message: 'two storage_unavailable retries',
        },
      );
    } finally {
      redis.disconnect();
    }
    expect((await getJob(stack.url, body.id)).status).toBe('running');
    await s3.resume();
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect((await fetch(job.audio_url)).status).toBe(200);
    const retries = (await readEvents(stack.url, body.id)).filter((e) => e.type === 'stage.retrying');
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]?.stage).toBe('transcribe');
    // The store's fault is reported as the store's, not as the provider's.
    expect(retries[0]?.error).toMatchObject({ code: 'storage_unavailable' });
  });

  it('an upload while the store is away is a 503 storage_unavailable, not a 500', async () => {
    const s3 = stack.s3;
    if (!s3?.canInterrupt) return expect.fail('needs the local s3rver');
    await s3.interrupt();
    try {
      const res = await fetch(`${stack.url}/v1/jobs`, {
        method: 'POST',
        body: audioForm(await fixture('question.wav')),
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'storage_unavailable' });
      expect(res.headers.get('retry-after')).toBe('5');
    } finally {
      await s3.resume();
    }
  });
});
