/**
 * Against the synchronous design: N clients at once, each sending a tiny WAV for the whole voice pipeline,
 * with the simulator at 1 s per call and a concurrency cap of 20 per endpoint.
 * - baseline: bench/baselines/sync-voicebot.ts, the whole pipeline inside the request (old design);
 * - voicebot: POST /v1/jobs (acknowledged = 202), done = every job succeeded (heard from Redis);
 * - also voicebot's legacy synchronous contract, POST /api/voicebot/, which waits on the queue.
 * Ideal: the cap is per endpoint, so a pipelined system finishes in (⌈N / 20⌉ + 2) × 1 s.
 */
import { Agent } from 'node:http';
import { type Child, stopAll } from './lib/children.ts';
import { httpRequest, multipart, serviceWatcher, waitDone, wavFile } from './lib/client.ts';
import { inspectServiceJob, TINY_WAV_BYTES } from './lib/pipeline.ts';
import type { BenchResult, Row, Size } from './lib/report.ts';
import {
  type BenchRedis,
  type SimulatorProcess,
  startApi,
  startBenchRedis,
  startHttpProcess,
  startSimulatorProcess,
  startWorkers,
  tempDir,
} from './lib/stack.ts';
import { fmt, summarize } from './lib/stats.ts';

/** `legacy`: also run the service's legacy synchronous endpoint (skipped in smoke to save time). */
const SIZES = { smoke: { clients: 100, legacy: false }, full: { clients: 500, legacy: true } };
const LATENCY_MS = 1000;
const CAP = 20;
const CLIENT_TIMEOUT_MS = 120_000;
const STAGE_CONCURRENCY = Number(process.env.BENCH_SYNC_STAGE_CONCURRENCY ?? CAP);

interface Outcome {
  /** Seconds from the start until the last acknowledgement. */
  allAcked: number;
  ackP50: number;
  /** Seconds from the start until the last job was done (NaN if some never were). */
  allDone: number;
  doneP50: number;
  ok: number;
  errors: number;
  timeouts: number;
  maxInFlight: number;
  firstError?: string;
}

const form = () => multipart('audio', 'sample.wav', 'audio/wav', wavFile(TINY_WAV_BYTES));

/** N simultaneous POSTs; each answer is both acknowledgement and completion (the synchronous contract). */
async function synchronous(url: string, n: number, sim: SimulatorProcess, okStatus = 200): Promise<Outcome> {
  const body = form();
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, async () => {
      const r = await httpRequest(url, {
        method: 'POST',
        headers: { 'content-type': body.contentType },
        body: body.body,
        agent,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      return { ...r, at: (performance.now() - t0) / 1000 };
    }),
  );
  agent.destroy();
  const ok = results.filter((r) => r.status === okStatus);
  const bad = results.filter((r) => r.status !== okStatus && r.failure !== 'timeout');
  const times = results.map((r) => r.at);
  const stats = await sim.stats();
  return {
    allAcked: Math.max(...times),
    ackP50: summarize(times).p50,
    allDone: ok.length === n ? Math.max(...ok.map((r) => r.at)) : Number.NaN,
    doneP50: summarize(ok.map((r) => r.at)).p50,
    ok: ok.length,
    errors: bad.length,
    timeouts: results.filter((r) => r.failure === 'timeout').length,
    maxInFlight: Math.max(...Object.values(stats.maxInFlight)),
    firstError: bad[0] ? `${bad[0].status} ${bad[0].error ?? bad[0].body.slice(0, 200)}` : undefined,
  };
}

/** N simultaneous POST /v1/jobs (acknowledged at the 202), then every job heard done from Redis. */
async function queued(redis: BenchRedis, apiUrl: string, n: number, sim: SimulatorProcess): Promise<Outcome> {
  const body = form();
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const watcher = await serviceWatcher(redis.url, redis.prefix);
  try {
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: n }, async () => {
        const r = await httpRequest(`${apiUrl}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': body.contentType },
          body: body.body,
          agent,
          timeoutMs: CLIENT_TIMEOUT_MS,
        });
        const ackAt = (performance.now() - t0) / 1000;
        if (r.status !== 202) return { r, ackAt, doneAt: Number.NaN, ok: false };
        const id = (JSON.parse(r.body) as { id: string }).id;
        const done = await waitDone(watcher, id, {
          jobTimeoutMs: 10 * CLIENT_TIMEOUT_MS,
          inspect: (jobId) => inspectServiceJob(redis, jobId),
        });
        return { r, ackAt, doneAt: (done.at - t0) / 1000, ok: done.ok };
      }),
    );
    const acked = results.filter((x) => x.r.status === 202);
    const ok = results.filter((x) => x.ok);
    const bad = results.filter((x) => x.r.status !== 202 && x.r.failure !== 'timeout');
    const stats = await sim.stats();
    return {
      allAcked: Math.max(...results.map((x) => x.ackAt)),
      ackP50: summarize(results.map((x) => x.ackAt)).p50,
      allDone: ok.length === n ? Math.max(...ok.map((x) => x.doneAt)) : Number.NaN,
      doneP50: summarize(ok.map((x) => x.doneAt)).p50,
      ok: ok.length,
      errors: bad.length + (acked.length - ok.length),
      timeouts: results.filter((x) => x.r.failure === 'timeout').length,
      maxInFlight: Math.max(...Object.values(stats.maxInFlight)),
      firstError: bad[0] ? `${bad[0].r.status} ${bad[0].r.body.slice(0, 200)}` : undefined,
    };
  } finally {
    agent.destroy();
    await watcher.close();
  }
}

export async function run(size: Size): Promise<BenchResult> {
  const { clients: n, legacy: withLegacy } = SIZES[size];
  const ideal = (Math.ceil(n / CAP) + 2) * (LATENCY_MS / 1000);
  const serialIdeal = (n * 3 * LATENCY_MS) / 1000 / CAP;
  const redis = await startBenchRedis();
  const data = await tempDir('sync');
  let sim: SimulatorProcess | undefined;
  const children: Child[] = [];
  try {
    const freshSim = async () => {
      await stopAll([sim?.child]);
      sim = await startSimulatorProcess({ latencyMs: LATENCY_MS, concurrency: CAP });
      return sim;
    };

    // The old design.
    let s = await freshSim();
    const old = await startHttpProcess('sync-voicebot', 'bench/baselines/sync-voicebot.ts', {
      OPENAI_BASE_URL: `${s.url}/v1`,
      OPENAI_API_KEY: 'bench',
      DATA_DIR: data.dir,
    });
    const sync = await synchronous(`${old.url}/api/voicebot/`, n, s);
    await old.child.stop();

    // This service: API + one worker process whose per-stage concurrency equals the provider's cap.
    s = await freshSim();
    const api = await startApi(redis, data.dir, { SYNC_WAIT_SECONDS: String(CLIENT_TIMEOUT_MS / 1000) });
    children.push(api.child);
    children.push(
      ...(await startWorkers(redis, data.dir, s.url, 1, { STAGE_CONCURRENCY: String(STAGE_CONCURRENCY) })),
    );
    const queue = await queued(redis, api.url, n, s);

    // This service's legacy synchronous endpoint (same processes, fresh simulator counters).
    await fetch(`${s.url}/_sim/reset`, { method: 'POST' });
    const legacy = withLegacy ? await synchronous(`${api.url}/api/voicebot/`, n, s) : undefined;

    const rows: Row[] = [
      {
        metric: `all ${n} submissions acknowledged`,
        unit: 's',
        service: queue.allAcked,
        baseline: sync.allAcked,
        baselineName: 'sync design',
        target: '',
      },
      {
        metric: 'acknowledgement p50',
        unit: 's',
        service: queue.ackP50,
        baseline: sync.ackP50,
        baselineName: 'sync design',
        target: '',
      },
      {
        metric: `all ${n} done (ideal ${fmt(ideal)} s)`,
        unit: 's',
        service: queue.allDone,
        baseline: sync.allDone,
        baselineName: 'sync design',
        target: '',
        ratio: `${fmt(queue.allDone / ideal)}× ideal vs ${fmt(sync.allDone / ideal)}×`,
      },
      {
        metric: 'errors + timeouts (client timeout 120 s)',
        unit: '',
        service: queue.errors + queue.timeouts,
        baseline: sync.errors + sync.timeouts,
        baselineName: 'sync design',
        target: '',
        ratio: '—',
      },
    ];
    if (legacy) {
      rows.push({
        metric: `legacy POST /api/voicebot/ (queue behind it): all ${n} answered`,
        unit: 's',
        service: legacy.allDone,
        baseline: sync.allDone,
        baselineName: 'sync design',
        target: '',
        ratio: `${legacy.ok}/${n} answered 200; ${legacy.errors} errors, ${legacy.timeouts} timeouts`,
      });
    }
    const line = (name: string, o: Outcome) =>
      `${name}: ${o.ok}/${n} done, acknowledged p50 ${fmt(o.ackP50)} s / all ${fmt(o.allAcked)} s, done p50 ` +
      `${fmt(o.doneP50)} s / all ${fmt(o.allDone)} s, ${o.errors} errors, ${o.timeouts} timeouts, provider max in flight ` +
      `per endpoint ${o.maxInFlight}${o.firstError ? `; first error: ${o.firstError}` : ''}`;
    return {
      name: 'sync-vs-queue',
      title: 'Sync vs queue',
      setup:
        `${n} clients at once, tiny WAV, simulator ${LATENCY_MS} ms per call with a cap of ${CAP} concurrent calls per ` +
        `endpoint; voicebot: 1 API + 1 worker process, STAGE_CONCURRENCY=${STAGE_CONCURRENCY}. Ideal (pipelined, per-endpoint cap): ` +
        `(⌈${n}/${CAP}⌉ + 2) × 1 s = ${fmt(ideal)} s; the issue's ${fmt(serialIdeal)} s (${n} × 3 s / ${CAP}) assumes one cap ` +
        'shared by the three endpoints, which is not how the simulator (or OpenAI) limits.',
      rows,
      notes: [
        line('sync design', sync),
        line('voicebot /v1/jobs', queue),
        ...(legacy ? [line('voicebot legacy /api/voicebot/', legacy)] : []),
      ],
    };
  } finally {
    await stopAll(children);
    await stopAll([sim?.child]);
    await redis.stop();
    await data.remove();
  }
}

if (import.meta.main) {
  const size = process.argv.includes('--full') ? 'full' : 'smoke';
  console.log(JSON.stringify(await run(size), null, 2));
  process.exit(0);
}
