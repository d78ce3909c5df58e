/**
 * Redis Cluster failovers under load, the long form of test/integration/cluster.test.ts: a local cluster
 * (3 masters + 3 replicas), the API in this process, worker processes, a steady stream of submissions —
 * and every `--every` ms the master that holds the service's slot is SIGKILLed, its replica promoted, and
 * the killed node restarted (it rejoins as the new master's replica, so the next failover has one).
 * Prints each failover's time, how long the API answered 503, and checks the promise: every job that was
 * answered 202 succeeds (none lost, none failed).
 *
 *   node scripts/cluster-failover.ts [--jobs 400 (at least)] [--failovers 3] [--every 8000] [--rate 25] [--workers 2] [--verbose]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startApi } from '../src/api/server.ts';
import { loadConfig } from '../src/shared/config.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { fixture } from '../test/support/http.ts';
import { freePort } from '../test/support/index.ts';
import { type FailoverReport, startRedisCluster } from '../test/support/redis-cluster.ts';
import { serviceEnv } from '../test/support/service-env.ts';
import { type ServiceProcess, spawnService } from '../test/support/service-process.ts';

export interface FailoverOptions {
  jobs: number;
  failovers: number;
  everyMs: number;
  /** submissions per second */
  rate: number;
  workers: number;
  timeoutMs: number;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface FailoverRun {
  failover: number;
  killedPort: number;
  promotedPort: number;
  /** SIGKILL → the replica serves the slot (cluster_state:ok) */
  promotedMs: number;
  /** the longest stretch around the failover in which no submission got its 202 (answers by arrival time) */
  noAcceptMs: number;
  /** submissions answered 503 between the SIGKILL and the old master's rejoin */
  refused503: number;
  /** the slowest submission (202 or not) sent in that window */
  slowestSubmitMs: number;
  /** restart of the killed node → it is a synced replica again */
  rejoinMs: number;
  forced: boolean;
}

export interface FailoverResult {
  accepted: number;
  refused503: number;
  refusedOther: number;
  succeeded: number;
  failed: number;
  lost: number;
  p50JobMs: number;
  p95JobMs: number;
  maxJobMs: number;
  seconds: number;
  runs: FailoverRun[];
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

export async function runFailovers(o: FailoverOptions): Promise<FailoverResult> {
  const say = o.log ?? (() => {});
  const cluster = await startRedisCluster();
  const sim = await startSimulator({
    latencyMs: 50,
    disableTools: ['pocketsphinx', 'festival', 'espeak-ng'],
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'vb-failover-'));
  const port = await freePort();
  const env = serviceEnv({
    port,
    redis: cluster,
    simUrl: sim.url,
    dataDir,
    extra: {
      REDIS_WAIT_REPLICAS: '1',
      RATE_LIMIT_RPM: '0',
      STAGE_ATTEMPTS: '10',
      STAGE_BACKOFF_MS: '200',
      LOCK_DURATION_MS: '4000',
      STALLED_INTERVAL_MS: '2000',
      MAX_STALLED_COUNT: '100',
      METRICS_PORT: '0',
    },
  });
  const config = loadConfig(env);
  // The API's own log (every 503 of a failover is logged as an error) would drown the figures: --verbose shows it.
  const api = await startApi(config, createLogger({ level: o.verbose ? 'warn' : 'silent', env: 'test' }));
  const workers: ServiceProcess[] = Array.from({ length: o.workers }, () => spawnService('worker', env));
  const started = Date.now();
  const wav = await fixture('question.wav');

  const accepted = new Map<string, number>();
  let refused503 = 0;
  let refusedOther = 0;
  /** every submission: when it was sent, when answered, and the status (0: no answer) */
  const log: Array<{ sent: number; answered: number; status: number }> = [];
  const submit = async (i: number) => {
    const body =
      i % 10 === 0
        ? (() => {
            const form = new FormData();
            form.append('audio', new Blob([new Uint8Array(wav)]), 'q.wav');
            return form;
          })()
        : JSON.stringify({ text: `failover job ${i}` });
    const sent = Date.now();
    const res = await fetch(`${api.url}/v1/jobs`, {
      method: 'POST',
      body,
      headers: typeof body === 'string' ? { 'content-type': 'application/json' } : {},
      signal: AbortSignal.timeout(15_000),
    }).catch(() => undefined);
    log.push({ sent, answered: Date.now(), status: res?.status ?? 0 });
    if (res?.status === 202) {
      accepted.set(((await res.json()) as { id: string }).id, Date.now());
      return;
    }
    if (res?.status === 503) refused503++;
    else refusedOther++;
  };
  /** Submission figures for the window [from, to]. */
  const window = (from: number, to: number) => {
    const inside = log.filter((e) => e.sent >= from - 1000 && e.sent <= to);
    const accepts = inside
      .filter((e) => e.status === 202)
      .map((e) => e.answered)
      .sort((a, b) => a - b);
    let gap = 0;
    for (let i = 1; i < accepts.length; i++) gap = Math.max(gap, (accepts[i] ?? 0) - (accepts[i - 1] ?? 0));
    return {
      noAcceptMs: gap,
      refused503: inside.filter((e) => e.status === 503 && e.sent >= from).length,
      slowestSubmitMs: Math.max(0, ...inside.filter((e) => e.sent >= from).map((e) => e.answered - e.sent)),
    };
  };

  const runs: FailoverRun[] = [];
  const inflight = new Set<Promise<void>>();
  let n = 0;
  let nextFailoverAt = Date.now() + o.everyMs;
  let failing: Promise<void> | undefined;
  try {
    while (accepted.size < o.jobs || runs.length < o.failovers || failing) {
      if (!failing && runs.length < o.failovers && Date.now() >= nextFailoverAt) {
        const index = runs.length + 1;
        failing = (async () => {
          const killedAt = Date.now();
          const report: FailoverReport = await cluster.killPrefixMaster();
          const t = Date.now();
          await cluster.restartNode(report.killedPort);
          // Let the submissions sent during the rejoin be answered before measuring the window.
          await new Promise((r) => setTimeout(r, 2000));
          const run: FailoverRun = {
            failover: index,
            killedPort: report.killedPort,
            promotedPort: report.promotedPort,
            promotedMs: report.ms,
            ...window(killedAt, Date.now()),
            rejoinMs: Date.now() - 2000 - t,
            forced: report.forced,
          };
          runs.push(run);
          say(
            `failover #${index}: :${run.killedPort} killed, :${run.promotedPort} promoted after ${run.promotedMs} ms; no 202 for ${run.noAcceptMs} ms, ${run.refused503} × 503, slowest submission ${run.slowestSubmitMs} ms; old master rejoined as replica in ${run.rejoinMs} ms`,
          );
          nextFailoverAt = Date.now() + o.everyMs;
          failing = undefined;
        })();
      }
      // Submissions go on until both the jobs and the failovers are done: every failover happens under load.
      if (accepted.size < o.jobs || runs.length < o.failovers) {
        const p = submit(n++).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await new Promise((r) => setTimeout(r, 1000 / o.rate));
      if (Date.now() - started > o.timeoutMs) throw new Error('timed out submitting');
    }
    await Promise.all(inflight);
    say(`${accepted.size} jobs accepted, ${refused503} refused with 503; waiting for them to end`);

    const ended = new Map<string, { status: string; ms: number }>();
    while (ended.size < accepted.size && Date.now() - started < o.timeoutMs) {
      for (const [id, at] of accepted) {
        if (ended.has(id)) continue;
        const res = await fetch(`${api.url}/v1/jobs/${id}`).catch(() => undefined);
        if (!res?.ok) {
          if (res?.status === 404) ended.set(id, { status: 'lost', ms: 0 });
          continue;
        }
        const job = (await res.json()) as { status: string; finished_at: string | null };
        if (['succeeded', 'failed', 'canceled'].includes(job.status))
          ended.set(id, { status: job.status, ms: Date.parse(job.finished_at ?? '') - at });
      }
      if (ended.size < accepted.size) {
        say(`${accepted.size - ended.size} jobs still running`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
    const rows = [...ended.values()];
    const ms = rows.filter((r) => r.status === 'succeeded').map((r) => r.ms);
    return {
      accepted: accepted.size,
      refused503,
      refusedOther,
      succeeded: rows.filter((r) => r.status === 'succeeded').length,
      failed: rows.filter((r) => r.status === 'failed' || r.status === 'canceled').length,
      lost: accepted.size - rows.filter((r) => r.status !== 'lost').length,
      p50JobMs: pct(ms, 50),
      p95JobMs: pct(ms, 95),
      maxJobMs: Math.max(...ms),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      runs,
    };
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await api.close();
    await sim.close();
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '400' },
      failovers: { type: 'string', default: '3' },
      every: { type: 'string', default: '8000' },
      rate: { type: 'string', default: '25' },
      workers: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '600000' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const result = await runFailovers({
    jobs: Number(values.jobs),
    failovers: Number(values.failovers),
    everyMs: Number(values.every),
    rate: Number(values.rate),
    workers: Number(values.workers),
    timeoutMs: Number(values.timeout),
    verbose: values.verbose,
    log: (line) => console.error(line),
  });
  const { runs, ...totals } = result;
  console.table(runs);
  console.table([totals]);
  const ok =
    result.failed === 0 &&
    result.lost === 0 &&
    result.succeeded === result.accepted &&
    result.refusedOther === 0 &&
    runs.length > 0;
  console.log(
    ok
      ? `PASS: ${result.accepted} acknowledged jobs, all succeeded through ${runs.length} failovers (503s during failovers: ${result.refused503})`
      : 'FAIL',
  );
  process.exit(ok ? 0 : 1);
}
