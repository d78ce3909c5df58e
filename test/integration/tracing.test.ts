/**
 * OpenTelemetry across processes: one job through an API process and a worker process (both exporting
 * OTLP/HTTP JSON to a receiver in this test) is one trace — the caller's, when it sends a traceparent —
 * with the request span as the parent of every stage, chunk and delivery span, provider calls under their
 * stage or chunk with the model, tokens and audio seconds, the webhook POST under its delivery, and the
 * worker's log lines carrying the trace id.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  currentTraceparent,
  tracedFetch,
  tracedProcessor,
  tracingRequested,
} from '../../src/shared/tracing.ts';
import { FIXTURES, waitForJob } from '../support/http.ts';
import { freePort } from '../support/index.ts';
import { type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { loopWav } from '../support/speech.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { fileForm } from '../support/voicemail.ts';
import { waitFor } from '../support/wait-for.ts';
import { newSecret, startReceiver } from '../support/webhook-receiver.ts';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('OpenTelemetry: one trace per job across API and worker processes', () => {
  let stack: Stack;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let hooks: Awaited<ReturnType<typeof startReceiver>>;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let apiUrl: string;
  let dir: string;
  const secret = newSecret();

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    hooks = await startReceiver(secret);
    dir = await mkdtemp(join(tmpdir(), 'vb-otel-'));
    stack = await startStack({
      workers: false,
      // Deterministic transcripts and a tone for speech: this test is about spans, not words.
      simulator: { disableTools: ['pocketsphinx', 'festival', 'espeak-ng'] },
      env: {
        TRANSCRIBE_MODEL: 'whisper-1',
        TRANSCRIBE_CHUNK_SECONDS: '30',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_SECRET: secret,
      },
    });
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'info',
    };
    api = spawnService('api', { ...stack.env, ...otel, PORT: String(port), PUBLIC_URL: apiUrl });
    worker = spawnService('worker', { ...stack.env, ...otel });
    await waitFor(async () => (await fetch(`${apiUrl}/healthz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 120_000,
      message: 'the API process did not start',
    });
  });
  afterAll(async () => {
    for (const p of [api, worker]) {
      p?.kill('SIGKILL');
      await p?.exited;
    }
    await stack?.close();
    await otlp?.close();
    await hooks?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a chunked voice job with a webhook: every span in the caller’s trace, parented as the job ran', async () => {
    // 40 s of speech: over TRANSCRIBE_CHUNK_SECONDS, so the transcribe stage fans out into chunk jobs.
    const audio = await loopWav(join(FIXTURES, 'question.wav'), join(dir, 'long.wav'), 40);
    const res = await fetch(`${apiUrl}/v1/jobs`, {
      method: 'POST',
      body: await fileForm(audio, { webhook_url: hooks.url }),
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const job = await waitForJob(apiUrl, id);
    expect(job.status).toBe('succeeded');
    await waitFor(() => hooks.received.length === 1, { timeoutMs: 120_000, message: 'no webhook' });
    const named = (name: string) => otlp.spans.filter((s) => s.name === name);
    // A parent span ends (and is exported) after its children: wait for the last of each kind.
    const last = ['webhook POST', 'deliver webhook', 'stage speak', 'POST /v1/jobs'];
    await waitFor(() => last.every((name) => named(name).length === 1), {
      timeoutMs: 120_000,
      message: 'the last spans were not exported',
    });

    const ofJob = otlp.spans.filter((s) => s.traceId === CALLER_TRACE);
    // One trace per job: every span of the worker is in it; the API's other traces are the test's own
    // polling requests (GET /healthz, GET /v1/jobs/{id}), each a request of its own.
    const others = otlp.spans.filter((s) => s.traceId !== CALLER_TRACE);
    expect(
      others.every((s) => s.service === 'voicebot-api' && s.kind === 2 && s.name.startsWith('GET ')),
    ).toBe(true);
    expect(others.map((s) => s.name)).toContain('GET /v1/jobs/:id');
    const byId = new Map(ofJob.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);

    // The API's request span continues the caller's trace.
    const [request] = named('POST /v1/jobs');
    expect(request).toMatchObject({
      service: 'voicebot-api',
      kind: 2,
      parentSpanId: CALLER_SPAN,
      attributes: { 'http.route': '/v1/jobs', 'http.response.status_code': 202 },
    });

    // Stages and the delivery, in the worker process, are children of the request span.
    const stages = ofJob.filter((s) => s.name.startsWith('stage '));
    expect(stages.map((s) => s.name).sort()).toEqual([
      'stage chat',
      'stage speak',
      'stage transcribe', // fans out, waits for its chunks
      'stage transcribe', // runs again to stitch them
    ]);
    for (const s of [...stages, ...named('deliver webhook')]) {
      expect(s.service).toBe('voicebot-worker');
      expect(s.kind).toBe(5);
      expect(s.parentSpanId).toBe(request?.spanId);
      expect(s.attributes['voicebot.job_id']).toBe(id);
    }
    const transcribeRuns = named('stage transcribe')
      .map((s) => s.attributes['voicebot.outcome'])
      .sort();
    expect(transcribeRuns).toEqual(['done', 'waiting_children']);
    const stitched = named('stage transcribe').find((s) => s.attributes['voicebot.outcome'] === 'done');
    expect(stitched?.attributes['voicebot.audio_seconds']).toBeCloseTo(40, 0);

    // Chunks: one span each, children of the request span, each with its transcription call under it.
    const chunks = named('transcribe chunk');
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.map((c) => c.attributes['voicebot.chunk.index']).sort()).toEqual(chunks.map((_, i) => i));
    for (const c of chunks) expect(c.parentSpanId).toBe(request?.spanId);
    const transcriptions = named('transcription whisper-1');
    expect(transcriptions).toHaveLength(chunks.length);
    for (const t of transcriptions) {
      expect(parentOf(t)?.name).toBe('transcribe chunk');
      expect(t).toMatchObject({ kind: 3, attributes: { 'gen_ai.request.model': 'whisper-1' } });
      expect(t.attributes['voicebot.audio_seconds']).toBeGreaterThan(5);
      expect(t.attributes['http.response.status_code']).toBe(200);
    }

    // Chat and speech calls under their stages, with what they used.
    const chat = ofJob.find((s) => s.attributes['gen_ai.operation.name'] === 'chat');
    expect(parentOf(chat as ReceivedSpan)?.name).toBe('stage chat');
    expect(chat?.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(chat?.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    const speech = ofJob.find((s) => s.attributes['gen_ai.operation.name'] === 'speech');
    expect(parentOf(speech as ReceivedSpan)?.name).toBe('stage speak');
    expect(speech?.attributes['voicebot.characters']).toBe(job.reply_text.length);

    // The webhook POST under its delivery: the receiver's host and answer.
    const [post] = named('webhook POST');
    expect(parentOf(post as ReceivedSpan)?.name).toBe('deliver webhook');
    expect(post).toMatchObject({ kind: 3, status: 0, attributes: { 'http.response.status_code': 200 } });
    expect(ofJob.filter((s) => s.status === 2)).toEqual([]);

    // Logs lead to the trace: the worker's lines about this job carry its trace id.
    const lines = worker.output
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.job_id === id);
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l.trace_id).toBe(CALLER_TRACE);
    const apiLines = api.output.filter((l) => l.includes(id) || l.includes('"path":"/v1/jobs"'));
    expect(apiLines.some((l) => l.includes(`"trace_id":"${CALLER_TRACE}"`))).toBe(true);
  });
});

describe('tracing switch (standard OTEL_* variables)', () => {
  it('is off unless an OTLP endpoint or a traces exporter is named', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe(
      false,
    );
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(
      true,
    );
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
  });

  it('stays off when told so, whatever else is set', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracingRequested({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingRequested({ ...endpoint, OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('while off, hands back the very processor and fetch it was given and stores no trace context', () => {
    const processor = async () => 'done';
    expect(tracedProcessor('stage chat', 'chat', async () => null, processor)).toBe(processor);
    expect(tracedFetch('chat', 'gpt-5.4-mini', fetch)).toBe(fetch);
    expect(currentTraceparent()).toBeNull();
  });
});
