/**
 * Event fan-out: Redis commands per job with 1 and with 4 API processes, every job followed live by one SSE
 * client (on the API processes in turn) while one worker process runs it. Each API process listens only to the
 * jobs it has listeners for, so the commands per job must not grow with the number of API processes. (Before
 * the lifecycle core, every process read every event from one global stream: the cost grew with processes ×
 * events.) Baseline: the same service with 1 API process.
 */
import { stopAll } from './lib/children.ts';
import { keepAliveAgent, multipart, submit, wavFile } from './lib/client.ts';
import { TINY_WAV_BYTES } from './lib/pipeline.ts';
import type { BenchResult, Row, Size } from './lib/report.ts';
import {
  commandDelta,
  startApi,
  startBenchRedis,
  startSimulatorProcess,
  startWorkers,
  tempDir,
} from './lib/stack.ts';
import { fmt } from './lib/stats.ts';

const SIZES = { smoke: { jobs: 40, window: 8 }, full: { jobs: 300, window: 16 } };
const PROCESSES = [1, 4];
/** The growth in commands per job from 1 to 4 API processes that still counts as "does not grow". */
const TOLERANCE = 0.05;

/** Reads one job's SSE stream until the server ends it (after the terminal event); returns the event count. */
async function follow(url: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  return (text.match(/^event: /gm) ?? []).length;
}

export async function run(size: Size): Promise<BenchResult> {
  const s = SIZES[size];
  const redis = await startBenchRedis();
  const sim = await startSimulatorProcess({ latencyMs: 0 });
  const data = await tempDir('fanout');
  const perJob = new Map<number, number>();
  const eventsPerJob = new Map<number, number>();
  const notes: string[] = [];
  try {
    const workers = await startWorkers(redis, data.dir, sim.url, 1, { STAGE_CONCURRENCY: '16' });
    try {
      for (const n of PROCESSES) {
        const apis = await Promise.all(Array.from({ length: n }, () => startApi(redis, data.dir)));
        const agent = keepAliveAgent(s.window * 2);
        const body = multipart('audio', 'sample.wav', 'audio/wav', wavFile(TINY_WAV_BYTES));
        try {
          const one = async (i: number) => {
            const submitTo = apis[i % n];
            const followOn = apis[(i + 1) % n];
            if (!submitTo || !followOn) throw new Error('no API process');
            const id = await submit(`${submitTo.url}/v1/jobs`, body, agent);
            return follow(`${followOn.url}/v1/jobs/${id}/events`);
          };
          const many = async (count: number) => {
            let next = 0;
            let events = 0;
            await Promise.all(
              Array.from({ length: s.window }, async () => {
                while (next < count) {
                  const got = await one(next++);
                  events += got;
                }
              }),
            );
            return events;
          };
          await many(s.window * 2); // warm-up: connections, scripts loaded
          const before = await redis.commandStats();
          const events = await many(s.jobs);
          const d = commandDelta(before, await redis.commandStats());
          perJob.set(n, d.total / s.jobs);
          eventsPerJob.set(n, events / s.jobs);
          const top = d.rows
            .slice(0, 6)
            .map(([c, v]) => `${c} ${fmt(v / s.jobs)}`)
            .join(', ');
          notes.push(
            `${n} API process${n > 1 ? 'es' : ''}: ${fmt(d.total / s.jobs)} Redis commands per job (top: ${top}); ` +
              `${fmt(events / s.jobs)} SSE events delivered per job`,
          );
        } finally {
          agent.destroy();
          await stopAll(apis.map((a) => a.child));
        }
      }
    } finally {
      await stopAll(workers);
    }
  } finally {
    await stopAll([sim.child]);
    await data.remove();
    await redis.stop();
  }
  const one = perJob.get(1) ?? Number.NaN;
  const four = perJob.get(4) ?? Number.NaN;
  const rows: Row[] = [
    {
      metric: `Redis commands per job, 4 API processes (each job followed over SSE)`,
      unit: '',
      service: four,
      baseline: one,
      baselineName: '1 API process',
      target: `≤ 1 process's (+${TOLERANCE * 100}%)`,
      met: four <= one * (1 + TOLERANCE),
    },
  ];
  return {
    name: 'api-fanout',
    title: 'Event fan-out',
    setup:
      `${s.jobs} jobs (tiny WAV → transcribe → chat → speak), ${s.window} at a time, each followed by one SSE ` +
      'client on another API process than the one it was submitted to; 1 worker process, simulator at zero latency',
    rows,
    notes,
  };
}
