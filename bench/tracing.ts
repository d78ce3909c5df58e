/**
 * What tracing costs: the same jobs (tiny WAV, transcribe → chat → speak, simulator at zero latency)
 * through an API process and a worker process with OpenTelemetry off, then on (OTLP/HTTP JSON to a receiver
 * in this process, the SDK's default batching). Rounds alternate off/on so a change in the machine's load
 * hits both; the medians over rounds are reported. Prints submit→done at light load, completed jobs/s with 64 in flight, CPU ms per job of the
 * API and the worker, and spans exported per job. Then, because those figures move more with the machine's
 * load than with tracing, the CPU the tracing code itself costs per job, in this process: a job's spans
 * (request, three stages, three provider calls with their usage read from the answer) made with tracing
 * off, then on and exported to a sink process, timed with process.cpuUsage() (flush included).
 *
 *   node bench/tracing.ts [--rounds 2] [--jobs 1500] [--light 40]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { Job } from 'bullmq';
import {
  currentTraceparent,
  inSpan,
  startTracing,
  stopTracing,
  tracedFetch,
  tracedProcessor,
} from '../src/shared/tracing.ts';
import { freePort } from '../test/support/index.ts';
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
    'micro-jobs': { type: 'string', default: '20000' },
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

/** The median over rounds: one round hit by other work on the machine does not move it. */
const mean = (mode: 'off' | 'on', k: keyof Row) => {
  const xs = rows
    .filter((r) => r.mode === mode)
    .map((r) => Number(r[k]))
    .sort((a, b) => a - b);
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? (xs[mid] ?? 0) : ((xs[mid - 1] ?? 0) + (xs[mid] ?? 0)) / 2;
};
const line = (label: string, k: keyof Row, unit: string) => {
  const off = mean('off', k);
  const on = mean('on', k);
  const change = off === 0 ? '—' : `${on >= off ? '+' : ''}${fmt(((on - off) / off) * 100)}%`;
  return `| ${label} | ${fmt(off)} ${unit} | ${fmt(on)} ${unit} | ${change} |`;
};
console.log(`| tracing (median of ${ROUNDS} rounds each) | off | on | change |`);
console.log('| --- | ---: | ---: | ---: |');
console.log(line('submit→done p50, one job at a time', 'lightP50', 'ms'));
console.log(line('submit→done p99, one job at a time', 'lightP99', 'ms'));
console.log(line(`completed jobs/s, ${WINDOW} in flight`, 'perSecond', '/s'));
console.log(line('API CPU per job', 'apiCpuMs', 'ms'));
console.log(line('worker CPU per job', 'workerCpuMs', 'ms'));
console.log(line('spans exported per job', 'spansPerJob', ''));

// ── The tracing code's own CPU per job, in this process ─────────────────────────────────────────────
const MICRO = Number(values['micro-jobs']);
const usage = JSON.stringify({ model: 'm', usage: { prompt_tokens: 12, completion_tokens: 30 } });
const fakeFetch = async (_input: string | URL | Request, _init?: RequestInit) =>
  new Response(usage, { headers: { 'content-type': 'application/json' } });
async function oneJob(): Promise<void> {
  let parent: string | null = null;
  await inSpan('POST /v1/jobs', {}, async () => {
    parent = currentTraceparent();
  });
  for (const stage of ['transcribe', 'chat', 'speak']) {
    const call = tracedFetch(stage, 'm', fakeFetch);
    const run = tracedProcessor(
      `stage ${stage}`,
      stage,
      async () => parent,
      async () => {
        await (await call('http://127.0.0.1/v1/chat/completions', { method: 'POST' })).json();
        return 'done';
      },
    );
    await run({ id: '1', attemptsMade: 0, data: { jobId: 'x' } } as unknown as Job);
  }
}
async function cpuPerJob(): Promise<number> {
  for (let i = 0; i < 500; i++) await oneJob(); // warm-up
  const t0 = process.cpuUsage();
  for (let i = 0; i < MICRO; i++) await oneJob();
  await stopTracing(); // the export of the last batches is part of the cost (a no-op while off)
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / MICRO;
}
const sinkPort = await freePort();
const sink = spawn(
  process.execPath,
  [
    '-e',
    `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); }).listen(${sinkPort}, '127.0.0.1')`,
  ],
  { stdio: 'ignore' },
);
try {
  await new Promise((r) => setTimeout(r, 300));
  const off = await cpuPerJob();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${sinkPort}`;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
  await startTracing('bench');
  const on = await cpuPerJob();
  console.log(
    `| tracing code's CPU per job (${MICRO} jobs in-process, 7 spans each, OTLP http/protobuf export) | ${fmt(off)} µs | ${fmt(on)} µs | +${fmt(on - off)} µs |`,
  );
} finally {
  sink.kill();
}
process.exit(0);
