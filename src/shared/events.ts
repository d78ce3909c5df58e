/**
 * Job events across processes, on Redis streams:
 * - `<prefix>:job:<id>:events` holds one job's events (capped, expiring) so a client can resume with Last-Event-ID;
 * - `<prefix>:events` carries every event once more, read by ONE blocking reader per process (`EventHub`),
 *   which fans out to in-process listeners (SSE streams, the synchronous endpoint's waits, cancellations).
 * Both keys share the prefix's hash tag, so the MULTI works on Redis Cluster.
 */
import type { RedisClient } from './redis.ts';

export const EVENT_TYPES = [
  'job.queued',
  'stage.started',
  'stage.completed',
  'stage.retrying',
  'job.succeeded',
  'job.failed',
  'job.canceled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const TERMINAL_EVENTS: ReadonlySet<EventType> = new Set([
  'job.succeeded',
  'job.failed',
  'job.canceled',
]);

export interface JobEvent {
  /** Stream id in the job's own stream: the SSE event id. */
  id: string;
  jobId: string;
  type: EventType;
  data: Record<string, unknown>;
}

const JOB_STREAM_MAX = 200;
const GLOBAL_STREAM_MAX = 10_000;

export const jobStreamKey = (prefix: string, jobId: string) => `${prefix}:job:${jobId}:events`;
export const globalStreamKey = (prefix: string) => `${prefix}:events`;

/** Appends an event to the job's stream and to the global stream. */
export async function publishEvent(
  redis: RedisClient,
  prefix: string,
  ttlSeconds: number,
  jobId: string,
  type: EventType,
  data: Record<string, unknown> = {},
): Promise<string> {
  const body = JSON.stringify(data);
  const key = jobStreamKey(prefix, jobId);
  const id = (await redis.xadd(
    key,
    'MAXLEN',
    '~',
    JOB_STREAM_MAX,
    '*',
    'type',
    type,
    'data',
    body,
  )) as string;
  await redis
    .multi()
    .expire(key, ttlSeconds)
    .xadd(
      globalStreamKey(prefix),
      'MAXLEN',
      '~',
      GLOBAL_STREAM_MAX,
      '*',
      'job',
      jobId,
      'id',
      id,
      'type',
      type,
      'data',
      body,
    )
    .exec();
  return id;
}

/** A job's events after `afterId` (exclusive), oldest first. */
export async function readJobEvents(
  redis: RedisClient,
  prefix: string,
  jobId: string,
  afterId = '-',
): Promise<JobEvent[]> {
  const start = afterId === '-' ? '-' : `(${afterId}`;
  const rows = await redis.xrange(jobStreamKey(prefix, jobId), start, '+');
  return rows.map(([id, fields]) => toEvent(jobId, id, fields));
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function toEvent(jobId: string, id: string, fields: string[]): JobEvent {
  return {
    id,
    jobId,
    type: field(fields, 'type') as EventType,
    data: JSON.parse(field(fields, 'data') ?? '{}') as Record<string, unknown>,
  };
}

export type EventListener = (event: JobEvent) => void;

/** One blocking reader of the global stream per process, fanning events out to listeners by job id. */
export class EventHub {
  private readonly listeners = new Map<string, Set<EventListener>>();
  private readonly anyListeners = new Set<EventListener>();
  private lastId = '$';
  private running = false;
  private loop: Promise<void> | undefined;
  readonly redis: RedisClient;
  readonly prefix: string;

  /** `redis` must be a dedicated connection: XREAD BLOCK holds it. */
  constructor(redis: RedisClient, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Pin the start position now, so events published right after start() returns are not missed.
    const last = await this.redis
      .xrevrange(globalStreamKey(this.prefix), '+', '-', 'COUNT', 1)
      .catch(() => []);
    this.lastId = last[0]?.[0] ?? '0-0';
    this.loop = this.run();
  }

  subscribe(jobId: string, fn: EventListener): () => void {
    const set = this.listeners.get(jobId) ?? new Set<EventListener>();
    this.listeners.set(jobId, set);
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  /** Every event of every job (workers use it to hear cancellations). */
  subscribeAll(fn: EventListener): () => void {
    this.anyListeners.add(fn);
    return () => this.anyListeners.delete(fn);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    // A read queued while Redis is away may never settle: do not let shutdown wait on it.
    await Promise.race([this.loop?.catch(() => {}), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const res = (await this.redis.xread(
          'COUNT',
          500,
          'BLOCK',
          5_000,
          'STREAMS',
          globalStreamKey(this.prefix),
          this.lastId,
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of res ?? []) {
          for (const [globalId, fields] of entries) {
            this.lastId = globalId;
            const jobId = field(fields, 'job') ?? '';
            const event = toEvent(jobId, field(fields, 'id') ?? globalId, fields);
            for (const fn of this.listeners.get(jobId) ?? []) fn(event);
            for (const fn of this.anyListeners) fn(event);
          }
        }
      } catch {
        if (!this.running) return;
        // Redis is away; ioredis reconnects. Resume from lastId so no event is skipped.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
