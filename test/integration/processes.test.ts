import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { audioForm, fixture, getJob, postJob, readEvents, waitForJob } from '../support/http.ts';
import { freePort } from '../support/index.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

/** Workers run as separate processes here, so they can be killed; the API runs in the test process. */
describe('worker processes: crash recovery and graceful shutdown', () => {
  let stack: Stack;
  const workers: ServiceProcess[] = [];
  const startWorker = () => {
    const w = spawnService('worker', { ...stack.env, LOG_LEVEL: 'info' });
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    stack = await startStack({
      workers: false,
      simulator: { latencyMs: { chat: 1500 } },
      // Short locks so a killed worker's job is recovered within seconds, not half a minute.
      env: { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000', SHUTDOWN_TIMEOUT_MS: '10000' },
    });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(async () => stack?.close());

  it('a worker SIGKILLed mid-stage: the job is recovered, finishes once, repeats only the call in flight', async () => {
    stack.sim.reset();
    const first = startWorker();
    const { body } = await postJob(stack.url, audioForm(await fixture('question.wav')));
    await waitFor(() => stack.sim.stats().inFlight.chat === 1, {
      timeoutMs: 120_000,
      message: 'chat never started',
    });
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    startWorker();
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    // transcription is not repeated; chat repeats the one call that was in flight; speech runs once.
    expect(stack.sim.stats().calls).toEqual({ transcriptions: 1, chat: 2, speech: 1 });
    const events = await readEvents(stack.url, body.id);
    expect(events.filter((e) => e.type === 'job.succeeded')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'stage.completed' && e.stage === 'chat')).toHaveLength(1);
  });

  it('SIGTERM during work: the stage in flight finishes and the process exits 0', async () => {
    stack.sim.reset();
    const worker = startWorker();
    const { body } = await postJob(stack.url, { text: 'finish me before you go' });
    await waitFor(() => stack.sim.stats().inFlight.chat === 1, { timeoutMs: 120_000 });
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    // The chat call was not cut off: it completed and handed the job on to speak.
    const job = await getJob(stack.url, body.id);
    expect(job.reply_text).toContain('finish me before you go');
    expect(stack.sim.stats().calls.chat).toBe(1);
    expect(worker.output.join('\n')).toContain('"part":"workers"');
    // The next worker picks up where it left off.
    startWorker();
    expect((await waitForJob(stack.url, body.id)).status).toBe('succeeded');
    expect(stack.sim.stats().calls.chat).toBe(1);
  });
});

describe('API process: graceful shutdown', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ simulator: { latencyMs: { chat: 1500 } } });
  });
  afterAll(async () => stack?.close());

  it('SIGTERM: stops accepting, finishes the request in flight, exits 0', async () => {
    const port = await freePort();
    const api = spawnService('api', {
      ...stack.env,
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 120_000,
    });
    // The synchronous endpoint holds its request open until the job is done (~1.5 s of chat latency).
    const inFlight = fetch(`${base}/api/voicebot/`, {
      method: 'POST',
      body: new URLSearchParams({ text: 'still answered' }),
    });
    await waitFor(() => stack.sim.stats().inFlight.chat === 1, { timeoutMs: 120_000 });
    api.kill('SIGTERM');
    await waitFor(
      async () =>
        await fetch(`${base}/healthz`).then(
          () => false,
          () => true,
        ),
      {
        timeoutMs: 120_000,
        message: 'still accepting connections after SIGTERM',
      },
    );
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { return_text: string }).return_text).toContain('still answered');
    expect(await api.exited).toBe(0);
  });
});

describe('Redis restart mid-run (AOF, appendfsync always)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      redisOptions: { appendonly: true, killable: true },
      simulator: { latencyMs: 200 },
    });
  });
  afterAll(async () => stack?.close());

  it('answers 503 during the outage (never 500, never hangs) and loses no acknowledged job', async () => {
    const accepted: string[] = [];
    const submit = async (i: number) => {
      const res = await fetch(`${stack.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `job ${i}` }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
      return res.status;
    };
    for (let i = 0; i < 10; i++) expect(await submit(i)).toBe(202);

    await stack.redis.kill();
    const during: number[] = [];
    // a hang shows as the request's own 10 s abort (a thrown TimeoutError), not as a wall-clock sum
    for (let i = 10; i < 20; i++) during.push(await submit(i));
    expect(new Set(during)).toEqual(new Set([503]));
    const get = await fetch(`${stack.url}/v1/jobs/${accepted[0]}`, { signal: AbortSignal.timeout(10_000) });
    expect(get.status).toBe(503);
    expect(((await get.json()) as { code: string }).code).toBe('unavailable');

    await stack.redis.restart();
    await waitFor(async () => (await fetch(`${stack.url}/readyz`)).status === 200, { timeoutMs: 120_000 });
    for (let i = 20; i < 25; i++) expect(await submit(i)).toBe(202);

    // Workers reconnect with a capped backoff; on a loaded machine recovery can take a while — the property
    // under test is that every acknowledged job completes, not how fast.
    for (const id of accepted) {
      const job = await waitForJob(stack.url, id);
      expect(job.status, `job ${id}`).toBe('succeeded');
    }
    expect(accepted).toHaveLength(15);
  });
});
