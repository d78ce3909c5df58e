/**
 * Operators across real processes: one job followed by its id through the API process and each worker
 * process's JSON logs (with the API request's id on every process's lines); a worker process's own /metrics
 * server; the Redis watchdog ending a worker that stays cut off from Redis. And the parts behind them, alone:
 * Prometheus text, the price table, operator auth, log redaction, the watchdog's rule.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.ts';
import { adminAuth, presentedToken } from '../../src/api/middleware/admin-auth.ts';
import { ConfigError, loadConfig } from '../../src/shared/config.ts';
import type { HttpError } from '../../src/shared/errors.ts';
import { createLogger, REDACT_PATHS } from '../../src/shared/logger.ts';
import { metricsAuthorized, recordUsage, registry } from '../../src/shared/metrics.ts';
import { costOf, DEFAULT_PRICES, parsePriceTable } from '../../src/shared/prices.ts';
import type { RedisClient } from '../../src/shared/redis.ts';
import { startRedisWatchdog } from '../../src/worker/watchdog.ts';
import { audioForm, fixture, type Job, waitForJob } from '../support/http.ts';
import { freePort, type RedisHandle, startRedis } from '../support/index.ts';
import { parsePrometheusText, sampleValue, scrape } from '../support/prometheus.ts';
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

describe('Prometheus text', () => {
  it('the registry renders text the strict parser accepts, with HELP and TYPE for every family', async () => {
    recordUsage(
      DEFAULT_PRICES,
      { client: 'acme', stage: 'chat', model: 'gpt-5.4-mini' },
      { inputTokens: 1000 },
    );
    const families = parsePrometheusText(await registry.metrics());
    expect(families.get('voicebot_provider_tokens_total')?.type).toBe('counter');
    expect(families.get('voicebot_stage_duration_seconds')?.type).toBe('histogram');
    for (const f of families.values()) expect(f.help, f.name).toBeTruthy();
    expect(
      sampleValue(families, 'voicebot_provider_tokens_total', { client: 'acme', direction: 'input' }),
    ).toBe(1000);
    expect(sampleValue(families, 'voicebot_provider_cost_usd_total', { client: 'acme' })).toBeCloseTo(
      0.00075,
      8,
    );
  });

  it('the parser refuses what is not the format', () => {
    const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="a\\"b"} 2\n';
    expect(sampleValue(parsePrometheusText(ok), 'a_total', { y: 'a"b' })).toBe(2);
    expect(() => parsePrometheusText('b_total 1\n')).toThrow(/without a TYPE/);
    expect(() => parsePrometheusText('# TYPE a gauge\na{x=1} 2\n')).toThrow(/bad labels/);
    expect(() => parsePrometheusText('# TYPE a gauge\na twelve\n')).toThrow(/bad sample value/);
    expect(() => parsePrometheusText('# TYPE a nonsense\n')).toThrow(/bad TYPE/);
  });
});

describe('price table', () => {
  it('has defaults for the default models and estimates cost per unit', () => {
    const c = loadConfig({});
    for (const model of [c.providers.transcribe.model, c.providers.chat.model, c.providers.speak.model])
      expect(c.metrics.prices[model], model).toBeDefined();
    expect(costOf(DEFAULT_PRICES, 'gpt-4o-mini-transcribe', { audioSeconds: 120 })).toBeCloseTo(0.006);
    expect(costOf(DEFAULT_PRICES, 'gpt-4o-mini-tts', { characters: 1_000_000 })).toBeCloseTo(15);
    expect(costOf(DEFAULT_PRICES, 'unknown-model', { inputTokens: 1e6 })).toBe(0);
  });

  it('PRICE_TABLE replaces or adds models; a bad one stops the configuration', () => {
    const prices = parsePriceTable(
      '{"my-model":{"usd_per_1m_input_tokens":1},"whisper-1":{"usd_per_audio_minute":0.01}}',
    );
    expect(prices['my-model']).toEqual({ usd_per_1m_input_tokens: 1 });
    expect(prices['whisper-1']).toEqual({ usd_per_audio_minute: 0.01 });
    expect(prices['gpt-4o-mini-tts']).toBeDefined();
    expect(() => loadConfig({ PRICE_TABLE: 'nope' })).toThrow(ConfigError);
    expect(() => loadConfig({ PRICE_TABLE: '{"m":{"usd_per_minute":1}}' })).toThrow(/PRICE_TABLE/);
  });
});

describe('operator auth', () => {
  it('reads the admin token from bearer or basic auth (any user)', () => {
    expect(presentedToken('Bearer abc')).toBe('abc');
    expect(presentedToken(`Basic ${Buffer.from('ops:s3cr:et').toString('base64')}`)).toBe('s3cr:et');
    expect(presentedToken(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined();
    expect(presentedToken(undefined)).toBeUndefined();
  });

  it('without ADMIN_TOKEN the dashboard is open in development only', () => {
    const req = (authorization?: string) => ({ get: () => authorization }) as unknown as Request;
    const run = (mw: RequestHandler, r: Request) => {
      let passed = false;
      try {
        mw(r, {} as Response, () => {
          passed = true;
        });
      } catch (err) {
        return (err as HttpError).status;
      }
      return passed ? 'next' : 'nothing';
    };
    expect(run(adminAuth({ token: undefined, env: 'development' }), req())).toBe('next');
    for (const env of ['production', 'test'])
      expect(run(adminAuth({ token: undefined, env }), req())).toBe(403);
    const guarded = adminAuth({ token: 't0k', env: 'development' });
    expect(run(guarded, req())).toBe(401);
    expect(run(guarded, req('Bearer nope'))).toBe(401);
    expect(run(guarded, req('Bearer t0k'))).toBe('next');
    expect(run(guarded, req(`Basic ${Buffer.from('x:t0k').toString('base64')}`))).toBe('next');
  });

  it('metrics are open without METRICS_TOKEN and want the bearer token with it', () => {
    expect(metricsAuthorized(undefined, undefined)).toBe(true);
    expect(metricsAuthorized('Bearer t0k', 't0k')).toBe(true);
    expect(metricsAuthorized('Bearer nope', 't0k')).toBe(false);
    expect(metricsAuthorized(undefined, 't0k')).toBe(false);
  });
});

describe('logs', () => {
  it('redacts authorization headers, API keys, webhook secrets and signed URLs', () => {
    const lines: string[] = [];
    const log = pino(
      { redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      { write: (line: string) => void lines.push(line) },
    );
    log.info(
      {
        req: { headers: { authorization: 'Bearer sk-live-1' } },
        headers: { authorization: 'Basic b3BzOnM=' },
        apiKey: 'sk-2',
        api_key: 'sk-3',
        webhook_secret: 'whsec_x',
        secrets: ['whsec_y'],
        audio_url: 'https://bucket.s3/reply.mp3?X-Amz-Signature=abc',
        job: { output_wav_url: 'http://h/files/x?sig=1', artifacts: { transcript_txt: 'http://h?sig=2' } },
      },
      'check',
    );
    const text = lines.join('');
    expect(text).toContain('"msg":"check"');
    for (const secret of [
      'sk-live-1',
      'b3BzOnM=',
      'sk-2',
      'sk-3',
      'whsec_x',
      'whsec_y',
      'X-Amz-Signature',
      'sig=1',
      'sig=2',
    ])
      expect(text, secret).not.toContain(secret);
  });
});

describe('Redis watchdog, on a scripted connection (its limit, to the millisecond of the rule)', () => {
  const quiet = createLogger({ level: 'silent', env: 'test' });
  const fakeRedis = (up: () => boolean) =>
    ({
      status: 'ready',
      ping: async () => (up() ? 'PONG' : Promise.reject(new Error('down'))),
    }) as unknown as RedisClient;

  it('ends the process once Redis stays unreachable longer than the limit, not before', async () => {
    let up = true;
    let expiredAt = 0;
    const dog = startRedisWatchdog(
      fakeRedis(() => up),
      300,
      quiet,
      () => {
        expiredAt = Date.now();
      },
    );
    await new Promise((r) => setTimeout(r, 200));
    const downAt = Date.now();
    up = false;
    await new Promise((r) => setTimeout(r, 700));
    dog.stop();
    expect(expiredAt - downAt).toBeGreaterThanOrEqual(200);
    expect(expiredAt - downAt).toBeLessThan(600);
  });

  it('a short outage is forgiven', async () => {
    let up = true;
    let expired = false;
    const dog = startRedisWatchdog(
      fakeRedis(() => up),
      400,
      quiet,
      () => {
        expired = true;
      },
    );
    up = false;
    await new Promise((r) => setTimeout(r, 200));
    up = true;
    await new Promise((r) => setTimeout(r, 500));
    dog.stop();
    expect(expired).toBe(false);
  });
});
