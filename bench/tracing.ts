/**
 * What tracing costs: the same jobs (tiny WAV, transcribe → chat → speak, simulator at zero latency)
 * through an API process and a worker process with OpenTelemetry off, then on (OTLP/HTTP JSON to a receiver
 * in this process, the SDK's default batching). Rounds alternate off/on so a change in the machine's load
 * hits both. Prints submit→done at light load, completed jobs/s with 64 in flight, CPU ms per job of the
 * API and the worker, and spans exported per job.
 *
 *   node bench/tracing.ts [--rounds 2] [--jobs 1500] [--light 40]
 */
import { parseArgs } from 'node:util';
import { startOtlpReceiver } from '../test/support/otlp-receiver.ts';
import { jobs, serviceRig, throughput } from './lib/pipeline.ts';
import { startBenchRedis, startSimulatorProcess } from './lib/stack.ts';
import { fmt, summarize } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '1500' },
    light: { type: 'string', default: '40' },
    'max-seconds': { type: 'string', default: '25' },
  },
});
const ROUNDS = Number(values.rounds);
const JOBS = Number(values.jobs);
const LIGHT = Number(values.light);
const MAX_SECONDS = Number(values['max-seconds']);
const WINDOW = 64;

interface Row {
  mode: 'off' | 'on';
  round: number;
  lightP50: number;
  lightP99: number;
  perSecond: number;
  apiCpuMs: number;
  workerCpuMs: number;
  spansPerJob: number;
}

const redis = await startBenchRedis();
const sim = await startSimulatorProcess();
const otlp = await startOtlpReceiver();
const rows: Row[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of ['off', 'on'] as const) {
      const env: Record<string, string> =
        mode === 'on'
          ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }
          : {};
      const rig = await serviceRig({
        redis,
        sim,
        workers: 1,
        concurrency: 16,
        sockets: WINDOW,
        apiEnv: env,
        workerEnv: env,
      });
      try {
        await jobs(rig, 30, 8); // warm-up
        const light = summarize((await jobs(rig, LIGHT, 1)).latencies);
        const spansBefore = otlp.spans.length;
        const heavy = await throughput(rig, redis, JOBS, WINDOW, MAX_SECONDS);
        await new Promise((r) => setTimeout(r, 6000)); // the SDK exports every 5 s
        const done = Math.max(1, heavy.completed + heavy.failed);
        const row: Row = {
          mode,
          round,
          lightP50: light.p50,
          lightP99: light.p99,
          perSecond: heavy.perSecond,
          apiCpuMs: heavy.cpuMsPerJob.api ?? 0,
          workerCpuMs: heavy.cpuMsPerJob.worker ?? 0,
          spansPerJob: (otlp.spans.length - spansBefore) / done,
        };
        rows.push(row);
        console.error(
          `round ${round} tracing ${mode}: light p50 ${fmt(row.lightP50)} ms, ${fmt(row.perSecond)} jobs/s, ` +
            `CPU api ${fmt(row.apiCpuMs)} ms/job, worker ${fmt(row.workerCpuMs)} ms/job, ${fmt(row.spansPerJob)} spans/job` +
            (heavy.failed ? `, ${heavy.failed} failed` : ''),
        );
      } finally {
        await rig.close();
      }
    }
  }
} finally {
  await otlp.close();
  sim.child.proc.kill();
  await redis.stop();
}

const mean = (mode: 'off' | 'on', k: keyof Row) => {
  const xs = rows.filter((r) => r.mode === mode).map((r) => Number(r[k]));
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};
const line = (label: string, k: keyof Row, unit: string) => {
  const off = mean('off', k);
  const on = mean('on', k);
  const change = off === 0 ? '—' : `${on >= off ? '+' : ''}${fmt(((on - off) / off) * 100)}%`;
  return `| ${label} | ${fmt(off)} ${unit} | ${fmt(on)} ${unit} | ${change} |`;
};
console.log(`| tracing (mean of ${ROUNDS} rounds each) | off | on | change |`);
console.log('| --- | ---: | ---: | ---: |');
console.log(line('submit→done p50, one job at a time', 'lightP50', 'ms'));
console.log(line('submit→done p99, one job at a time', 'lightP99', 'ms'));
console.log(line(`completed jobs/s, ${WINDOW} in flight`, 'perSecond', '/s'));
console.log(line('API CPU per job', 'apiCpuMs', 'ms'));
console.log(line('worker CPU per job', 'workerCpuMs', 'ms'));
console.log(line('spans exported per job', 'spansPerJob', ''));
process.exit(0);
