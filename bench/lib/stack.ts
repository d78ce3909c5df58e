/**
 * The pieces of a benchmark run, each in its own process so it can be measured from outside: an isolated
 * redis-server, the OpenAI simulator, the service's API and worker processes, and the baselines.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Tool } from '../../src/simulator/types.ts';
import { freePort, type RedisHandle, startRedis, waitFor } from '../../test/support/index.ts';
import { assertAlive, type Child, spawnNode, tail } from './children.ts';

export const STAGE_QUEUES = ['transcribe', 'chat', 'speak'] as const;

/** Every external program the simulator could use: off, so it answers from memory and stays cheap. */
export const NO_TOOLS: Tool[] = ['ffmpeg', 'ffprobe', 'festival', 'espeak-ng', 'pocketsphinx'];

export interface BenchRedis {
  handle: RedisHandle;
  url: string;
  /** The queue prefix to use: the handle's unique prefix as a hash tag, `{bench-…}`. */
  prefix: string;
  pid: number;
  version: string;
  /** A command connection for the benchmark's own reads. */
  client: Redis;
  /** Calls per command since start (INFO commandstats), e.g. `{ evalsha: 120, xadd: 60 }`. */
  commandStats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** A local redis-server on a free port (never a shared one: `killable` forces a spawned process). */
export async function startBenchRedis(): Promise<BenchRedis> {
  const handle = await startRedis({ killable: true });
  const client = new Redis(handle.url, { maxRetriesPerRequest: 3 });
  const info = await client.info('server');
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
  return {
    handle,
    url: handle.url,
    prefix: `{${handle.prefix}}`,
    pid: Number(field('process_id')),
    version: field('redis_version'),
    client,
    async commandStats() {
      const text = await client.info('commandstats');
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1] as string] = Number(m[2]);
      return out;
    },
    async stop() {
      client.disconnect();
      await handle.stop();
    },
  };
}

/** `after - before` per command, largest first, with the total. */
export function commandDelta(before: Record<string, number>, after: Record<string, number>) {
  const rows = Object.entries(after)
    .map(([cmd, n]) => [cmd, n - (before[cmd] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return { total: rows.reduce((s, [, n]) => s + n, 0), rows };
}

export async function tempDir(name: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `vb-bench-${name}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface SimulatorProcess {
  url: string;
  child: Child;
  stats(): Promise<{ calls: Record<string, number>; maxInFlight: Record<string, number> }>;
}

/** `node src/simulator/main.ts` with the given latency / concurrency cap, every tool off. */
export async function startSimulatorProcess(
  opts: { latencyMs?: number; concurrency?: number } = {},
): Promise<SimulatorProcess> {
  const port = await freePort();
  const child = spawnNode('simulator', 'src/simulator/main.ts', {
    SIM_PORT: String(port),
    SIM_HOST: '127.0.0.1',
    SIM_LATENCY_MS: String(opts.latencyMs ?? 0),
    ...(opts.concurrency ? { SIM_CONCURRENCY: String(opts.concurrency) } : {}),
    SIM_DISABLE_TOOLS: NO_TOOLS.join(','),
  });
  await child.line(/listening on/);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    child,
    async stats() {
      return (await (await fetch(`${url}/_sim/stats`)).json()) as Awaited<
        ReturnType<SimulatorProcess['stats']>
      >;
    },
  };
}

/** The service's environment: isolated Redis prefix, local storage, the simulator as provider. */
export function serviceEnv(
  redis: BenchRedis,
  dataDir: string,
  simUrl: string | undefined,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    // Benchmarks measure the open API (no keys): an explicit opt-in in production.
    ALLOW_OPEN_API: 'true',
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    DATA_DIR: dataDir,
    OPENAI_API_KEY: 'bench',
    ...(simUrl ? { OPENAI_BASE_URL: `${simUrl}/v1` } : {}),
    URL_SIGNING_SECRET: 'bench-signing-secret-0123456789abcdef',
    LOG_LEVEL: 'warn',
    // As the service is deployed (Dockerfile, npm scripts): a 16 MB young generation per semi-space.
    NODE_OPTIONS: '--max-semi-space-size=16',
    // Per-client admission limits stay on (their Redis work is part of intake) but never trigger: every
    // benchmark request acts for the same (open) client.
    RATE_LIMIT_RPM: '1000000000',
    MAX_JOBS_IN_FLIGHT: '1000000000',
    ...extra,
    // BENCH_SERVICE_ENV='{"NAME":"value"}': settings for experiments ("what if"), applied last.
    ...(JSON.parse(process.env.BENCH_SERVICE_ENV ?? '{}') as Record<string, string>),
  };
}

export interface HttpProcess {
  url: string;
  child: Child;
}

/** Starts an HTTP server process on a free port (PORT env) and waits until `readyPath` answers 200. */
export async function startHttpProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  readyPath = '/readyz',
): Promise<HttpProcess> {
  const port = await freePort();
  const child = spawnNode(name, script, { ...env, PORT: String(port), HOST: '127.0.0.1' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      assertAlive(child);
      return (await fetch(`${url}${readyPath}`).catch(() => undefined))?.ok === true;
    },
    { timeoutMs: 30_000, intervalMs: 50, message: `${name} to answer ${readyPath}` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${tail(child.output)}`);
  });
  return { url, child };
}

/** The service API: `node src/api/main.ts`. */
export function startApi(redis: BenchRedis, dataDir: string, extra: Record<string, string> = {}) {
  return startHttpProcess('api', 'src/api/main.ts', serviceEnv(redis, dataDir, undefined, extra));
}

/**
 * `n` service worker processes (`node src/worker/main.ts`), waiting until every stage queue in
 * `stages` has `n` workers registered in Redis.
 */
export async function startWorkers(
  redis: BenchRedis,
  dataDir: string,
  simUrl: string,
  n: number,
  extra: Record<string, string> = {},
): Promise<Child[]> {
  const env = serviceEnv(redis, dataDir, simUrl, extra);
  const children = Array.from({ length: n }, (_, i) =>
    spawnNode(`worker-${i + 1}`, 'src/worker/main.ts', env),
  );
  const stages = (extra.WORKER_STAGES ?? STAGE_QUEUES.join(',')).split(',');
  await waitForQueueWorkers(redis, stages, n, children);
  return children;
}

/** Waits until each queue in `queues` has at least `n` BullMQ workers connected (CLIENT LIST names). */
export async function waitForQueueWorkers(
  redis: BenchRedis,
  queues: readonly string[],
  n: number,
  children: Child[],
): Promise<void> {
  const handles = queues.map((name) => new Queue(name, { connection: redis.client, prefix: redis.prefix }));
  try {
    await waitFor(
      async () => {
        for (const c of children) assertAlive(c);
        const counts = await Promise.all(handles.map((q) => q.getWorkersCount()));
        return counts.every((c) => c >= n);
      },
      { timeoutMs: 30_000, intervalMs: 50, message: `${n} workers on ${queues.join(', ')}` },
    );
  } finally {
    await Promise.all(handles.map((q) => q.close()));
  }
}
