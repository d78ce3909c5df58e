/**
 * Every Prometheus metric of the service, in one registry. The API serves it at `/metrics`; a worker process
 * (`npm run worker`) on its own port (`METRICS_PORT`); the embedded `npm start` process has one registry for
 * both. Labels are bounded: stage, queue, state, outcome, error class, method, route template, status class,
 * client and model — never a job id or a raw path.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type Job,
  type Processor,
  type Queue,
  RateLimitError,
  UnrecoverableError,
  WaitingChildrenError,
} from 'bullmq';
import client from 'prom-client';
import { classifyProviderError, type ErrorClass, errorClass } from './errors.ts';
import type { Stage } from './pipelines.ts';
import { costOf, type PriceTable, type Usage } from './prices.ts';
import { oldestWaitingSeconds } from './queue-age.ts';
import type { RedisClient } from './redis.ts';
import { tracedFetch } from './tracing.ts';

export const registry = new client.Registry();
// The event-loop delay histogram samples once a second: at the default 10 ms its timer woke every process 100
// times a second, most of an idle process's CPU (0.22 s a minute of npm start's 0.24). A loop blocked for
// long still shows; `nodejs_eventloop_lag_seconds` is measured at scrape time either way.
client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** BullMQ job states reported per queue. */
export const QUEUE_STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'waiting-children',
  'completed',
  'failed',
] as const;

/** The queues whose depth is reported at scrape time (set by the process that serves /metrics). */
let watched: Queue[] = [];
let watchedRedis: RedisClient | undefined;

/** Reports these queues' depth, age and workers on every scrape; returns a function that stops it. */
export function watchQueues(queues: Queue[], redis: RedisClient): () => void {
  watched = queues;
  watchedRedis = redis;
  lastRead = undefined;
  return () => {
    if (watched === queues) watched = [];
  };
}

interface QueueSnapshot {
  ok: boolean;
  counts: Array<[string, Record<string, number>]>;
  workers: Array<[string, number]>;
  oldest: Array<[string, number]>;
}

/** One read of every watched queue per scrape, shared by the queue gauges below. */
let lastRead: { at: number; snapshot: Promise<QueueSnapshot> } | undefined;
function readQueues(): Promise<QueueSnapshot> {
  if (lastRead && Date.now() - lastRead.at < 1000) return lastRead.snapshot;
  const queues = watched;
  const redis = watchedRedis;
  const snapshot = (async (): Promise<QueueSnapshot> => {
    const [counts, workers, oldest] = await Promise.all([
      Promise.allSettled(queues.map((q) => withTimeout(q.getJobCounts(...QUEUE_STATES), 3000))),
      Promise.allSettled(queues.map((q) => withTimeout(q.getWorkersCount(), 3000))),
      Promise.allSettled(
        queues.map((q) =>
          redis ? withTimeout(oldestWaitingSeconds(redis, q), 3000) : Promise.reject(new Error('no redis')),
        ),
      ),
    ]);
    const out: QueueSnapshot = {
      ok: counts.every((c) => c.status === 'fulfilled'),
      counts: [],
      workers: [],
      oldest: [],
    };
    for (const [i, q] of queues.entries()) {
      const c = counts[i];
      const w = workers[i];
      const o = oldest[i];
      if (c?.status === 'fulfilled') out.counts.push([q.name, c.value]);
      if (w?.status === 'fulfilled') out.workers.push([q.name, w.value]);
      if (o?.status === 'fulfilled') out.oldest.push([q.name, o.value]);
    }
    return out;
  })();
  lastRead = { at: Date.now(), snapshot };
  return snapshot;
}

new client.Gauge({
  name: 'voicebot_queue_metrics_up',
  help: '1 when this scrape could read every queue from Redis, else 0',
  registers: [registry],
  async collect() {
    this.set(watched.length > 0 && (await readQueues()).ok ? 1 : 0);
  },
});

new client.Gauge({
  name: 'voicebot_queue_jobs',
  help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (watched.length === 0) return;
    for (const [queue, counts] of (await readQueues()).counts)
      for (const state of QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
  },
});

new client.Gauge({
  name: 'voicebot_queue_oldest_waiting_seconds',
  help: 'How long the oldest job waiting in each BullMQ queue (wait or prioritized, not delayed) has waited, read at scrape time; 0 when none waits',
  labelNames: ['queue'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (watched.length === 0) return;
    for (const [queue, seconds] of (await readQueues()).oldest) this.set({ queue }, seconds);
  },
});

/** Reads how far the retention sweep is behind (set by the process that serves /metrics). */
let retentionOverdue: (() => Promise<number>) | undefined;

/** Reports the retention sweep's lag on every scrape: `read` answers the seconds it is behind. */
export function watchRetention(read: () => Promise<number>): void {
  retentionOverdue = read;
}

new client.Gauge({
  name: 'voicebot_retention_overdue_seconds',
  help: 'How long ago the oldest ended job still listed for the retention sweep passed its retention period (0: the sweep is up to date; it runs hourly)',
  registers: [registry],
  async collect() {
    if (!retentionOverdue) return;
    this.set(await withTimeout(retentionOverdue(), 3000).catch(() => 0));
  },
});

export const jobsEnded = new client.Counter({
  name: 'voicebot_jobs_ended_total',
  help: 'Jobs that ended, by status (succeeded, failed, canceled) and error code (empty unless failed)',
  labelNames: ['status', 'code'] as const,
  registers: [registry],
});

new client.Gauge({
  name: 'voicebot_queue_workers',
  help: 'Worker connections listening on each BullMQ queue (all processes), read at scrape time',
  labelNames: ['queue'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (watched.length === 0) return;
    for (const [queue, n] of (await readQueues()).workers) this.set({ queue }, n);
  },
});

export const stageDuration = new client.Histogram({
  name: 'voicebot_stage_duration_seconds',
  help: 'One run of a stage job, by outcome (succeeded, retry, failed, rate_limited, canceled, skipped, waiting)',
  labelNames: ['stage', 'outcome'] as const,
  buckets: DURATION_BUCKETS,
  registers: [registry],
});

export const stageRetries = new client.Counter({
  name: 'voicebot_stage_retries_total',
  help: 'Stage attempts that failed and will be retried, by error class',
  labelNames: ['stage', 'class'] as const,
  registers: [registry],
});

export const stalledJobs = new client.Counter({
  name: 'voicebot_stalled_jobs_total',
  help: 'Jobs whose worker stopped while running them (lock expired) and were taken over',
  labelNames: ['queue'] as const,
  registers: [registry],
});

export const providerDuration = new client.Histogram({
  name: 'voicebot_provider_request_duration_seconds',
  help: 'Provider HTTP requests, until the response headers, by outcome (ok or the error class)',
  labelNames: ['stage', 'outcome'] as const,
  buckets: DURATION_BUCKETS,
  registers: [registry],
});

export const providerErrors = new client.Counter({
  name: 'voicebot_provider_errors_total',
  help: 'Failed provider requests by error class (rate_limited, server, client, timeout, connection, canceled)',
  labelNames: ['stage', 'class'] as const,
  registers: [registry],
});

export const webhookDeliveries = new client.Counter({
  name: 'voicebot_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome (delivered, retry, failed, gone)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Ids the maintenance sweep found in a client's in-flight set with no record behind them, and freed. */
export const orphansFreed = new client.Counter({
  name: 'voicebot_orphans_freed_total',
  help: 'Job ids freed from a client in-flight set by the maintenance sweep because their record was gone',
  registers: [registry],
});

export const httpDuration = new client.Histogram({
  name: 'voicebot_http_request_duration_seconds',
  help: 'HTTP requests to the API by method, route template and status class',
  labelNames: ['method', 'route', 'status_class'] as const,
  buckets: HTTP_BUCKETS,
  registers: [registry],
});

const usageLabels = ['client', 'stage', 'model'] as const;
export const audioSeconds = new client.Counter({
  name: 'voicebot_provider_audio_seconds_total',
  help: 'Seconds of audio transcribed',
  labelNames: usageLabels,
  registers: [registry],
});
export const tokens = new client.Counter({
  name: 'voicebot_provider_tokens_total',
  help: 'Chat and summary tokens, by direction (input, output)',
  labelNames: [...usageLabels, 'direction'] as const,
  registers: [registry],
});
export const characters = new client.Counter({
  name: 'voicebot_provider_characters_total',
  help: 'Characters sent to speech synthesis',
  labelNames: usageLabels,
  registers: [registry],
});
export const costUsd = new client.Counter({
  name: 'voicebot_provider_cost_usd_total',
  help: 'Estimated provider cost in USD from the price table (PRICE_TABLE)',
  labelNames: usageLabels,
  registers: [registry],
});

/** Whether usage and cost series carry the `client` label (METRICS_CLIENT_LABELS). */
let clientLabels = true;

/**
 * METRICS_CLIENT_LABELS=false: usage and cost series are counted per stage and model only, so a scraper shared
 * between customers cannot read one client's volume and spend. Set once at boot, before any usage is counted.
 */
export function setClientLabels(enabled: boolean): void {
  clientLabels = enabled;
}

/** Counts what one provider call (or one transcription) used, and its estimated cost. */
export function recordUsage(
  prices: PriceTable,
  withClient: { client: string; stage: Stage; model: string },
  usage: Usage,
): void {
  const labels: { client?: string; stage: Stage; model: string } = clientLabels
    ? withClient
    : { stage: withClient.stage, model: withClient.model };
  if (usage.audioSeconds) audioSeconds.inc(labels, usage.audioSeconds);
  if (usage.inputTokens) tokens.inc({ ...labels, direction: 'input' }, usage.inputTokens);
  if (usage.outputTokens) tokens.inc({ ...labels, direction: 'output' }, usage.outputTokens);
  if (usage.characters) characters.inc(labels, usage.characters);
  const cost = costOf(prices, withClient.model, usage);
  // Always touched, so a model missing from the price table shows up as a 0 series instead of nothing.
  costUsd.inc(labels, cost);
}

/** The job a provider call is made for: set by the stage runner around the stage function. */
export interface ProviderCallContext {
  clientId: string;
  stage: Stage;
  signal: AbortSignal;
}
export const providerContext = new AsyncLocalStorage<ProviderCallContext>();

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The error class of a provider HTTP status, as `errorClass` in errors.ts names it. */
function statusClass(status: number): ErrorClass {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  return 'client';
}

/**
 * The openai SDK's `fetch` for one stage: times every provider request, counts errors by class, and reads
 * usage — tokens from chat completions' `usage`, characters from a speech request's `input`. (Transcribed
 * audio seconds are counted by the stage runner from the transcript's duration.)
 */
export function instrumentedFetch(
  stage: Stage,
  model: string,
  prices: PriceTable,
  base: Fetch = fetch,
): Fetch {
  const send = tracedFetch(stage, model, base); // a span per call when tracing is on
  return async (input, init) => {
    const ctx = providerContext.getStore();
    const labels = { client: ctx?.clientId ?? 'unknown', stage, model };
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const started = performance.now();
    let res: Response;
    try {
      res = await send(input, init);
    } catch (err) {
      const cls: ErrorClass = ctx?.signal.aborted
        ? 'canceled'
        : (err as Error)?.name === 'AbortError' || (err as Error)?.name === 'TimeoutError'
          ? 'timeout'
          : errorClass(classifyProviderError(err, stage));
      providerDuration.observe({ stage, outcome: cls }, (performance.now() - started) / 1000);
      providerErrors.inc({ stage, class: cls });
      throw err;
    }
    const outcome = res.ok ? 'ok' : statusClass(res.status);
    providerDuration.observe({ stage, outcome }, (performance.now() - started) / 1000);
    if (!res.ok) {
      providerErrors.inc({ stage, class: outcome });
      return res;
    }
    try {
      if (url.includes('/audio/speech') && typeof init?.body === 'string') {
        const text = (JSON.parse(init.body) as { input?: unknown }).input;
        if (typeof text === 'string') recordUsage(prices, labels, { characters: text.length });
      } else if (url.includes('/chat/completions') && res.headers.get('content-type')?.includes('json')) {
        const body = (await res.clone().json()) as {
          usage?: { prompt_tokens?: number; completion_tokens?: number };
        };
        recordUsage(prices, labels, {
          inputTokens: body.usage?.prompt_tokens ?? 0,
          outputTokens: body.usage?.completion_tokens ?? 0,
        });
      }
    } catch {
      // Usage is best effort: never fail a provider call over a metric.
    }
    return res;
  };
}

/**
 * Wraps a stage processor: times each run and labels it with its outcome; counts retries by error class.
 * The processor's own contract is unchanged (same return value, same errors).
 */
export function timedProcessor<R>(stage: Stage, processor: Processor<unknown, R>): Processor<unknown, R> {
  return async (job: Job, token?: string, signal?: AbortSignal) => {
    const started = performance.now();
    const observe = (outcome: string) =>
      stageDuration.observe({ stage, outcome }, (performance.now() - started) / 1000);
    try {
      const result = await processor(job, token, signal);
      observe(result === 'skipped' ? (signal?.aborted ? 'canceled' : 'skipped') : 'succeeded');
      return result;
    } catch (err) {
      if (err instanceof WaitingChildrenError) observe('waiting');
      else if (err instanceof RateLimitError) observe('rate_limited');
      else if (err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1))
        observe('failed');
      else {
        observe('retry');
        stageRetries.inc({ stage, class: errorClass(err) });
      }
      throw err;
    }
  };
}

/** `METRICS_TOKEN` unset: anyone may scrape; set: `Authorization: Bearer <token>` (compared in constant time). */
export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return given.length > 0 && timingSafeEqual(a, b);
}

/** The registry in Prometheus text format. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
