/**
 * A whole pipeline under closed-loop load, for the service and for its bare baseline, measured the same
 * way: jobs are submitted over HTTP (multipart tiny WAV, so all three stages run) and heard done from Redis.
 *
 * - service: `node src/api/main.ts` + N × `node src/worker/main.ts` + the simulator (zero latency, no tools);
 *   done = the job's terminal event, published on `<prefix>:jobev:<id>`.
 * - baseline: bench/baselines/bare-intake.ts + N × bench/baselines/bare-bullmq.ts (no-op processors);
 *   done = BullMQ's `completed` event of the last queue.
 */
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/shared/lifecycle/keys.ts';
import { type Child, spawnNode, stopAll, tail } from './children.ts';
import {
  bullmqWatcher,
  closedLoop,
  keepAliveAgent,
  type LoadResult,
  multipart,
  serviceWatcher,
  submit,
  type Watcher,
  wavFile,
} from './client.ts';
import { cpuMeter } from './proc.ts';
import {
  type BenchRedis,
  commandDelta,
  type SimulatorProcess,
  STAGE_QUEUES,
  startApi,
  startHttpProcess,
  startWorkers,
  tempDir,
  waitForQueueWorkers,
} from './stack.ts';

/**
 * 16 KB of 16 kHz mono PCM: half a second of tone, enough for the simulator (≥ 0.1 s), the API (≥ 1 KB) and
 * the worker's blank-recording check (≥ 0.3 s of sound, or the job ends with no_speech before any call).
 */
export const TINY_WAV_BYTES = 16 * 1024;

export interface Rig {
  kind: 'service' | 'baseline';
  submitOne(): Promise<string>;
  watcher: Watcher;
  /** A job's state in words (status, stage, error), for error messages. */
  inspect(id: string): Promise<string>;
  /** Processes to measure CPU of, by role. */
  pids: Record<string, number>;
  close(): Promise<void>;
}

export interface RigOptions {
  redis: BenchRedis;
  workers: number;
  concurrency: number;
  /** Max sockets of the client's keep-alive agent (≥ the load's window). */
  sockets: number;
  /** Required for the service. */
  sim?: SimulatorProcess;
  /** Extra env for the service's workers (e.g. STAGE_CONCURRENCY overrides). */
  workerEnv?: Record<string, string>;
  /** Extra env for the service's API process (e.g. OTEL_* settings). */
  apiEnv?: Record<string, string>;
  /** Baseline only: its processors make the same three provider calls (needs `sim`). */
  withProvider?: boolean;
}

/** Adds the server process's state and last output to a failed submission's error. */
const explain = (server: Child) => (err: Error) => {
  const gone = server.proc.exitCode !== null || server.proc.signalCode !== null;
  throw new Error(
    `${err.message} (${server.name} ${gone ? `exited ${server.proc.exitCode ?? server.proc.signalCode}` : 'running'}; ` +
      `last output: ${tail(server.output, 5) || 'none'})`,
  );
};

const form = () => multipart('audio', 'sample.wav', 'audio/wav', wavFile(TINY_WAV_BYTES));

export async function serviceRig(o: RigOptions): Promise<Rig> {
  if (!o.sim) throw new Error('serviceRig needs the simulator');
  const data = await tempDir('svc');
  const children: Child[] = [];
  let watcher: Watcher | undefined;
  try {
    const api = await startApi(o.redis, data.dir, o.apiEnv);
    children.push(api.child);
    const workers = await startWorkers(o.redis, data.dir, o.sim.url, o.workers, {
      STAGE_CONCURRENCY: String(o.concurrency),
      ...o.workerEnv,
    });
    children.push(...workers);
    watcher = await serviceWatcher(o.redis.url, o.redis.prefix);
    const agent = keepAliveAgent(o.sockets);
    const body = form();
    const w = watcher;
    return {
      kind: 'service',
      submitOne: () => submit(`${api.url}/v1/jobs`, body, agent).catch(explain(api.child)),
      watcher: w,
      inspect: (id) => inspectServiceJob(o.redis, id),
      pids: {
        api: api.child.pid,
        ...Object.fromEntries(workers.map((c, i) => [`worker${workers.length > 1 ? i + 1 : ''}`, c.pid])),
        simulator: o.sim.child.pid,
        redis: o.redis.pid,
        client: process.pid,
      },
      async close() {
        agent.destroy();
        await w.close();
        await stopAll(children);
        await data.remove();
      },
    };
  } catch (err) {
    await watcher?.close();
    await stopAll(children);
    await data.remove();
    throw err;
  }
}

export async function baselineRig(o: RigOptions): Promise<Rig> {
  const data = await tempDir('bare');
  const prefix = `${o.redis.prefix.slice(0, -1)}-bare}`;
  const env = { REDIS_URL: o.redis.url, QUEUE_PREFIX: prefix, DATA_DIR: data.dir };
  const children: Child[] = [];
  let watcher: Watcher | undefined;
  try {
    const intake = await startHttpProcess('bare-intake', 'bench/baselines/bare-intake.ts', env);
    children.push(intake.child);
    if (o.withProvider && !o.sim) throw new Error('withProvider needs the simulator');
    const provider: Record<string, string> =
      o.withProvider && o.sim ? { OPENAI_BASE_URL: `${o.sim.url}/v1`, OPENAI_API_KEY: 'bench' } : {};
    const workers = Array.from({ length: o.workers }, (_, i) =>
      spawnNode(`bare-bullmq-${i + 1}`, 'bench/baselines/bare-bullmq.ts', {
        ...env,
        ...provider,
        STAGE_CONCURRENCY: String(o.concurrency),
      }),
    );
    children.push(...workers);
    await waitForQueueWorkers({ ...o.redis, prefix }, STAGE_QUEUES, o.workers, workers);
    watcher = await bullmqWatcher(o.redis.url, prefix, 'speak');
    const agent = keepAliveAgent(o.sockets);
    const body = form();
    const w = watcher;
    return {
      kind: 'baseline',
      submitOne: () => submit(`${intake.url}/v1/jobs`, body, agent).catch(explain(intake.child)),
      watcher: w,
      inspect: async (id) => {
        const states = await Promise.all(
          STAGE_QUEUES.map(async (q) => {
            const job = await Job.fromId(new Queue(q, { connection: o.redis.client, prefix }), `${id}_${q}`);
            return `${q}: ${job ? `${await job.getState()}${job.failedReason ? ` (${job.failedReason})` : ''}` : 'absent'}`;
          }),
        );
        return states.join(', ');
      },
      pids: {
        intake: intake.child.pid,
        ...Object.fromEntries(workers.map((c, i) => [`workers${workers.length > 1 ? i + 1 : ''}`, c.pid])),
        ...(o.withProvider && o.sim ? { simulator: o.sim.child.pid } : {}),
        redis: o.redis.pid,
        client: process.pid,
      },
      async close() {
        agent.destroy();
        await w.close();
        await stopAll(children);
        await data.remove();
      },
    };
  } catch (err) {
    await watcher?.close();
    await stopAll(children);
    await data.remove();
    throw err;
  }
}

export interface Throughput extends LoadResult {
  perSecond: number;
  /** Cores busy per role during the run (1.0 = one core the whole time). */
  cores: Record<string, number>;
  /** Cores busy on the whole machine during the run, whoever used them. */
  machineBusy: number;
  /** Redis commands per job (INFO commandstats delta; commands run inside Lua scripts included). */
  redisPerJob: number;
  /** The five most frequent Redis commands per job. */
  topCommands: [string, number][];
  /** CPU milliseconds per job per role. */
  cpuMsPerJob: Record<string, number>;
}

/** `total` jobs with `window` in flight; CPU of every process and Redis commands measured around it. */
export async function throughput(
  rig: Rig,
  redis: BenchRedis,
  total: number,
  window: number,
  maxSeconds?: number,
): Promise<Throughput> {
  const meter = cpuMeter(rig.pids);
  const before = await redis.commandStats();
  await meter.start();
  const r = await closedLoop(total, window, rig.submitOne, rig.watcher, { inspect: rig.inspect, maxSeconds });
  const cpu = await meter.stop();
  const delta = commandDelta(before, await redis.commandStats());
  const jobs = Math.max(1, r.completed + r.failed);
  return {
    ...r,
    perSecond: r.completed / r.seconds,
    cores: cpu.cores,
    machineBusy: cpu.machineBusy,
    redisPerJob: delta.total / jobs,
    topCommands: delta.rows.slice(0, 5).map(([c, n]) => [c, n / jobs]),
    cpuMsPerJob: Object.fromEntries(
      Object.entries(cpu.cores).map(([k, v]) => [k, (v * cpu.seconds * 1000) / jobs]),
    ),
  };
}

/** The service's job record in words: status, stage and error. */
export async function inspectServiceJob(redis: BenchRedis, id: string): Promise<string> {
  const h = await redis.client.hgetall(redisKeys(redis.prefix).job(id));
  if (Object.keys(h).length === 0) return 'no job record';
  return `status ${h.status}, stage ${h.stage ?? '-'}${h.error ? `, error ${h.error}` : ''}`;
}

/** Runs `n` jobs through a rig, one at a time or `window` at once, with the rig's job inspector. */
export function jobs(rig: Rig, n: number, window: number) {
  return closedLoop(n, window, rig.submitOne, rig.watcher, { inspect: rig.inspect });
}

/**
 * Where a job's time went, from its own event stream (`<prefix>:job:<id>:events`, ids are Redis ms
 * timestamps): median ms of each step from `job.queued` to the terminal event, over `ids`.
 */
export async function serviceBreakdown(redis: BenchRedis, ids: string[]): Promise<string> {
  const steps = new Map<string, number[]>();
  for (const id of ids) {
    const rows = await redis.client.xrange(redisKeys(redis.prefix).jobEvents(id), '-', '+');
    let prev: { label: string; ms: number } | undefined;
    for (const [streamId, fields] of rows) {
      const ms = Number(streamId.split('-')[0]);
      const type = fields[fields.indexOf('type') + 1] ?? '?';
      const data = JSON.parse(fields[fields.indexOf('data') + 1] ?? '{}') as { stage?: string };
      const label = data.stage && type.startsWith('stage.') ? `${type.slice(6)} ${data.stage}` : type;
      if (prev) {
        const key = type.startsWith('stage.completed') ? (data.stage ?? label) : `${prev.label} → ${label}`;
        steps.set(key, [...(steps.get(key) ?? []), ms - prev.ms]);
      }
      prev = { label, ms };
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
  return [...steps].map(([k, v]) => `${k} ${Math.round(median(v))}`).join(', ');
}

export interface RoundTrips {
  /** Commands sent by clients per job, a MULTI…EXEC block counted once: Redis round trips. */
  perJob: number;
  /** Commands run inside Lua scripts (BullMQ's) per job: work for Redis, not round trips. */
  scriptPerJob: number;
  /** The most frequent client commands per job. */
  top: [string, number][];
}

/** Counts Redis traffic with MONITOR while `work` runs `jobs` jobs (use on a few jobs: MONITOR is slow). */
export async function roundTrips(
  redis: BenchRedis,
  jobs: number,
  work: () => Promise<unknown>,
): Promise<RoundTrips> {
  const base = new Redis(redis.url, { retryStrategy: () => null, maxRetriesPerRequest: 1 });
  const mon = await base.monitor();
  let client = 0;
  let script = 0;
  const byCommand = new Map<string, number>();
  const inMulti = new Set<string>();
  mon.on('monitor', (_time: string, args: string[], source: string) => {
    if (source.startsWith('lua')) {
      script++;
      return;
    }
    const cmd = String(args[0] ?? '').toLowerCase();
    if (cmd === 'exec' || cmd === 'discard') {
      inMulti.delete(source);
      return;
    }
    if (inMulti.has(source)) return;
    if (cmd === 'multi') inMulti.add(source);
    client++;
    byCommand.set(cmd, (byCommand.get(cmd) ?? 0) + 1);
  });
  try {
    await work();
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    mon.disconnect();
    base.disconnect();
  }
  return {
    perJob: client / jobs,
    scriptPerJob: script / jobs,
    top: [...byCommand]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([c, n]) => [c, n / jobs]),
  };
}

/** One job's events in order with ms since the first, e.g. "job.queued +0, stage.started transcribe +3, …". */
export async function serviceTimeline(redis: BenchRedis, id: string): Promise<string> {
  const rows = await redis.client.xrange(redisKeys(redis.prefix).jobEvents(id), '-', '+');
  const t0 = Number(rows[0]?.[0].split('-')[0] ?? 0);
  return rows
    .map(([streamId, fields]) => {
      const type = fields[fields.indexOf('type') + 1] ?? '?';
      const data = JSON.parse(fields[fields.indexOf('data') + 1] ?? '{}') as { stage?: string };
      return `${type}${data.stage ? ` ${data.stage}` : ''} +${Number(streamId.split('-')[0]) - t0}`;
    })
    .join(', ');
}
