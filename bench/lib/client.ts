/**
 * The benchmark's client side: WAV bodies, job submission over HTTP, and completion watchers that hear
 * a job end from Redis (no polling): the service's event stream, or BullMQ's own events for the baseline.
 */
import { Agent, request } from 'node:http';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { wavHeader } from './wav-stream.ts';

/** A complete PCM WAV of `totalBytes` (16 kHz mono 16-bit, a quiet sine). */
export function wavFile(totalBytes: number): Buffer {
  const data = Buffer.alloc(totalBytes - 44);
  for (let i = 0; i + 1 < data.length; i += 2) data.writeInt16LE(Math.round(Math.sin(i / 20) * 8000), i);
  return Buffer.concat([wavHeader(data.length), data]);
}

/** A multipart/form-data body with one file part. */
export function multipart(field: string, filename: string, type: string, content: Buffer) {
  const boundary = `----vbbench${Math.random().toString(36).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface HttpResult {
  status: number;
  body: string;
  /** 'timeout' when `timeoutMs` passed, 'error' on a connection error (status 0 in both cases). */
  failure?: 'timeout' | 'error';
  error?: string;
}

export const keepAliveAgent = (maxSockets: number) => new Agent({ keepAlive: true, maxSockets });

/** One HTTP request with a whole-exchange time limit. Never rejects: failures are in the result. */
export function httpRequest(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string | number>;
    body?: Buffer;
    agent?: Agent;
    timeoutMs?: number;
  } = {},
): Promise<HttpResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: { ...opts.headers, ...(opts.body ? { 'content-length': opts.body.length } : {}) },
        agent: opts.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', (err) => done({ status: 0, body: '', failure: 'error', error: err.message }));
      },
    );
    const timer = setTimeout(() => {
      done({ status: 0, body: '', failure: 'timeout' });
      req.destroy();
    }, opts.timeoutMs ?? 60_000);
    req.on('error', (err) => done({ status: 0, body: '', failure: 'error', error: err.message }));
    req.end(opts.body);
  });
}

/** POST `body` and return the job id from a 2xx JSON answer `{id}` (throws otherwise). */
export async function submit(
  url: string,
  form: { body: Buffer; contentType: string },
  agent: Agent,
): Promise<string> {
  const r = await httpRequest(url, {
    method: 'POST',
    headers: { 'content-type': form.contentType },
    body: form.body,
    agent,
  });
  if (r.status < 200 || r.status >= 300)
    throw new Error(
      `POST ${url} → ${r.status} ${r.failure ?? ''} ${r.error ?? ''} ${r.body.slice(0, 300)}`.trim(),
    );
  return (JSON.parse(r.body) as { id: string }).id;
}

export interface Done {
  ok: boolean;
  /** performance.now() when the benchmark heard of it. */
  at: number;
  type: string;
}

export interface Watcher {
  /** Resolves when job `id` has ended (or reached `event`, when the watcher was made for one). */
  wait(id: string): Promise<Done>;
  close(): Promise<void>;
}

class Waits {
  readonly done = new Map<string, Done>();
  readonly waiting = new Map<string, (d: Done) => void>();
  settle(id: string, d: Done) {
    const w = this.waiting.get(id);
    if (w) {
      this.waiting.delete(id);
      w(d);
    } else this.done.set(id, d);
  }
  wait(id: string): Promise<Done> {
    const d = this.done.get(id);
    if (d) {
      this.done.delete(id);
      return Promise.resolve(d);
    }
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }
}

const TERMINAL = new Set(['job.succeeded', 'job.failed', 'job.canceled']);

/**
 * Watches the service's global event stream `<prefix>:events` (one blocking XREAD, as the API's own
 * EventHub does). By default a job is done at its terminal event; with `stage`, when that stage completed.
 */
export async function serviceWatcher(redisUrl: string, prefix: string, stage?: string): Promise<Watcher> {
  if (!stage) {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const waits = new Waits();
    // Every job's end is published once on `<prefix>:ended` (see src/shared/events.ts): one subscription
    // hears them all and adds no command per job.
    redis.on('message', (_channel: string, message: string) => {
      const at = performance.now();
      const [job = '', , type = ''] = message.split('\n');
      if (TERMINAL.has(type)) waits.settle(job, { ok: type === 'job.succeeded', at, type });
    });
    await redis.subscribe(redisKeys(prefix).endedChannel);
    return { wait: (id) => waits.wait(id), close: async () => redis.disconnect() };
  }
  // One stage's completion: follow the job as a client would (its stream, read until the stage completed).
  const reader = new Redis(redisUrl, { maxRetriesPerRequest: null });
  return {
    async wait(id) {
      let last = '0-0';
      for (;;) {
        const res = (await reader.xread('BLOCK', 1000, 'STREAMS', redisKeys(prefix).jobEvents(id), last)) as
          | [string, [string, string[]][]][]
          | null;
        const at = performance.now();
        for (const [, entries] of res ?? []) {
          for (const [sid, f] of entries) {
            last = sid;
            const type = f[f.indexOf('type') + 1] ?? '';
            const data = JSON.parse(f[f.indexOf('data') + 1] ?? '{}') as { stage?: string };
            if (TERMINAL.has(type) && type !== 'job.succeeded') return { ok: false, at, type };
            if (type === 'stage.completed' && data.stage === stage)
              return { ok: true, at, type: `${stage} completed` };
          }
        }
      }
    },
    async close() {
      reader.disconnect();
    },
  };
}

/** The baseline's completion: BullMQ's own `completed` / `failed` events of the last queue. */
export async function bullmqWatcher(redisUrl: string, prefix: string, lastQueue: string): Promise<Watcher> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const events = new QueueEvents(lastQueue, { connection, prefix });
  await events.waitUntilReady();
  const waits = new Waits();
  const suffix = `_${lastQueue}`;
  const id = (bullId: string) => (bullId.endsWith(suffix) ? bullId.slice(0, -suffix.length) : bullId);
  events.on('completed', ({ jobId }) =>
    waits.settle(id(jobId), { ok: true, at: performance.now(), type: 'completed' }),
  );
  events.on('failed', ({ jobId }) =>
    waits.settle(id(jobId), { ok: false, at: performance.now(), type: 'failed' }),
  );
  return {
    wait: (jobId) => waits.wait(jobId),
    async close() {
      await events.close();
      connection.disconnect();
    },
  };
}

export interface LoadResult {
  /** Submit → done, ms, per completed job. */
  latencies: number[];
  /** Submit → 2xx, ms. */
  accepts: number[];
  completed: number;
  failed: number;
  /** Ids of the first few jobs that ended failed or canceled. */
  failedIds: string[];
  /** Ids of the jobs that succeeded, in completion order. */
  ids: string[];
  /** Jobs submitted (less than asked for when `maxSeconds` cut the run short). */
  submitted: number;
  /** First submit → last done, seconds. */
  seconds: number;
}

export interface LoopOptions {
  /** A job not done this long after submission fails the run (default 120 s). */
  jobTimeoutMs?: number;
  /** Describes a job for the error message (e.g. its record's status and stage). */
  inspect?: (id: string) => Promise<string>;
  /** Submit no new job after this long (jobs in flight still finish): bounds the run's time. */
  maxSeconds?: number;
}

/** Waits for job `id`, or throws after `timeoutMs` with what `inspect` says about it. */
export async function waitDone(watcher: Watcher, id: string, opts: LoopOptions = {}): Promise<Done> {
  const timeoutMs = opts.jobTimeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const state = await opts.inspect?.(id).catch((e: Error) => e.message);
      reject(
        new Error(`job ${id} not done ${timeoutMs / 1000} s after submission${state ? `: ${state}` : ''}`),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([watcher.wait(id), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closed-loop load: `window` lanes each submit a job, wait for it to end, and submit the next, until
 * `total` jobs are done. Keeps a constant number of jobs in the system, so throughput and latency are
 * both meaningful (no unbounded backlog). The first error (a refused submission, a job that never ends)
 * stops every lane and is thrown.
 */
export async function closedLoop(
  total: number,
  window: number,
  submitOne: () => Promise<string>,
  watcher: Watcher,
  opts: LoopOptions = {},
): Promise<LoadResult> {
  let next = 0;
  let stopped = false;
  const ids: string[] = [];
  const latencies: number[] = [];
  const accepts: number[] = [];
  let failed = 0;
  const failedIds: string[] = [];
  const start = performance.now();
  let end = start;
  const deadline = start + (opts.maxSeconds ?? Number.POSITIVE_INFINITY) * 1000;
  const lane = async () => {
    while (next < total && !stopped && performance.now() < deadline) {
      next++;
      const t0 = performance.now();
      const id = await submitOne();
      accepts.push(performance.now() - t0);
      const d = await waitDone(watcher, id, opts);
      if (d.ok) {
        latencies.push(d.at - t0);
        ids.push(id);
      } else if (++failed <= 5) failedIds.push(id);
      end = Math.max(end, d.at);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(window, total) }, () =>
      lane().catch((err: unknown) => {
        stopped = true;
        throw err;
      }),
    ),
  );
  return {
    latencies,
    accepts,
    completed: latencies.length,
    failed,
    failedIds,
    ids,
    submitted: next,
    seconds: (end - start) / 1000,
  };
}
