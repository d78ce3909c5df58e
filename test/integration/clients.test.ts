import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/server.ts';
import { ApiKeys } from '../../src/shared/api-keys.ts';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { audioForm, fixture, type Job } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

/** A client of the API holding one key. */
function client(stack: Stack, key: string) {
  const auth = { authorization: `Bearer ${key}` };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { ...auth, ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { ...auth, 'content-type': 'application/json', ...headers };
    }
    const res = await fetch(`${stack.url}${path}`, init);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: (text.startsWith('{') ? JSON.parse(text) : text) as Job,
    };
  };
  return {
    call,
    submit: (body: unknown, headers?: Record<string, string>) => call('POST', '/v1/jobs', body, headers),
    get: (id: string) => call('GET', `/v1/jobs/${id}`),
    wait: async (id: string) => {
      let job: Job = {};
      await waitFor(
        async () => {
          job = (await call('GET', `/v1/jobs/${id}`)).body;
          return ['succeeded', 'failed', 'canceled'].includes(job.status);
        },
        {
          timeoutMs: 120_000,
          intervalMs: 25,
          maxIntervalMs: 250,
          progress: () => [job.status, job.stage, job.updated_at],
          message: `job ${id} to end`,
        },
      );
      return job;
    },
  };
}

describe('API keys and tenancy', () => {
  let stack: Stack;
  let redis: Redis;
  let alice: ReturnType<typeof client>;
  let bob: ReturnType<typeof client>;
  let aliceSecret: string;
  let aliceKey: string;
  beforeAll(async () => {
    stack = await startStack({
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_SCHEDULE: '0,100' },
    });
    redis = new Redis(stack.config.redisUrl);
    const keys = new ApiKeys(redis, stack.config.prefix);
    const a = await keys.create({ name: 'alice' });
    const b = await keys.create({ name: 'bob' });
    aliceSecret = a.client.webhook_secret;
    aliceKey = a.key;
    alice = client(stack, a.key);
    bob = client(stack, b.key);
    // Keys are noticed within 5 s of being created; wait until the API asks for them.
    await waitFor(async () => (await fetch(`${stack.url}/v1/jobs`)).status === 401, { timeoutMs: 120_000 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.close();
  });

  it('refuses requests without a key or with a wrong one (401), and stores keys only hashed', async () => {
    const none = await fetch(`${stack.url}/v1/jobs`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await client(stack, 'vb_wrong').submit({ text: 'hi' })).status).toBe(401);
    const stored = await redis.keys(redisKeys(stack.config.prefix).apiKey('*'));
    expect(stored.every((k) => /:apikey:[0-9a-f]{64}$/.test(k))).toBe(true);
  });

  it('two clients are isolated: read, cancel, list and events of another client answer 404', async () => {
    const { body: job } = await alice.submit({ text: 'alice only' });
    await alice.wait(job.id);
    expect((await alice.get(job.id)).status).toBe(200);
    expect((await bob.get(job.id)).status).toBe(404);
    expect((await bob.call('DELETE', `/v1/jobs/${job.id}`)).status).toBe(404);
    expect((await bob.call('GET', `/v1/jobs/${job.id}/events`)).status).toBe(404);
    expect((await bob.call('POST', `/v1/jobs/${job.id}/webhook/redeliver`)).status).toBe(404);
    const bobs = await bob.call('GET', '/v1/jobs');
    expect(bobs.body.data.map((j: Job) => j.id)).not.toContain(job.id);
    const alices = await alice.call('GET', '/v1/jobs?status=succeeded');
    expect(alices.body.data.map((j: Job) => j.id)).toContain(job.id);
    expect((await alice.get(job.id)).status).toBe(200); // bob's DELETE changed nothing
  });

  it('EventSource-style access_token works on the event stream', async () => {
    const { body: job } = await alice.submit({ text: 'stream me' });
    const ok = await fetch(`${stack.url}/v1/jobs/${job.id}/events?access_token=${aliceKey}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('event: job.succeeded');
    expect((await fetch(`${stack.url}/v1/jobs/${job.id}/events?access_token=nope`)).status).toBe(401);
    // Only the event stream takes a token in the URL (it would leak into logs elsewhere).
    expect((await fetch(`${stack.url}/v1/jobs/${job.id}?access_token=${aliceKey}`)).status).toBe(401);
  });

  it('Idempotency-Key: a resubmission returns the same job; a different body gets 409', async () => {
    const first = await alice.submit({ text: 'pay once' }, { 'Idempotency-Key': 'order-1' });
    const again = await alice.submit({ text: 'pay once' }, { 'Idempotency-Key': 'order-1' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await alice.submit({ text: 'pay twice' }, { 'Idempotency-Key': 'order-1' });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_key_reused');
    // Keys are per client: bob's order-1 is his own job.
    const bobs = await bob.submit({ text: 'pay once' }, { 'Idempotency-Key': 'order-1' });
    expect(bobs.body.id).not.toBe(first.body.id);
  });

  it('Idempotency-Key on an upload: the same bytes replay the job, other bytes are a conflict', async () => {
    const wav = await fixture('question.wav');
    const a = await alice.submit(audioForm(wav), { 'Idempotency-Key': 'upload-1' });
    const b = await alice.submit(audioForm(wav), { 'Idempotency-Key': 'upload-1' });
    expect(b.body.id).toBe(a.body.id);
    const c = await alice.submit(audioForm(Buffer.concat([wav, wav])), { 'Idempotency-Key': 'upload-1' });
    expect(c.status).toBe(409);
  });

  it("a client's webhooks are signed with its own secret", async () => {
    const receiver = await startReceiver(aliceSecret);
    const { body: job } = await alice.submit({ text: 'sign for alice', webhook_url: receiver.url });
    await alice.wait(job.id);
    await waitFor(() => receiver.received.length > 0, { timeoutMs: 120_000 });
    expect(receiver.received[0]?.verified).toBeDefined();
    await receiver.close();
  });
});

describe('limits', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false, env: { RATE_LIMIT_RPM: '5', MAX_JOBS_IN_FLIGHT: '3' } });
  });
  afterAll(async () => stack?.close());

  it('requests per minute are counted across API processes → 429 with Retry-After and RateLimit headers', async () => {
    const second = await startApi(
      { ...stack.config, port: 0 },
      createLogger({ level: 'silent', env: 'test' }),
    );
    try {
      const urls = [stack.url, second.url, stack.url, second.url, stack.url];
      for (const url of urls) expect((await fetch(`${url}/v1/jobs`)).status).toBe(200);
      const limited = await fetch(`${second.url}/v1/jobs`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.headers.get('ratelimit-policy')).toContain('5');
      expect(((await limited.json()) as { code: string }).code).toBe('rate_limited');
    } finally {
      await second.close();
    }
  });
});

describe('jobs in flight per client', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false, env: { MAX_JOBS_IN_FLIGHT: '3' } });
  });
  afterAll(async () => stack?.close());

  it('caps the jobs a client has in flight → 429 too_many_jobs_in_flight', async () => {
    const submit = () =>
      fetch(`${stack.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"x"}',
      });
    for (let i = 0; i < 3; i++) expect((await submit()).status).toBe(202);
    const res = await submit();
    expect(res.status).toBe(429);
    expect(((await res.json()) as { code: string }).code).toBe('too_many_jobs_in_flight');
  });
});

describe('audio by URL', () => {
  let stack: Stack;
  let server: ReturnType<typeof createServer>;
  let base: string;
  beforeAll(async () => {
    const wav = await fixture('question.wav');
    server = createServer((req, res) => {
      if (req.url === '/question.wav') res.writeHead(200, { 'content-type': 'audio/wav' }).end(wav);
      else if (req.url === '/page.html')
        res.writeHead(200, { 'content-type': 'audio/wav' }).end(`<html>${'x'.repeat(5000)}</html>`);
      else if (req.url === '/moved') res.writeHead(302, { location: '/question.wav' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stack = await startStack({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
  });
  afterAll(async () => {
    server?.close();
    await stack?.close();
  });

  it('a worker fetches audio_url into storage and the job runs on it', async () => {
    const c = client(stack, 'unused');
    const { status, body } = await c.submit({ audio_url: `${base}/question.wav` });
    expect(status).toBe(202);
    const job = await c.wait(body.id);
    expect(job.status).toBe('succeeded');
    expect(job.transcript.toLowerCase()).toContain('opening');
    expect(job.input).toMatchObject({ type: 'audio/wav', bytes: (await fixture('question.wav')).length });
  });

  it.each([
    ['/page.html', 'unsupported_media_type'],
    ['/missing.wav', 'audio_url_unreachable'],
    ['/moved', 'audio_url_unreachable'],
  ])('%s fails the job with %s', async (path, code) => {
    const c = client(stack, 'unused');
    const job = await c.wait((await c.submit({ audio_url: `${base}${path}` })).body.id);
    expect(job).toMatchObject({ status: 'failed', error: { code, stage: 'transcribe', attempts: 1 } });
  });
});
