/**
 * Operators' surface on a real stack (in-process API and workers, real Redis, simulator): /metrics parses as
 * Prometheus text and moves when jobs run; real responses validate against the OpenAPI document
 * (test/integration/route-table.test.ts checks that it documents every mounted route); /readyz reports workers; the dashboard refuses without its token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioForm, fixture, type Job, postJob, waitForJob } from '../support/http.ts';
import { openApiValidator } from '../support/openapi.ts';
import { type Family, sampleValue, scrape } from '../support/prometheus.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('operators: metrics, OpenAPI, readiness, dashboard auth', () => {
  let stack: Stack;
  let doc: Job;
  let check: ReturnType<typeof openApiValidator>;
  const admin = 'admin-secret-token';

  beforeAll(async () => {
    stack = await startStack({
      simulator: { disableTools: ['pocketsphinx'] },
      env: { ADMIN_TOKEN: admin, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', STAGE_ATTEMPTS: '3' },
    });
    doc = (await (await fetch(`${stack.url}/openapi.json`)).json()) as Job;
    check = openApiValidator(doc);
  });
  afterAll(async () => stack?.close());

  /** fetch + validation against the document; returns the parsed body. */
  async function call(method: string, path: string, openApiPath: string, init: RequestInit = {}) {
    const res = await fetch(`${stack.url}${path}`, { method, ...init });
    const type = res.headers.get('content-type');
    const body = type?.includes('json') ? ((await res.json()) as Job) : await res.text();
    const verdict = check(method, openApiPath, res.status, type, body);
    expect(verdict.errors, `${method} ${path} → ${res.status} ${JSON.stringify(body).slice(0, 300)}`).toEqual(
      [],
    );
    return { res, body: body as Job };
  }

  it('real responses validate against the document (job, list, batch, legacy, problems, health)', async () => {
    const receiver = await startReceiver(newSecret());
    try {
      const created = await call('POST', '/v1/jobs', '/v1/jobs', {
        body: audioForm(await fixture('question.wav'), 'q.wav', 'audio/wav', {
          metadata: '{"ticket":1}',
          webhook_url: receiver.url,
        }),
      });
      expect(created.res.status).toBe(202);
      const done = await waitForJob(stack.url, created.body.id);
      expect(done.status).toBe('succeeded');
      const got = await call('GET', `/v1/jobs/${done.id}`, '/v1/jobs/{id}');
      expect(got.body.audio_url).toMatch(/^http/);
      expect(got.body.artifacts).toBeTruthy();

      stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 400 }] });
      const failing = await call('POST', '/v1/jobs', '/v1/jobs', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'this one fails' }),
      });
      const failed = await waitForJob(stack.url, failing.body.id);
      expect(failed.status).toBe('failed');
      const gotFailed = await call('GET', `/v1/jobs/${failed.id}`, '/v1/jobs/{id}');
      expect(gotFailed.body.error.code).toBe('provider_rejected');

      const list = await call('GET', '/v1/jobs?limit=5', '/v1/jobs');
      expect(list.body.data.length).toBeGreaterThanOrEqual(2);

      const batch = await call('POST', '/v1/batches', '/v1/batches', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ text: 'one' }, { text: 'two' }], pipeline: 'speak' }),
      });
      expect(batch.res.status).toBe(202);
      let counts: unknown;
      await waitFor(
        async () => {
          const view = (await (await fetch(`${stack.url}/v1/batches/${batch.body.id}`)).json()) as Job;
          counts = view.counts;
          return view.status === 'completed';
        },
        {
          timeoutMs: 120_000,
          intervalMs: 25,
          maxIntervalMs: 250,
          progress: () => counts,
          message: 'the batch of 2 to complete',
        },
      );
      await call('GET', `/v1/batches/${batch.body.id}?limit=2`, '/v1/batches/{id}');
      await call('GET', `/v1/jobs?batch_id=${batch.body.id}`, '/v1/jobs');

      const legacy = await call('POST', '/api/voicebot/', '/api/voicebot/', {
        body: new URLSearchParams({ text: 'hello there' }),
      });
      expect(legacy.res.status).toBe(200);
      await waitFor(() => receiver.received.length > 0, { timeoutMs: 120_000 });
      const redeliver = await call(
        'POST',
        `/v1/jobs/${done.id}/webhook/redeliver`,
        '/v1/jobs/{id}/webhook/redeliver',
      );
      expect(redeliver.res.status).toBe(202);
      await call('DELETE', `/v1/jobs/${done.id}`, '/v1/jobs/{id}');

      // problem+json 4xx
      const invalid = await call('POST', '/v1/jobs', '/v1/jobs', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'x', pipeline: 'nope', colour: 1 }),
      });
      expect(invalid.res.status).toBe(400);
      expect(invalid.body.errors.length).toBeGreaterThan(0);
      const notAudio = await call('POST', '/v1/jobs', '/v1/jobs', {
        body: audioForm(Buffer.from(`%PDF-1.7\n${'0'.repeat(4000)}`), 'a.wav'),
      });
      expect(notAudio.res.status).toBe(415);
      const missing = await call('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000', '/v1/jobs/{id}');
      expect(missing.res.status).toBe(404);
      await call('GET', '/v1/batches/nope', '/v1/batches/{id}');
      await call('GET', '/files/jobs/x/reply.mp3?expires=1&sig=abc', '/files/{key}');

      await call('GET', '/healthz', '/healthz');
      const ready = await call('GET', '/readyz', '/readyz');
      expect(ready.res.status).toBe(200);
      expect(ready.body.checks.workers).toMatchObject({
        transcribe: 1,
        chat: 1,
        speak: 1,
        summarize: 1,
        deliver: 1,
      });
    } finally {
      await receiver.close();
    }
  });

  it('/metrics is Prometheus text with HELP and TYPE, and its counters move when jobs run', async () => {
    const before = await scrape(stack.url);
    for (const family of before.values()) {
      expect(family.help, family.name).toBeTruthy();
      expect(['counter', 'gauge', 'histogram', 'summary']).toContain(family.type);
    }
    const receiver = await startReceiver(newSecret());
    try {
      stack.sim.configure({ failNext: [{ endpoint: 'chat', status: 500 }] });
      const audio = await postJob(
        stack.url,
        audioForm(await fixture('question.wav'), 'q.wav', 'audio/wav', { webhook_url: receiver.url }),
      );
      const text = await postJob(stack.url, { text: 'What time do you open?' });
      expect((await waitForJob(stack.url, audio.body.id)).status).toBe('succeeded');
      expect((await waitForJob(stack.url, text.body.id)).status).toBe('succeeded');
      await waitFor(() => receiver.received.length > 0, { timeoutMs: 120_000 });
    } finally {
      await receiver.close();
    }
    let after: Map<string, Family> = before;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    await waitFor(
      async () => {
        after = await scrape(stack.url);
        // A stage's run is counted just after it ends the job: wait for the last ones to land.
        return (
          delta('voicebot_webhook_deliveries_total', { outcome: 'delivered' }) >= 1 &&
          delta('voicebot_stage_duration_seconds_count', { stage: 'speak', outcome: 'succeeded' }) >= 2
        );
      },
      { timeoutMs: 120_000 },
    );

    for (const stage of ['transcribe', 'speak'])
      expect(delta('voicebot_stage_duration_seconds_count', { stage, outcome: 'succeeded' }), stage).toBe(
        stage === 'transcribe' ? 1 : 2,
      );
    expect(delta('voicebot_stage_duration_seconds_count', { stage: 'chat', outcome: 'succeeded' })).toBe(2);
    // the scripted 500: one retry of the chat stage, one provider error of class "server"
    expect(delta('voicebot_stage_duration_seconds_count', { stage: 'chat', outcome: 'retry' })).toBe(1);
    expect(delta('voicebot_stage_retries_total', { stage: 'chat', class: 'server' })).toBe(1);
    expect(delta('voicebot_provider_errors_total', { stage: 'chat', class: 'server' })).toBe(1);
    expect(delta('voicebot_provider_request_duration_seconds_count', { stage: 'chat', outcome: 'ok' })).toBe(
      2,
    );
    expect(
      delta('voicebot_provider_request_duration_seconds_count', { stage: 'transcribe', outcome: 'ok' }),
    ).toBe(1);
    // usage and cost, attributed to the client
    expect(
      delta('voicebot_provider_audio_seconds_total', { client: 'public', stage: 'transcribe' }),
    ).toBeGreaterThan(1);
    expect(delta('voicebot_provider_tokens_total', { stage: 'chat', direction: 'input' })).toBeGreaterThan(0);
    expect(delta('voicebot_provider_tokens_total', { stage: 'chat', direction: 'output' })).toBeGreaterThan(
      0,
    );
    expect(delta('voicebot_provider_characters_total', { stage: 'speak' })).toBeGreaterThan(10);
    for (const stage of ['transcribe', 'chat', 'speak'])
      expect(delta('voicebot_provider_cost_usd_total', { client: 'public', stage }), stage).toBeGreaterThan(
        0,
      );
    expect(
      delta('voicebot_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/jobs',
        status_class: '2xx',
      }),
    ).toBe(2);
    // queue depth read from Redis at scrape time; workers seen on every queue
    expect(sampleValue(after, 'voicebot_queue_metrics_up')).toBe(1);
    expect(
      sampleValue(after, 'voicebot_queue_jobs', { queue: 'speak', state: 'completed' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sampleValue(after, 'voicebot_queue_jobs', { queue: 'chat', state: 'active' })).toBe(0);
    expect(sampleValue(after, 'voicebot_queue_workers', { queue: 'chat' })).toBe(1);
    // bounded labels: no job id, no raw path anywhere
    for (const family of after.values())
      for (const s of family.samples)
        for (const v of Object.values(s.labels))
          expect(v, `${s.name} ${JSON.stringify(s.labels)}`).not.toMatch(UUID);
  });

  it('the dashboard wants the admin token: bearer or basic auth; refuses without it', async () => {
    const noAuth = await fetch(`${stack.url}/admin/queues`);
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(noAuth.headers.get('content-type')).toMatch(/problem\+json/);
    const wrong = await fetch(`${stack.url}/admin/queues/api/queues`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    const bearer = await fetch(`${stack.url}/admin/queues/api/queues`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(bearer.status).toBe(200);
    const { queues } = (await bearer.json()) as { queues: Array<{ name: string }> };
    expect(queues.map((q) => q.name).sort()).toEqual(
      ['chat', 'deliver', 'maintenance', 'speak', 'summarize', 'transcribe', 'transcribe-chunk'].sort(),
    );
    const basic = await fetch(`${stack.url}/admin/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`anyone:${admin}`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
    expect(await basic.text()).toContain('<div id="root">');
  });
});
