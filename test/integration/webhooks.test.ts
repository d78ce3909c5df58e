import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const secret = newSecret();
const oldSecret = newSecret();

describe('signed webhooks', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        // Rotation: sign with the new secret and the old one; receivers holding either verify.
        WEBHOOK_SECRET: `${secret},${oldSecret}`,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RETRY_SCHEDULE: '0,100,100,100,100',
        STAGE_ATTEMPTS: '1',
      },
    });
  });
  afterAll(async () => stack?.close());

  it('a receiver verifying with standardwebhooks gets exactly one verified job.succeeded, with an audio_url that downloads', async () => {
    const receiver = await startReceiver(secret);
    const { body } = await postJob(stack.url, {
      text: 'tell me when done',
      webhook_url: receiver.url,
      metadata: { n: 1 },
    });
    await waitForJob(stack.url, body.id);
    await waitFor(() => receiver.received.length >= 1, { timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 500)); // would a second one arrive?
    expect(receiver.received).toHaveLength(1);
    const event = receiver.received[0]?.verified as {
      type: string;
      timestamp: string;
      data: Record<string, unknown>;
    };
    expect(event).toBeDefined();
    expect(event.type).toBe('job.succeeded');
    expect(event.data).toMatchObject({ id: body.id, status: 'succeeded', metadata: { n: 1 } });
    expect((await fetch(event.data.audio_url as string)).status).toBe(200);
    const job = await getJob(stack.url, body.id);
    expect(job.webhook).toMatchObject({ status: 'delivered', event_type: 'job.succeeded' });
    expect(job.webhook.attempts).toHaveLength(1);
    expect(job.webhook.attempts[0]).toMatchObject({ status_code: 200, error: null });
    await receiver.close();
  });

  it('a receiver failing its first 3 attempts gets the event on the 4th, with the same webhook-id; attempts show on the job', async () => {
    const receiver = await startReceiver(oldSecret, [500, 503, 429]);
    const { body } = await postJob(stack.url, { text: 'retry me', webhook_url: receiver.url });
    await waitForJob(stack.url, body.id);
    await waitFor(() => receiver.received.some((r) => r.answered === 200), { timeoutMs: 120_000 });
    expect(receiver.received.map((r) => r.answered)).toEqual([500, 503, 429, 200]);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    await waitFor(async () => (await getJob(stack.url, body.id)).webhook?.status === 'delivered', {
      timeoutMs: 120_000,
    });
    const job = await getJob(stack.url, body.id);
    expect(job.webhook.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([
      500, 503, 429, 200,
    ]);
    expect(job.webhook.attempts[0].latency_ms).toEqual(expect.any(Number));
    await receiver.close();
  });

  it('410 Gone stops at once and marks the endpoint gone; a failed job sends job.failed', async () => {
    stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 400 }] });
    const receiver = await startReceiver(secret, [410]);
    const { body } = await postJob(stack.url, { text: 'fail me', webhook_url: receiver.url });
    expect((await waitForJob(stack.url, body.id)).status).toBe('failed');
    await waitFor(async () => (await getJob(stack.url, body.id)).webhook?.status === 'gone', {
      timeoutMs: 120_000,
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.verified?.type).toBe('job.failed');
    await receiver.close();
  });

  it('redeliver sends the event again with the same webhook-id', async () => {
    const receiver = await startReceiver(secret);
    const { body } = await postJob(stack.url, { text: 'again', webhook_url: receiver.url });
    await waitForJob(stack.url, body.id);
    await waitFor(() => receiver.received.length === 1, { timeoutMs: 120_000 });
    const res = await fetch(`${stack.url}/v1/jobs/${body.id}/webhook/redeliver`, { method: 'POST' });
    expect(res.status).toBe(202);
    await waitFor(() => receiver.received.length === 2, { timeoutMs: 120_000 });
    expect(receiver.received[1]?.headers['webhook-id']).toBe(receiver.received[0]?.headers['webhook-id']);
    expect(receiver.received[1]?.verified).toBeDefined();
    await receiver.close();
  });
});

describe('webhook URLs to private networks', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false, env: { WEBHOOK_SECRET: secret } });
  });
  afterAll(async () => stack?.close());

  it.each([
    'http://127.0.0.1/hook',
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://localhost/hook',
  ])('%s is refused with 422 at submit time, and no job is created', async (url) => {
    const { res, body } = await postJob(stack.url, { text: 'hi', webhook_url: url });
    expect(res.status).toBe(422);
    expect(body).toMatchObject({ code: 'webhook_url_refused' });
    expect(body.detail).toMatch(/private|reserved/);
  });
});
