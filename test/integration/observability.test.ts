/**
 * Operators across real processes: one job followed by its id through the API process and each worker
 * process's JSON logs (with the API request's id on every process's lines); a worker process's own /metrics
 * server; the Redis watchdog ending a worker that stays cut off from Redis.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { audioForm, fixture, type Job, waitForJob } from '../support/http.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { sampleValue, scrape } from '../support/prometheus.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const STAGES = ['transcribe', 'chat', 'speak'] as const;

/** The JSON log lines of a process that mention `text`. */
function linesWith(p: ServiceProcess, text: string): Array<Record<string, unknown>> {
  return p.output
    .filter((l) => l.includes(text))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { raw: l };
      }
    });
}

describe('one job, followed across the API and every worker process', () => {
  let stack: Stack;
  const procs: ServiceProcess[] = [];

  beforeAll(async () => {
    // The stack gives Redis, storage and the simulator; the API and the workers run as their own processes.
    stack = await startStack({ workers: false, simulator: { disableTools: ['pocketsphinx'] } });
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await stack?.close();
  });

  it('finds the job id in every process’s logs, with the API request id on the workers’ lines too', async () => {
    // Before any worker runs: /readyz reports every queue without workers, and is 503 only when told to be.
    for (const requireWorkers of [false, true]) {
      const app = createApp({
        ...stack.api.deps,
        config: { ...stack.config, readyRequiresWorkers: requireWorkers },
      });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
      const body = (await res.json()) as Job;
      server.close();
      expect(res.status).toBe(requireWorkers ? 503 : 200);
      expect(body.without_workers).toEqual(['transcribe', 'chat', 'speak', 'summarize', 'deliver']);
    }

    const apiPort = await freePort();
    const api = spawnService('api', {
      ...stack.env,
      LOG_LEVEL: 'info',
      PORT: String(apiPort),
      PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
    });
    procs.push(api);
    const metricsPorts: number[] = [];
    const workers: Record<string, ServiceProcess> = {};
    for (const stage of STAGES) {
      const port = await freePort();
      metricsPorts.push(port);
      workers[stage] = spawnService('worker', {
        ...stack.env,
        LOG_LEVEL: 'info',
        WORKER_STAGES: stage,
        METRICS_PORT: String(port),
      });
      procs.push(workers[stage]);
    }
    const base = `http://127.0.0.1:${apiPort}`;
    // Ready, with a worker on each stage (reported by /readyz from the queues' worker connections).
    await waitFor(
      async () => {
        const res = await fetch(`${base}/readyz`).catch(() => undefined);
        const body = (await res?.json().catch(() => undefined)) as Job | undefined;
        return STAGES.every((s) => (body?.checks?.workers?.[s] ?? 0) >= 1);
      },
      { timeoutMs: 120_000, message: 'API and workers did not come up' },
    );

    const reqId = `trace-${randomUUID()}`;
    const res = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'x-request-id': reqId },
      body: audioForm(await fixture('question.wav')),
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe(reqId);
    const { id } = (await res.json()) as Job;
    expect((await waitForJob(base, id)).status).toBe('succeeded');

    const apiLines = linesWith(api, id);
    expect(apiLines.length).toBeGreaterThan(0);
    expect(apiLines.some((l) => l.req_id === reqId && l.msg === 'job accepted')).toBe(true);
    for (const stage of STAGES) {
      // A worker logs "stage completed" just after recording it: its line may still be in the pipe.
      await waitFor(() => linesWith(workers[stage] as ServiceProcess, id).length > 0, {
        timeoutMs: 120_000,
        message: `no line of the ${stage} worker names job ${id}`,
      });
      const lines = linesWith(workers[stage] as ServiceProcess, id);
      expect(lines.length, `${stage} worker has lines with the job id`).toBeGreaterThan(0);
      expect(
        lines.some((l) => l.job_id === id && l.req_id === reqId && l.stage === stage),
        `${stage} worker's lines carry job_id and req_id`,
      ).toBe(true);
    }

    // Each worker process serves its own metrics: its stage ran once there.
    for (const [i, stage] of STAGES.entries()) {
      const metrics = await scrape(`http://127.0.0.1:${metricsPorts[i]}`);
      expect(
        sampleValue(metrics, 'voicebot_stage_duration_seconds_count', { stage, outcome: 'succeeded' }),
      ).toBe(1);
    }
  });
});

describe('Redis watchdog', () => {
  let stack: Stack;
  let redis: RedisHandle;
  let worker: ServiceProcess | undefined;
  let killed = false;

  beforeAll(async () => {
    redis = await startRedis({ killable: true });
    stack = await startStack({ redis, workers: false });
  });
  afterEach(() => worker?.kill('SIGKILL'));
  afterAll(async () => {
    // The stack's in-process API closes cleanly once its connections are back (its event reader waits on
    // Redis).
    if (killed) {
      await redis.restart();
      await waitFor(async () => (await fetch(`${stack.url}/readyz`)).status === 200, { timeoutMs: 120_000 });
    }
    await stack?.close();
    await redis?.stop();
  });

  it('ends a worker process (exit 1) that stays without Redis longer than REDIS_WATCHDOG_MS', async () => {
    const limitMs = 1500;
    worker = spawnService('worker', { ...stack.env, LOG_LEVEL: 'info', REDIS_WATCHDOG_MS: String(limitMs) });
    const started = (text: string) => worker?.output.some((l) => l.includes(text)) === true;
    await waitFor(() => started('redis watchdog armed') && started('stage workers started'), {
      timeoutMs: 120_000,
      message: 'worker did not start',
    });
    const killedAt = Date.now();
    killed = true;
    await redis.kill();
    const code = await Promise.race([
      worker.exited,
      new Promise<string>((r) => setTimeout(() => r('still running'), limitMs + 5_000)),
    ]);
    const elapsed = Date.now() - killedAt;
    expect(code).toBe(1);
    expect(elapsed).toBeGreaterThan(limitMs - 500);
    expect(elapsed).toBeLessThan(limitMs + 5_000);
    expect(worker.output.join('\n')).toContain('REDIS_WATCHDOG_MS');
  });
});
