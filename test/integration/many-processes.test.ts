/**
 * Scale-out: 2 API processes and 3 worker processes (real `node src/{api,worker}/main.ts` processes) on one
 * Redis, requests spread round-robin over the two APIs. Nothing a request needs lives in one process: a job
 * submitted to one API is followed (SSE), awaited (the synchronous endpoint) and read from the other; an
 * Idempotency-Key sent to both APIs makes one job; the rate limit is one counter across both.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/shared/api-keys.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { REAL_ENGINES } from '../../src/simulator/types.ts';
import { audioForm, fixture, type Job, readEvents } from '../support/http.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { waitFor } from '../support/wait-for.ts';

const RPM = 60;

describe('2 API processes and 3 worker processes on one Redis', () => {
  let redis: RedisHandle;
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let dataDir: string;
  const apis: string[] = [];
  const procs: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  /** client A runs the jobs; client B is spent on the rate limit */
  const auth = { a: {} as Record<string, string>, b: {} as Record<string, string> };
  let turn = 0;
  /** The next API, round-robin. */
  const next = () => apis[turn++ % apis.length] as string;

  beforeAll(async () => {
    redis = await startRedis();
    // Orchestration across processes is the subject, not recognition: the cheap deterministic engines.
    sim = await startSimulator({ latencyMs: 150, disableTools: [...REAL_ENGINES] });
    dataDir = await mkdtemp(join(tmpdir(), 'vb-many-'));
    const prefix = `{${redis.prefix}}`;
    // Keys exist before the APIs start: from the first request on, every request needs one.
    const admin = new Redis(redis.url);
    const keys = new ApiKeys(admin, prefix);
    auth.a = { authorization: `Bearer ${(await keys.create({ name: 'jobs' })).key}` };
    auth.b = { authorization: `Bearer ${(await keys.create({ name: 'limits' })).key}` };
    admin.disconnect();
    const base: Record<string, string> = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...redis.env(),
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: `${sim.url}/v1`,
      STAGE_BACKOFF_MS: '50',
      SYNC_WAIT_SECONDS: '30',
      RATE_LIMIT_RPM: String(RPM),
      METRICS_PORT: '0',
    };
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      procs.push(
        spawnService('api', { ...base, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` }),
      );
      apis.push(`http://127.0.0.1:${port}`);
    }
    // One worker runs every stage, the others one part each — as the per-stage deployments do.
    for (const stages of ['transcribe,chat,speak,summarize', 'transcribe', 'chat,speak']) {
      const w = spawnService('worker', { ...base, WORKER_STAGES: stages });
      workers.push(w);
      procs.push(w);
    }
    for (const url of apis)
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true, {
        timeoutMs: 120_000,
        message: `${url} ready`,
      });
    await waitFor(() => workers.every((w) => w.output.some((l) => l.includes('stage workers started'))), {
      timeoutMs: 120_000,
      message: 'workers started',
    });
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await sim?.close();
    await redis?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Waits on the job's event stream (one request), then reads it — from two different APIs. */
  async function finished(id: string): Promise<Job> {
    await readEvents(next(), id, auth.a);
    return (await (await fetch(`${next()}/v1/jobs/${id}`, { headers: auth.a })).json()) as Job;
  }

  it('a real WAV submitted to one API runs through every stage on the workers and reads back from the other', async () => {
    const submitTo = next();
    const wav = await fixture('question.wav');
    const res = await fetch(`${submitTo}/v1/jobs`, {
      method: 'POST',
      headers: auth.a,
      body: audioForm(wav),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Job;
    const job = await finished(id);
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    // The deterministic engine names the bytes it heard: exactly the uploaded WAV reached the provider.
    const sha = createHash('sha256').update(wav).digest('hex').slice(0, 16);
    expect(job.transcript).toBe(`[simulated transcript of ${wav.length} bytes, sha256 ${sha}]`);
    expect(job.reply_text).toContain(job.transcript);
    expect((await fetch(job.audio_url)).status).toBe(200);
  });

  it('SSE from API 1 follows a job submitted to API 2, every stage in order', async () => {
    const res = await fetch(`${apis[1]}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth.a, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'followed from the other process' }),
    });
    const { id } = (await res.json()) as Job;
    const events = await readEvents(apis[0] as string, id, auth.a);
    expect(events.map((e) => (e.stage ? `${e.type}:${e.stage}` : e.type))).toEqual([
      'job.queued',
      'stage.started:chat',
      'stage.completed:chat',
      'stage.started:speak',
      'stage.completed:speak',
      'job.succeeded',
    ]);
  });

  it('the synchronous endpoint answers on either API while any worker does the work', async () => {
    for (const api of apis) {
      const res = await fetch(`${api}/api/voicebot/`, {
        method: 'POST',
        headers: auth.a,
        body: new URLSearchParams({ text: `sync via ${api}` }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { output_wav_url: string; return_text: string };
      expect(body.return_text).toContain(`sync via ${api}`);
      expect((await fetch(body.output_wav_url)).status).toBe(200);
    }
  });

  it('one Idempotency-Key sent to both APIs at once makes one job; a different body is refused by either', async () => {
    const headers = { ...auth.a, 'content-type': 'application/json', 'idempotency-key': 'many-proc-1' };
    const body = JSON.stringify({ text: 'only once' });
    const answers = await Promise.all(
      apis.map((api) => fetch(`${api}/v1/jobs`, { method: 'POST', headers, body })),
    );
    const jobs = await Promise.all(
      answers.map(async (r) => ({ status: r.status, job: (await r.json()) as Job })),
    );
    // One created it; the other replayed it, or — when it arrived while the first was mid-way — said so (409).
    const created = jobs.filter((j) => j.status === 202);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((j) => j.job.id)).size).toBe(1);
    const id = created[0]?.job.id as string;
    for (const api of apis) {
      const again = await fetch(`${api}/v1/jobs`, { method: 'POST', headers, body });
      expect(again.status).toBe(202);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(((await again.json()) as Job).id).toBe(id);
      const other = await fetch(`${api}/v1/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ text: 'something else' }),
      });
      expect(other.status).toBe(409);
    }
    expect((await finished(id)).status).toBe('succeeded');
    const list = (await (await fetch(`${next()}/v1/jobs?limit=100`, { headers: auth.a })).json()) as {
      data: Job[];
    };
    expect(list.data.filter((j) => j.transcript === 'only once').map((j) => j.id)).toEqual([id]);
  });

  it('the rate limit is one counter across both APIs', async () => {
    const statuses: Array<{ api: number; status: number }> = [];
    for (let i = 0; i < RPM + 10; i++) {
      const api = i % 2;
      const res = await fetch(`${apis[api]}/v1/jobs?limit=1`, { headers: auth.b });
      await res.arrayBuffer();
      statuses.push({ api, status: res.status });
    }
    const ok = statuses.filter((s) => s.status === 200);
    const limited = statuses.filter((s) => s.status === 429);
    expect(ok).toHaveLength(RPM);
    expect(limited).toHaveLength(10);
    // Both processes enforced the shared counter: each answered some of the 429s.
    expect(new Set(limited.map((s) => s.api))).toEqual(new Set([0, 1]));
  });

  it('work spreads over the worker processes', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${next()}/v1/jobs`, {
        method: 'POST',
        headers: { ...auth.a, 'content-type': 'application/json' },
        body: JSON.stringify({ text: `spread ${i}` }),
      });
      ids.push(((await res.json()) as Job).id);
    }
    for (const id of ids) expect((await finished(id)).status).toBe('succeeded');
    const ran = workers.map((w) => ids.filter((id) => w.output.some((l) => l.includes(id))).length);
    // The chat+speak work was shared by the all-stages worker and the chat,speak worker.
    expect(ran.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  });
});
