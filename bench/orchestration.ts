/**
 * Orchestration: jobs through transcribe → chat → speak with the simulator at zero latency, submitted
 * through the API (tiny WAV) and heard done from Redis. Baseline: bare BullMQ workers making the same three
 * hops with no-op processors (bench/baselines/bare-bullmq.ts), fed by the bare intake.
 * Targets (issue "the job lifecycle core"): completed pipelines/s ≥ 70% of bare BullMQ making the same three
 * SDK calls; p50 overhead at light load < 10 ms over that chain and < 15 ms over the no-op chain; Redis round
 * trips per job ≤ the no-op chain's + 10 and commands ≤ 1.3× its (MONITOR, one job at a time); worker CPU per
 * job ≤ 1.3× bare BullMQ making the same three SDK calls (issue 24; it was an absolute 3 ms before).
 */
import { availableParallelism } from 'node:os';
import { stopAll } from './lib/children.ts';
import {
  baselineRig,
  jobs,
  type Rig,
  type RoundTrips,
  roundTrips,
  serviceBreakdown,
  serviceRig,
  type Throughput,
  throughput,
} from './lib/pipeline.ts';
import type { BenchResult, Row, Size } from './lib/report.ts';
import { startBenchRedis, startSimulatorProcess } from './lib/stack.ts';
import { fmt, summarize } from './lib/stats.ts';

/** `jobs` unless `maxSeconds` passes first (no new submissions after it; the run's time stays bounded). */
export const SIZES = {
  smoke: { jobs: 500, maxSeconds: 8, light: 20, warmup: 20 },
  full: { jobs: 10_000, maxSeconds: 150, light: 50, warmup: 100 },
};
/** Jobs in flight during the throughput run, and per-stage concurrency of each worker process (both sides). */
export const WINDOW = 64;
export const CONCURRENCY = 16;
/** Pipelines/s as a share of bare BullMQ making the same three SDK calls. */
const TARGET = 0.7;
/** Jobs run one at a time under Redis MONITOR to count round trips. */
const MONITORED_JOBS = 10;
/** Light-load p50 overhead over the chain making the same calls, and over the no-op chain. */
const OVERHEAD_MS = 10;
const OVERHEAD_NOOP_MS = 15;
const EXTRA_ROUND_TRIPS = 10;
const COMMANDS_FACTOR = 1.3;
const WORKER_CPU_FACTOR = 1.3;

interface Side {
  light: ReturnType<typeof summarize>;
  heavy: Throughput;
  /** Median ms per step at light load, from the service's job event streams. */
  breakdown?: string;
  firstFailure?: string;
  trips: RoundTrips;
}

async function measure(rig: Rig, redis: Parameters<typeof throughput>[1], s: (typeof SIZES)[Size]) {
  const warm = await jobs(rig, s.warmup, 8);
  if (warm.failed > 0)
    throw new Error(`${rig.kind}: warm-up job failed: ${await rig.inspect(warm.failedIds[0] ?? '')}`);
  const light = await jobs(rig, s.light, 1);
  const trips = await roundTrips(redis, MONITORED_JOBS, () => jobs(rig, MONITORED_JOBS, 1));
  const heavy = await throughput(rig, redis, s.jobs, WINDOW, s.maxSeconds);
  return {
    light: summarize(light.latencies),
    heavy,
    breakdown: rig.kind === 'service' ? await serviceBreakdown(redis, light.ids) : undefined,
    firstFailure: heavy.failedIds[0] ? await rig.inspect(heavy.failedIds[0]) : undefined,
    trips,
  } satisfies Side;
}

export async function run(size: Size): Promise<BenchResult> {
  const s = SIZES[size];
  const redis = await startBenchRedis();
  const sim = await startSimulatorProcess({ latencyMs: 0 });
  const opts = { redis, sim, workers: 1, concurrency: CONCURRENCY, sockets: WINDOW };
  let rig: Rig | undefined;
  try {
    rig = await serviceRig(opts);
    const svc = await measure(rig, redis, s);
    await rig.close();
    rig = await baselineRig(opts);
    const base = await measure(rig, redis, s);
    await rig.close();
    rig = await baselineRig({ ...opts, withProvider: true });
    const work = await measure(rig, redis, s);
    await rig.close();
    rig = undefined;

    const ratio = svc.heavy.perSecond / work.heavy.perSecond;
    const overheadNoop = svc.light.p50 - base.light.p50;
    const overhead = svc.light.p50 - work.light.p50;
    const commands = (t: RoundTrips) => t.perJob + t.scriptPerJob;
    const workerCpu = (t: Throughput) =>
      Object.entries(t.cpuMsPerJob)
        .filter(([k]) => k.startsWith('worker'))
        .reduce((a, [, v]) => a + v, 0);
    const rows: Row[] = [
      {
        metric: `completed pipelines/s (${svc.heavy.completed} vs ${base.heavy.completed} jobs, ${WINDOW} in flight)`,
        unit: '/s',
        service: svc.heavy.perSecond,
        baseline: base.heavy.perSecond,
        baselineName: 'bare BullMQ',
        target: '',
      },
      {
        metric: 'submit→done p50 under load',
        unit: 'ms',
        service: svc.heavy.latencies.length ? summarize(svc.heavy.latencies).p50 : Number.NaN,
        baseline: summarize(base.heavy.latencies).p50,
        baselineName: 'bare BullMQ',
        target: '',
      },
      {
        metric: 'submit→done p99 under load',
        unit: 'ms',
        service: summarize(svc.heavy.latencies).p99,
        baseline: summarize(base.heavy.latencies).p99,
        baselineName: 'bare BullMQ',
        target: '',
      },
      {
        metric: `submit→done p50, light load (1 at a time, ${s.light} jobs)`,
        unit: 'ms',
        service: svc.light.p50,
        baseline: base.light.p50,
        baselineName: 'bare BullMQ',
        target: `overhead < ${OVERHEAD_NOOP_MS} ms`,
        met: overheadNoop < OVERHEAD_NOOP_MS,
        ratio: `${overheadNoop >= 0 ? '+' : ''}${fmt(overheadNoop)} ms`,
      },
      {
        metric: 'submit→done p99, light load',
        unit: 'ms',
        service: svc.light.p99,
        baseline: base.light.p99,
        baselineName: 'bare BullMQ',
        target: '',
      },
      {
        metric: 'completed pipelines/s, vs bare BullMQ making the same 3 SDK calls',
        unit: '/s',
        service: svc.heavy.perSecond,
        baseline: work.heavy.perSecond,
        baselineName: 'bare + calls',
        target: `≥ ${TARGET * 100}% of baseline`,
        met: ratio >= TARGET && svc.heavy.failed === 0,
      },
      {
        metric: 'submit→done p50, light load, vs bare BullMQ making the same 3 SDK calls',
        unit: 'ms',
        service: svc.light.p50,
        baseline: work.light.p50,
        baselineName: 'bare + calls',
        target: `overhead < ${OVERHEAD_MS} ms`,
        met: overhead < OVERHEAD_MS,
        ratio: `${overhead >= 0 ? '+' : ''}${fmt(overhead)} ms`,
      },
      {
        metric: `Redis round trips per job (MONITOR, ${MONITORED_JOBS} jobs one at a time)`,
        unit: '',
        service: svc.trips.perJob,
        baseline: base.trips.perJob,
        baselineName: 'bare BullMQ',
        target: `≤ baseline + ${EXTRA_ROUND_TRIPS}`,
        met: svc.trips.perJob <= base.trips.perJob + EXTRA_ROUND_TRIPS,
        ratio: `+${fmt(svc.trips.perJob - base.trips.perJob)}`,
      },
      {
        metric: 'Redis commands per job, those inside Lua scripts included (same count)',
        unit: '',
        service: commands(svc.trips),
        baseline: commands(base.trips),
        baselineName: 'bare BullMQ',
        target: `≤ ${COMMANDS_FACTOR}× baseline`,
        met: commands(svc.trips) <= COMMANDS_FACTOR * commands(base.trips),
      },
      {
        metric: 'worker CPU per job under load',
        unit: 'ms',
        service: workerCpu(svc.heavy),
        baseline: workerCpu(work.heavy),
        baselineName: 'bare + calls',
        target: `≤ ${WORKER_CPU_FACTOR}× baseline`,
        met: workerCpu(svc.heavy) <= WORKER_CPU_FACTOR * workerCpu(work.heavy),
      },
    ];
    const notes = [
      describe('voicebot', svc.heavy) + (svc.firstFailure ? `; first failed job: ${svc.firstFailure}` : ''),
      describe('bare', base.heavy) + (base.firstFailure ? `; first failed job: ${base.firstFailure}` : ''),
      describe('bare + calls', work.heavy) +
        (work.firstFailure ? `; first failed job: ${work.firstFailure}` : ''),
      `voicebot at light load, median ms per step (from each job's event stream): ${svc.breakdown}`,
      `Redis round trips per job (MONITOR, ${MONITORED_JOBS} jobs one at a time; MULTI…EXEC counted once, idle ` +
        `polling included): voicebot ${fmt(svc.trips.perJob)} (${tripList(svc.trips)}) + ${fmt(svc.trips.scriptPerJob)} ` +
        `commands inside Lua scripts; bare ${fmt(base.trips.perJob)} (${tripList(base.trips)}) + ` +
        `${fmt(base.trips.scriptPerJob)} inside scripts.`,
      ...(ratio < TARGET ? [missedNote(svc, work)] : []),
    ];
    return {
      name: 'orchestration',
      title: 'Orchestration',
      setup:
        `${s.jobs} jobs or ${s.maxSeconds} s of submissions, whichever ends first (tiny WAV → transcribe → chat → speak), ` +
        `closed loop with ${WINDOW} jobs in flight; ` +
        `1 API + 1 worker process (STAGE_CONCURRENCY=${CONCURRENCY}) vs bare intake + 1 bare BullMQ process ` +
        `(concurrency ${CONCURRENCY}), no-op processors, and the same with processors making the three SDK calls ` +
        '("bare + calls"); simulator at zero latency, tools off.',
      rows,
      notes,
    };
  } finally {
    await rig?.close();
    await stopAll([sim.child]);
    await redis.stop();
  }
}

/** One line of where the time went: cores busy per process, CPU ms and Redis commands per job. */
export function describe(label: string, t: Throughput): string {
  const ours = Object.values(t.cores).reduce((a, b) => a + b, 0);
  const cores = `${Object.entries(t.cores)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(
      ', ',
    )} (all of these ${fmt(ours)}; whole machine ${fmt(t.machineBusy)} of ${availableParallelism()})`;
  const cpu = Object.entries(t.cpuMsPerJob)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
  const top = t.topCommands.map(([c, n]) => `${c} ${fmt(n)}`).join(', ');
  return (
    `${label}: ${fmt(t.perSecond)} jobs/s over ${fmt(t.seconds)} s${t.failed ? `, ${t.failed} FAILED` : ''}; ` +
    `cores busy: ${cores}; CPU ms per job: ${cpu}; Redis commands per job ${fmt(t.redisPerJob)} (top: ${top})`
  );
}

const tripList = (t: RoundTrips) => t.top.map(([c, n]) => `${c} ${fmt(n)}`).join(', ');

function missedNote(svc: Side, base: Side): string {
  const sum = (t: Throughput, pred: (k: string) => boolean) =>
    Object.entries(t.cpuMsPerJob)
      .filter(([k]) => pred(k))
      .reduce((a, [, v]) => a + v, 0);
  const own = sum(svc.heavy, (k) => k.startsWith('worker') && !k.endsWith('children'));
  const kids = sum(svc.heavy, (k) => k.startsWith('worker') && k.endsWith('children'));
  const bare = sum(base.heavy, (k) => k.startsWith('workers'));
  const api = sum(svc.heavy, (k) => k === 'api');
  const intake = sum(base.heavy, (k) => k === 'intake');
  return (
    `Missed: CPU per job — voicebot worker ${fmt(own)} ms + ${fmt(kids)} ms in its child processes ` +
    `(ffprobe/ffmpeg) vs bare workers ${fmt(bare)} ms; API ${fmt(api)} ms vs bare intake ${fmt(intake)} ms; ` +
    `Redis round trips ${fmt(svc.trips.perJob)} vs ${fmt(base.trips.perJob)}. With ${availableParallelism()} cores ` +
    'shared by every process, throughput is bounded by CPU per job; see the analysis below for what would close it.'
  );
}

if (import.meta.main) {
  const size = process.argv.includes('--full') ? 'full' : 'smoke';
  console.log(JSON.stringify(await run(size), null, 2));
  process.exit(0);
}
