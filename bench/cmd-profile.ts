/**
 * Redis commands per job, command by command, for the service and the bare chain (and bare + calls), jobs one
 * at a time (or `--window`), from INFO commandstats. A profiling aid behind the orchestration figures.
 *
 *   node bench/cmd-profile.ts [--jobs 100] [--window 1]
 */
import { parseArgs } from 'node:util';
import { baselineRig, jobs, type Rig, serviceRig } from './lib/pipeline.ts';
import { cpuTimesOf } from './lib/proc.ts';
import { commandDelta, startBenchRedis, startSimulatorProcess } from './lib/stack.ts';

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '100' }, window: { type: 'string', default: '1' } },
});
const n = Number(values.jobs);
const window = Number(values.window);
const redis = await startBenchRedis();
const sim = await startSimulatorProcess({ latencyMs: 0 });
const opts = { redis, sim, workers: 1, concurrency: 16, sockets: 64 };
const results: Record<string, Map<string, number>> = {};
for (const kind of ['service', 'bare', 'bare+calls'] as const) {
  const rig: Rig =
    kind === 'service'
      ? await serviceRig(opts)
      : await baselineRig({ ...opts, withProvider: kind === 'bare+calls' });
  await jobs(rig, 20, 4);
  const before = await redis.commandStats();
  const procs = Object.entries(rig.pids).filter(([k]) => k !== 'client' && k !== 'redis');
  const cpu0 = await Promise.all(procs.map(([, pid]) => cpuTimesOf(pid)));
  await jobs(rig, n, window);
  const cpu1 = await Promise.all(procs.map(([, pid]) => cpuTimesOf(pid)));
  const d = commandDelta(before, await redis.commandStats());
  results[kind] = new Map(d.rows.map(([c, v]) => [c, v / n]));
  const cpu = procs
    .map(([k], i) => `${k} ${((((cpu1[i]?.own ?? 0) - (cpu0[i]?.own ?? 0)) * 1000) / n).toFixed(2)}`)
    .join(', ');
  console.log(`${kind}: ${(d.total / n).toFixed(1)} commands per job; CPU ms per job: ${cpu}`);
  await rig.close();
}
const cmds = new Set(Object.values(results).flatMap((m) => [...m.keys()]));
console.table(
  [...cmds]
    .map(
      (c): Record<string, string | number> => ({
        command: c,
        ...(Object.fromEntries(
          Object.entries(results).map(([k, m]) => [k, Number((m.get(c) ?? 0).toFixed(2))]),
        ) as Record<string, number>),
      }),
    )
    .sort((a, b) => Number(b.service ?? 0) - Number(a.service ?? 0)),
);
sim.child.proc.kill();
await redis.stop();
process.exit(0);
