/**
 * Scale-out: the orchestration load with 1, 2 and 4 worker processes on this machine, against bare BullMQ
 * with the same number of processes. Shows how throughput grows with processes until the machine's cores
 * (shared by API, workers, Redis, simulator and the load generator) are the limit.
 */
import { availableParallelism } from 'node:os';
import { stopAll } from './lib/children.ts';
import { baselineRig, jobs, type Rig, serviceRig, type Throughput, throughput } from './lib/pipeline.ts';
import type { BenchResult, Row, Size } from './lib/report.ts';
import { startBenchRedis, startSimulatorProcess } from './lib/stack.ts';
import { fmt } from './lib/stats.ts';
import { CONCURRENCY, describe, WINDOW } from './orchestration.ts';

/** Smoke keeps fewer jobs in flight so a slow run drains quickly; full is the orchestration load. */
const SIZES = {
  smoke: { processes: [1, 2, 4], jobs: 200, maxSeconds: 3, warmup: 5, window: 16 },
  full: { processes: [1, 2, 4], jobs: 5_000, maxSeconds: 45, warmup: 50, window: WINDOW },
};

export async function run(size: Size): Promise<BenchResult> {
  const s = SIZES[size];
  const redis = await startBenchRedis();
  const sim = await startSimulatorProcess({ latencyMs: 0 });
  let rig: Rig | undefined;
  const measure = async (make: typeof serviceRig, n: number) => {
    rig = await make({ redis, sim, workers: n, concurrency: CONCURRENCY, sockets: s.window });
    const warm = await jobs(rig, s.warmup, 8);
    if (warm.failed > 0)
      throw new Error(`${rig.kind}: warm-up failed: ${await rig.inspect(warm.failedIds[0] ?? '')}`);
    const t = await throughput(rig, redis, s.jobs, s.window, s.maxSeconds);
    await rig.close();
    rig = undefined;
    return t;
  };
  try {
    const svc = new Map<number, Throughput>();
    const base = new Map<number, Throughput>();
    for (const n of s.processes) {
      svc.set(n, await measure(serviceRig, n));
      base.set(n, await measure(baselineRig, n));
    }
    const rate = (m: Map<number, Throughput>, n: number) => m.get(n)?.perSecond ?? Number.NaN;
    const rows: Row[] = s.processes.map((n) => ({
      metric: `${n} worker process${n > 1 ? 'es' : ''}: completed pipelines/s`,
      unit: '/s',
      service: rate(svc, n),
      baseline: rate(base, n),
      baselineName: `bare BullMQ × ${n}`,
      target: '',
    }));
    const first = s.processes[0] ?? 1;
    const last = s.processes.at(-1) ?? 1;
    rows.push({
      metric: `speed-up, ${last} processes vs ${first}`,
      unit: '×',
      service: rate(svc, last) / rate(svc, first),
      baseline: rate(base, last) / rate(base, first),
      baselineName: 'bare BullMQ',
      target: '',
    });
    const notes = s.processes.flatMap((n) => [
      describe(`voicebot × ${n}`, svc.get(n) as Throughput),
      describe(`bare × ${n}`, base.get(n) as Throughput),
    ]);
    const ours = (t: Throughput | undefined) => Object.values(t?.cores ?? {}).reduce((a, b) => a + b, 0);
    const cores = availableParallelism();
    const saturated = s.processes.filter((n) => (svc.get(n)?.machineBusy ?? 0) >= 0.9 * cores);
    notes.push(
      `CPU, voicebot with ${s.processes.join(' / ')} worker processes: its processes kept ` +
        `${s.processes.map((n) => fmt(ours(svc.get(n)))).join(' / ')} cores busy, the whole machine ` +
        `${s.processes.map((n) => fmt(svc.get(n)?.machineBusy ?? Number.NaN)).join(' / ')} of ${cores}. ` +
        (saturated.length > 0
          ? `With ${saturated.join(', ')} process(es) the machine's CPU was saturated: more processes on the same cores cannot add throughput.`
          : 'The machine was not saturated.'),
    );
    return {
      name: 'scale-out',
      title: 'Scale-out',
      setup:
        `orchestration load (${s.jobs} jobs or ${s.maxSeconds} s, ${s.window} in flight) with ${s.processes.join(', ')} worker ` +
        `processes (STAGE_CONCURRENCY=${CONCURRENCY} each) behind one API, same machine; baseline: bare intake + the ` +
        'same number of bare BullMQ processes.',
      rows,
      notes,
    };
  } finally {
    await (rig as Rig | undefined)?.close();
    await stopAll([sim.child]);
    await redis.stop();
  }
}

if (import.meta.main) {
  const size = process.argv.includes('--full') ? 'full' : 'smoke';
  console.log(JSON.stringify(await run(size), null, 2));
  process.exit(0);
}
