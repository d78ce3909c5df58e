import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { audioForm, fixture, getJob, type Job, postJob, readEvents, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const ADMIN_TOKEN = 'admin-token-for-retry-tests';

const retry = async (stack: Stack, id: string) => {
  const res = await fetch(`${stack.url}/v1/jobs/${id}/retry`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as Job };
};

/** An audio job whose chat call gets a 500: with STAGE_ATTEMPTS=1 it fails at chat, its transcript recorded. */
async function failedAtChat(stack: Stack, fields: Record<string, string> = {}): Promise<Job> {
  stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 500 }] });
  const { body } = await postJob(
    stack.url,
    audioForm(await fixture('question.wav'), 'q.wav', 'audio/wav', fields),
  );
  const job = await waitForJob(stack.url, body.id, 60_000);
  expect(job.status).toBe('failed');
  return job;
}

describe('resuming failed jobs (POST /v1/jobs/:id/retry)', () => {
  let stack: Stack;
  const secret = newSecret();
  beforeAll(async () => {
    stack = await startStack({
      env: {
        STAGE_ATTEMPTS: '1',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_SECRET: secret,
        ADMIN_TOKEN,
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a job that failed at chat resumes there: the transcript is kept and transcription is not called again', async () => {
    const receiver = await startReceiver(secret);
    try {
      stack.sim.reset();
      const failed = await failedAtChat(stack, { webhook_url: receiver.url });
      expect(failed).toMatchObject({
        stage: 'chat',
        attempt: 1,
        retries: 0,
        error: { code: 'provider_server_error', stage: 'chat' },
      });
      expect(failed.transcript).toBeTruthy();
      expect(stack.sim.stats().calls).toEqual({ transcriptions: 1, chat: 1, speech: 0 });

      const r = await retry(stack, failed.id);
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ status: 'queued', stage: 'chat', attempt: 2, retries: 1, error: null });
      expect(r.body.finished_at).toBeNull();
      const done = await waitForJob(stack.url, failed.id, 60_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2, transcript: failed.transcript });
      expect(done.reply_text).toBeTruthy();
      // Only the stages that had not completed were run (and paid for) again.
      expect(stack.sim.stats().calls).toEqual({ transcriptions: 1, chat: 2, speech: 1 });

      const types = (await readEvents(stack.url, failed.id)).map((e) => e.type);
      expect(types.filter((t) => t.startsWith('job.'))).toEqual([
        'job.queued',
        'job.failed',
        'job.retried',
        'job.succeeded',
      ]);
      // One terminal webhook per run, told apart by its webhook-id.
      await waitFor(() => receiver.received.length === 2, {
        timeoutMs: 30_000,
        message: 'both runs’ webhooks',
      });
      const ids = receiver.received.map((w) => w.headers['webhook-id']);
      const compact = failed.id.replaceAll('-', '');
      expect(ids).toEqual([`msg_${compact}_failed`, `msg_${compact}_succeeded_r2`]);
      expect(receiver.received.map((w) => (w.verified as { type: string }).type)).toEqual([
        'job.failed',
        'job.succeeded',
      ]);
      // A late attempt of the first run's delivery leaves the second run's webhook state alone.
      const { lifecycle, store } = stack.api.deps;
      await waitFor(async () => (await getJob(stack.url, failed.id)).webhook?.status === 'delivered', {
        timeoutMs: 30_000,
        message: 'the second run’s delivery recorded',
      });
      const state = (await getJob(stack.url, failed.id)).webhook;
      expect(state).toMatchObject({ event_id: `msg_${compact}_succeeded_r2`, status: 'delivered' });
      const late = await lifecycle.webhookAttempt(
        store.key(failed.id),
        { eventId: `msg_${compact}_failed`, eventType: 'job.failed', status: 'failed' },
        { at: new Date().toISOString(), status_code: 500, latency_ms: 1, error: null },
      );
      expect(late).toBe('stale');
      expect((await getJob(stack.url, failed.id)).webhook).toEqual(state);
      // Ended again: in the retention index, out of the client's jobs in flight.
      const redis = stack.api.deps.redis;
      expect(await redis.zscore(redisKeys(stack.config.prefix).finished, failed.id)).not.toBeNull();
      expect(await redis.sismember(redisKeys(stack.config.prefix).clientActive('public'), failed.id)).toBe(0);
    } finally {
      await receiver.close();
    }
  }, 120_000);

  it('answers 409 for a job that did not fail or get canceled, and 404 for an unknown job', async () => {
    const { body } = await postJob(stack.url, { text: 'Hello there', pipeline: 'speak' });
    const done = await waitForJob(stack.url, body.id);
    expect(done.status).toBe('succeeded');
    const r = await retry(stack, done.id);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('not_retryable');
    expect((await getJob(stack.url, done.id)).attempt).toBe(1);
    expect((await retry(stack, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await retry(stack, 'not-a-job')).status).toBe(404);
  });

  it('duplicate retry requests re-open the job once', async () => {
    const failed = await failedAtChat(stack);
    const answers = await Promise.all(Array.from({ length: 6 }, () => retry(stack, failed.id)));
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409, 409, 409, 409]);
    const done = await waitForJob(stack.url, failed.id, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, retries: 1 });
    const types = (await readEvents(stack.url, failed.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'job.retried')).toHaveLength(1);
    expect(types.filter((t) => t === 'job.succeeded')).toHaveLength(1);
    // One stage job for the new run.
    const chat = stack.api.deps.queues.stages.chat;
    expect(await chat.getJob(`${failed.id}_chat_r2`)).toBeTruthy();
    expect(await chat.getJob(`${failed.id}_chat_r3`)).toBeUndefined();
  }, 120_000);

  it('a stage job of the earlier run never changes the retried job (start, hand-off and end are refused)', async () => {
    const failed = await failedAtChat(stack);
    const firstRun = await stack.api.deps.store.get(failed.id);
    if (!firstRun) throw new Error('the failed job has a record');
    stack.sim.configure({ latencyMs: { chat: 60_000 } });
    try {
      expect((await retry(stack, failed.id)).status).toBe(202);
      await waitFor(() => stack.sim.stats().inFlight.chat > 0, {
        timeoutMs: 30_000,
        message: 'run 2’s chat call',
      });
      const { lifecycle } = stack.api.deps;
      // As the first run's chat job would, had it been retried by BullMQ or stalled out late.
      expect(await lifecycle.start(failed.id, 'chat', 2, 1)).toBeUndefined();
      expect(
        await lifecycle.handOff(
          { ...firstRun, status: 'running' },
          'chat',
          'speak',
          { reply_text: 'stale' },
          {},
        ),
      ).toBe(false);
      expect(
        await lifecycle.finish(
          firstRun,
          'failed',
          { error: { code: 'worker_lost', message: 'stale', stage: 'chat', attempts: 1 } },
          { stage: 'chat', run: 1 },
        ),
      ).toBe(false);
      expect(await getJob(stack.url, failed.id)).toMatchObject({
        status: 'running',
        stage: 'chat',
        attempt: 2,
      });
      // The second run's stage job is the current one: a cancel reaches it and aborts its call.
      await fetch(`${stack.url}/v1/jobs/${failed.id}`, { method: 'DELETE' });
      await waitFor(() => stack.sim.stats().inFlight.chat === 0, {
        timeoutMs: 30_000,
        message: 'run 2’s chat call aborted by the cancel',
      });
    } finally {
      stack.sim.configure({ latencyMs: 0 });
    }
  }, 120_000);

  it('a canceled job resumes at the stage it was canceled in', async () => {
    stack.sim.configure({ latencyMs: { chat: 60_000 } });
    try {
      const { body } = await postJob(stack.url, { text: 'Cancel me, then resume me' });
      await waitFor(() => stack.sim.stats().inFlight.chat > 0, { timeoutMs: 30_000, message: 'chat call' });
      const canceled = (await (
        await fetch(`${stack.url}/v1/jobs/${body.id}`, { method: 'DELETE' })
      ).json()) as Job;
      expect(canceled.status).toBe('canceled');
      stack.sim.configure({ latencyMs: 0 });
      const r = await retry(stack, body.id);
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ status: 'queued', stage: 'chat', attempt: 2 });
      const done = await waitForJob(stack.url, body.id, 60_000);
      expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    } finally {
      stack.sim.configure({ latencyMs: 0 });
    }
  }, 120_000);

  it('Bull Board’s Retry on a failed stage job re-opens its job through the same transition', async () => {
    const failed = await failedAtChat(stack);
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const res = await fetch(`${stack.url}/admin/queues/api/queues/chat/${failed.id}_chat/retry`, {
      method: 'PUT',
      headers: auth,
    });
    expect(res.status).toBe(204);
    const done = await waitForJob(stack.url, failed.id, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    // Again on the same (old run's) stage job: the job has not failed, so nothing is re-opened.
    const again = await fetch(`${stack.url}/admin/queues/api/queues/chat/${failed.id}_chat/retry`, {
      method: 'PUT',
      headers: auth,
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(/succeeded/);
    expect((await getJob(stack.url, failed.id)).attempt).toBe(2);

    // Retry all on the chat queue's failed jobs: every job that failed at chat is re-opened (and only those).
    const a = await failedAtChat(stack);
    const b = await failedAtChat(stack);
    const completed = await fetch(`${stack.url}/admin/queues/api/queues/chat/retry/completed`, {
      method: 'PUT',
      headers: auth,
    });
    expect(completed.status).toBe(400);
    const all = await fetch(`${stack.url}/admin/queues/api/queues/chat/retry/failed`, {
      method: 'PUT',
      headers: auth,
    });
    expect(all.status).toBe(200);
    expect(await all.json()).toEqual({ retried: 2, skipped: 0 });
    for (const job of [a, b])
      expect(await waitForJob(stack.url, job.id, 60_000)).toMatchObject({ status: 'succeeded', attempt: 2 });

    // The dashboard says so on every stage queue.
    const listed = (await (
      await fetch(`${stack.url}/admin/queues/api/queues`, { headers: auth })
    ).json()) as {
      queues: Array<{ name: string; description?: string }>;
    };
    const descriptionOf = (name: string) => listed.queues.find((q) => q.name === name)?.description;
    expect(descriptionOf('chat')).toMatch(/POST \/v1\/jobs\/\{id\}\/retry/);
    expect(descriptionOf('deliver')).toBeUndefined();
  }, 120_000);

  it('bulk retry re-opens only the jobs matching its filters; the admin route needs the admin token', async () => {
    const failed = await failedAtChat(stack);
    stack.sim.configure({ failNext: [{ endpoint: 'speech', status: 400 }] });
    const { body } = await postJob(stack.url, { text: 'A rejected speech', pipeline: 'speak' });
    const other = await waitForJob(stack.url, body.id);
    expect(other).toMatchObject({ status: 'failed', error: { code: 'provider_rejected', stage: 'speak' } });

    expect((await fetch(`${stack.url}/admin/jobs/retry`, { method: 'POST' })).status, 'no admin token').toBe(
      401,
    );
    const bad = await fetch(`${stack.url}/v1/jobs/retry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'succeeded' }),
    });
    expect(bad.status).toBe(400);

    const res = await fetch(`${stack.url}/admin/jobs/retry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ error_code: 'provider_server_error', stage: 'chat', client: 'public' }),
    });
    expect(res.status).toBe(200);
    const summary = (await res.json()) as Job;
    expect(summary).toMatchObject({ object: 'retry_summary', skipped: 0, cap_reached: false });
    expect(summary.retried).toBeGreaterThanOrEqual(1);
    expect((await waitForJob(stack.url, failed.id, 60_000)).status).toBe('succeeded');
    // The speech job failed with another code: left as it was.
    expect(await getJob(stack.url, other.id)).toMatchObject({ status: 'failed', attempt: 1 });
  }, 120_000);
});

describe('resuming at the cap of jobs in flight', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { STAGE_ATTEMPTS: '1', MAX_JOBS_IN_FLIGHT: '1' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 429 with nothing changed while the client has its cap of jobs in flight', async () => {
    stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 500 }] });
    const first = await postJob(stack.url, { text: 'I will fail' });
    const failed = await waitForJob(stack.url, first.body.id);
    expect(failed.status).toBe('failed');

    stack.sim.configure({ latencyMs: { chat: 60_000 } });
    const busy = await postJob(stack.url, { text: 'I hold the only slot' });
    expect(busy.res.status).toBe(202);
    await waitFor(() => stack.sim.stats().inFlight.chat > 0, { timeoutMs: 30_000, message: 'chat call' });

    const r = await retry(stack, failed.id);
    expect(r.status).toBe(429);
    expect(r.body.code).toBe('too_many_jobs_in_flight');
    const after = await getJob(stack.url, failed.id);
    expect(after).toMatchObject({ status: 'failed', attempt: 1, error: { code: 'provider_server_error' } });
    expect(after.finished_at).toBe(failed.finished_at);
    const redis = stack.api.deps.redis;
    const prefix = stack.config.prefix;
    expect(await redis.zscore(redisKeys(prefix).finished, failed.id)).not.toBeNull();
    expect(await redis.sismember(redisKeys(prefix).clientActive('public'), failed.id)).toBe(0);
    expect(await redis.ttl(redisKeys(prefix).job(failed.id))).toBeGreaterThan(0);
    const types = (await readEvents(stack.url, failed.id)).map((e) => e.type);
    expect(types).not.toContain('job.retried');

    // Once the slot is free the same retry goes through.
    stack.sim.configure({ latencyMs: 0 });
    await (await fetch(`${stack.url}/v1/jobs/${busy.body.id}`, { method: 'DELETE' })).json();
    expect((await retry(stack, failed.id)).status).toBe(202);
    expect(await redis.ttl(redisKeys(prefix).job(failed.id))).toBe(-1);
    expect((await waitForJob(stack.url, failed.id, 60_000)).status).toBe('succeeded');
  }, 120_000);
});
