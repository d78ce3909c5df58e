/**
 * Redis cost per job, and this machine's Redis ceiling — the figures behind the README's "Scaling out".
 *
 * 1. The whole service in this process (API + every stage worker) on its own redis-server, the simulator
 *    at zero latency. N jobs are submitted and heard done through the API's own event reader (no polling, so
 *    the client adds nothing). `INFO commandstats` / `INFO cpu` before and after give, per job: commands,
 *    Redis command time (usec), and Redis process CPU. The idle background (workers' blocking polls, stalled
 *    checks, the event reader) is measured alone first and subtracted.
 * 2. What a client adds on top: one GET /v1/jobs/:id, one SSE stream of a whole job.
 * 3. `redis-benchmark` (Debian's) against the same server: plain ops/s, and ops/s with pipelining.
 * 4. With `--s3`: storage is S3 (s3rver) behind a counting proxy, so S3 requests per job are counted too.
 *
 *   node bench/redis-ops.ts [--jobs 300] [--kind text|audio] [--concurrency 16] [--s3] [--no-benchmark]
 */
import { execFile } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs, promisify } from 'node:util';
import { Redis } from 'ioredis';
import { fixture } from '../test/support/http.ts';
import { type S3Handle, startRedis, startS3 } from '../test/support/index.ts';
import { startStack } from '../test/support/stack.ts';

const run = promisify(execFile);

interface Snapshot {
  at: number;
  calls: Record<string, number>;
  usec: Record<string, number>;
  cpu: number;
}

async function snapshot(client: Redis): Promise<Snapshot> {
  const [stats, cpu] = await Promise.all([client.info('commandstats'), client.info('cpu')]);
  const calls: Record<string, number> = {};
  const usec: Record<string, number> = {};
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    calls[m[1] as string] = Number(m[2]);
    usec[m[1] as string] = Number(m[3]);
  }
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { at: Date.now(), calls, usec, cpu: field('used_cpu_sys') + field('used_cpu_user') };
}

interface Delta {
  seconds: number;
  calls: Record<string, number>;
  totalCalls: number;
  totalUsec: number;
  cpuSeconds: number;
}

function delta(a: Snapshot, b: Snapshot): Delta {
  const calls: Record<string, number> = {};
  let totalCalls = 0;
  let totalUsec = 0;
  for (const [cmd, n] of Object.entries(b.calls)) {
    const d = n - (a.calls[cmd] ?? 0);
    if (d > 0) calls[cmd] = d;
    totalCalls += d;
    totalUsec += (b.usec[cmd] ?? 0) - (a.usec[cmd] ?? 0);
  }
  // The INFO calls of the snapshots themselves are not the service's.
  totalCalls -= 2;
  if (calls.info) calls.info -= 2;
  return { seconds: (b.at - a.at) / 1000, calls, totalCalls, totalUsec, cpuSeconds: b.cpu - a.cpu };
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** An HTTP proxy in front of S3 that counts requests by method (the service talks path-style to it). */
async function countingProxy(target: string) {
  const counts: Record<string, number> = {};
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    counts[req.method ?? '?'] = (counts[req.method ?? '?'] ?? 0) + 1;
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function measure(opts: {
  jobs: number;
  kind: 'text' | 'audio';
  concurrency: number;
  s3?: boolean;
}) {
  const redis = await startRedis({ killable: true });
  let s3: S3Handle | undefined;
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  if (opts.s3) {
    s3 = await startS3();
    proxy = await countingProxy(s3.endpoint);
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
  }
  const stack = await startStack({
    redis,
    simulator: { latencyMs: 0, disableTools: ['ffmpeg', 'ffprobe', 'festival', 'espeak-ng', 'pocketsphinx'] },
    // The limiter's script runs on every request, as in production (the limit itself is never reached).
    env: {
      RATE_LIMIT_RPM: '10000000',
      STAGE_CONCURRENCY: String(opts.concurrency),
      ...(s3 && proxy ? { ...s3.env(), S3_ENDPOINT: proxy.url } : {}),
    },
  });
  const closeAll = async () => {
    await stack.close();
    await proxy?.close();
    await s3?.stop();
    await redis.stop();
  };
  const admin = new Redis(redis.url);
  const hub = stack.api.deps.hub;
  const wav = await fixture('question.wav');
  const submit = async (i: number): Promise<string> => {
    const init: RequestInit =
      opts.kind === 'audio'
        ? (() => {
            const form = new FormData();
            form.append('audio', new Blob([new Uint8Array(wav)]), 'q.wav');
            return { method: 'POST', body: form };
          })()
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ text: `what is ${i} plus one?` }),
          };
    const res = await fetch(`${stack.url}/v1/jobs`, init);
    if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  /** Submits and waits for a job, hearing its end through the API's event reader. */
  const one = async (i: number) => {
    let done!: () => void;
    const ended = new Promise<void>((r) => {
      done = r;
    });
    let id: string | undefined;
    const early = new Set<string>();
    const unsubscribe = await hub.onEnded((e) => {
      if (e.jobId === id) done();
      else early.add(e.jobId);
    });
    id = await submit(i);
    if (early.has(id)) done();
    await ended;
    unsubscribe();
    return id;
  };
  const many = async (n: number, offset: number) => {
    let next = 0;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: Math.min(opts.concurrency, n) }, async () => {
        while (next < n) ids.push(await one(offset + next++));
      }),
    );
    return ids;
  };
  try {
    await many(10, 0); // warm-up: connections, scripts loaded, first-job paths
    const idle0 = await snapshot(admin);
    await new Promise((r) => setTimeout(r, 3000));
    const idle = delta(idle0, await snapshot(admin));
    const before = await snapshot(admin);
    const s3Before = { ...proxy?.counts };
    const ids = await many(opts.jobs, 100);
    const jobs = delta(before, await snapshot(admin));
    const s3PerJob = proxy
      ? Object.fromEntries(
          Object.entries(proxy.counts).map(([m, n]) => [m, round((n - (s3Before[m] ?? 0)) / opts.jobs, 2)]),
        )
      : undefined;
    const background = (idle.totalCalls / idle.seconds) * jobs.seconds;
    const perJob = (jobs.totalCalls - background) / opts.jobs;

    // What clients add: polling and following.
    const g0 = await snapshot(admin);
    for (const id of ids.slice(0, 50)) await (await fetch(`${stack.url}/v1/jobs/${id}`)).arrayBuffer();
    const get = delta(g0, await snapshot(admin));
    const s0 = await snapshot(admin);
    for (const id of ids.slice(0, 20)) await (await fetch(`${stack.url}/v1/jobs/${id}/events`)).text();
    const sse = delta(s0, await snapshot(admin));

    const top = Object.entries(jobs.calls)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([cmd, n]) => ({ command: cmd, per_job: round(n / opts.jobs, 2) }));
    return {
      kind: opts.kind,
      jobs: opts.jobs,
      seconds: round(jobs.seconds, 2),
      jobs_per_second_here: round(opts.jobs / jobs.seconds),
      commands_per_job: round(perJob),
      redis_command_usec_per_job: round(jobs.totalUsec / opts.jobs),
      redis_cpu_ms_per_job: round((jobs.cpuSeconds * 1000) / opts.jobs, 2),
      idle_background_commands_per_s: round(idle.totalCalls / idle.seconds),
      commands_per_get: round(get.totalCalls / 50, 1),
      commands_per_sse_stream: round(sse.totalCalls / 20, 1),
      ...(s3PerJob ? { s3_requests_per_job: s3PerJob } : {}),
      top,
      redisUrl: redis.url,
      port: redis.port,
      stop: async () => {
        admin.disconnect();
        await closeAll();
      },
    };
  } catch (err) {
    admin.disconnect();
    await closeAll();
    throw err;
  }
}

/** `redis-benchmark -q` → requests per second by test name. */
export async function redisBenchmark(port: number, extra: string[] = []): Promise<Record<string, number>> {
  const { stdout } = await run(
    'redis-benchmark',
    [
      '-p',
      String(port),
      '-q',
      '-n',
      '200000',
      '-c',
      '50',
      '-t',
      'set,get,incr,lpush,rpop,zadd,hset',
      ...extra,
    ],
    { timeout: 300_000 },
  );
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/^([A-Z_]+)[^:]*: ([\d.]+) requests per second/gm))
    out[m[1] as string] = Number(m[2]);
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '300' },
      kind: { type: 'string', default: 'text' },
      concurrency: { type: 'string', default: '16' },
      'no-benchmark': { type: 'boolean', default: false },
      s3: { type: 'boolean', default: false },
    },
  });
  const kind = values.kind === 'audio' ? 'audio' : 'text';
  const r = await measure({
    jobs: Number(values.jobs),
    kind,
    concurrency: Number(values.concurrency),
    s3: values.s3,
  });
  try {
    const { top, stop: _stop, redisUrl: _url, port, s3_requests_per_job, ...figures } = r;
    console.log(
      `\nRedis cost per ${kind} job (${kind === 'text' ? 'chat → speak' : 'transcribe → chat → speak'}):`,
    );
    console.table([figures]);
    if (s3_requests_per_job) {
      console.log('S3 requests per job, by method (the client downloading the audio not included):');
      console.table([s3_requests_per_job]);
    }
    console.log('most frequent commands per job:');
    console.table(top);
    if (!values['no-benchmark']) {
      const plain = await redisBenchmark(port);
      const piped = await redisBenchmark(port, ['-P', '16']);
      console.log('redis-benchmark on this machine (200k requests, 50 clients), requests/s:');
      console.table([
        { mode: 'no pipelining', ...plain },
        { mode: 'pipeline 16', ...piped },
      ]);
      const plainMean = Object.values(plain).reduce((s, v) => s + v, 0) / Object.values(plain).length;
      console.log(
        [
          `ceiling estimates for one Redis (one core) on this machine, ${kind} jobs:`,
          `  by simple-command rate: ${Math.round(plainMean)} ops/s ÷ ${figures.commands_per_job} commands/job ≈ ${Math.round(plainMean / figures.commands_per_job)} jobs/s`,
          `  by Redis CPU measured: 1 s ÷ ${figures.redis_cpu_ms_per_job} ms/job ≈ ${Math.round(1000 / figures.redis_cpu_ms_per_job)} jobs/s`,
          `  by command time only: 1 s ÷ ${figures.redis_command_usec_per_job} µs/job ≈ ${Math.round(1e6 / figures.redis_command_usec_per_job)} jobs/s (no I/O: an upper bound)`,
        ].join('\n'),
      );
    }
  } finally {
    await r.stop();
  }
}
