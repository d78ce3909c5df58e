/**
 * Intake: `POST /v1/jobs` with a 32 KB WAV at several concurrencies (autocannon), no workers running.
 * Baseline: bench/baselines/bare-intake.ts (bare node:http + busboy + file write + one BullMQ add).
 * Targets: accepted jobs/s ≥ 70% of the baseline's; ≤ 2 Redis round trips per accepted job; the API's RSS
 * ≤ 250 MB through a sustained run (60 s at 64 connections in the full size).
 */
import autocannon from 'autocannon';
import { stopAll } from './lib/children.ts';
import { keepAliveAgent, multipart, submit, wavFile } from './lib/client.ts';
import { type RoundTrips, roundTrips } from './lib/pipeline.ts';
import { cpuMeter, memoryOf } from './lib/proc.ts';
import { type BenchResult, type Row, ratioOf, type Size } from './lib/report.ts';
import {
  type BenchRedis,
  commandDelta,
  type HttpProcess,
  startApi,
  startBenchRedis,
  startHttpProcess,
  tempDir,
} from './lib/stack.ts';
import { fmt } from './lib/stats.ts';

const SIZES = {
  smoke: { seconds: 2, warmup: 1, connections: [1, 16, 64], sustained: 5 },
  full: { seconds: 10, warmup: 3, connections: [1, 16, 64], sustained: 60 },
};
const MAX_ROUND_TRIPS = 2;
const MAX_RSS_MB = 250;
const WAV_BYTES = 32 * 1024;
const TARGET = 0.7;
const MONITORED = 10;

interface Measure {
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  cores: Record<string, number>;
  machineBusy: number;
  redisPerRequest: number;
  cpuMsPerRequest: number;
}

export async function run(size: Size): Promise<BenchResult> {
  const s = SIZES[size];
  const redis = await startBenchRedis();
  const svcDir = await tempDir('intake-svc');
  const bareDir = await tempDir('intake-bare');
  let api: HttpProcess | undefined;
  let bare: HttpProcess | undefined;
  try {
    api = await startApi(redis, svcDir.dir);
    bare = await startHttpProcess('bare-intake', 'bench/baselines/bare-intake.ts', {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `${redis.prefix.slice(0, -1)}-bare}`,
      DATA_DIR: bareDir.dir,
    });
    const form = multipart('audio', 'sample.wav', 'audio/wav', wavFile(WAV_BYTES));
    const targets = { service: api, baseline: bare };
    for (const t of Object.values(targets)) await load(t.url, form, 16, s.warmup);

    const rows: Row[] = [];
    const notes: string[] = [];
    // Round trips per request, counted with MONITOR on a few sequential requests (MULTI…EXEC = one).
    const trips = async (t: HttpProcess) => {
      const agent = keepAliveAgent(1);
      const r = await roundTrips(redis, MONITORED, async () => {
        for (let i = 0; i < MONITORED; i++) await submit(`${t.url}/v1/jobs`, form, agent);
      });
      agent.destroy();
      return r;
    };
    const svcTrips = await trips(api);
    const bareTrips = await trips(bare);
    const list = (t: RoundTrips) => t.top.map(([c, n]) => `${c} ${fmt(n)}`).join(', ');
    // The per-client rate limiter (on in the benchmark's service: see serviceEnv) runs its one script before
    // the upload is read, so a refused client sends no body; the target counts what follows the stored upload.
    const limiterTrips = 1;
    rows.push({
      metric:
        'Redis round trips per accepted job after the upload (MONITOR; + 1 before it: the rate limiter)',
      unit: '',
      service: svcTrips.perJob - limiterTrips,
      baseline: bareTrips.perJob,
      baselineName: 'bare intake',
      target: `≤ ${MAX_ROUND_TRIPS}`,
      met: svcTrips.perJob - limiterTrips <= MAX_ROUND_TRIPS,
    });
    notes.push(
      `Redis round trips per accepted job (MONITOR, ${MONITORED} requests one at a time, MULTI…EXEC counted once): ` +
        `voicebot ${fmt(svcTrips.perJob)} (${list(svcTrips)}) + ${fmt(svcTrips.scriptPerJob)} commands inside Lua ` +
        `scripts; bare ${fmt(bareTrips.perJob)} (${list(bareTrips)}) + ${fmt(bareTrips.scriptPerJob)} inside scripts.`,
    );
    for (const c of s.connections) {
      const svc = await measure(redis, api, form, c, s.seconds);
      const base = await measure(redis, bare, form, c, s.seconds);
      const ratio = svc.rps / base.rps;
      rows.push(
        {
          metric: `accepted jobs/s, ${c} connection${c > 1 ? 's' : ''}`,
          unit: '/s',
          service: svc.rps,
          baseline: base.rps,
          baselineName: 'bare intake',
          target: `≥ ${TARGET * 100}% of baseline`,
          met: ratio >= TARGET && svc.failures === 0,
        },
        {
          metric: `latency p50 / p99, ${c} conn. (1 ms resolution)`,
          unit: 'ms',
          service: svc.p50,
          baseline: base.p50,
          baselineName: 'bare intake',
          target: '',
          ratio: `p99 ${fmt(svc.p99)} vs ${fmt(base.p99)} ms`,
        },
      );
      notes.push(
        `${c} conn.: API ${fmt(svc.cpuMsPerRequest)} ms CPU and ${fmt(svc.redisPerRequest)} Redis commands per job ` +
          `vs bare ${fmt(base.cpuMsPerRequest)} ms and ${fmt(base.redisPerRequest)}; ` +
          `cores busy (service run): ${coreList(svc.cores)}, whole machine ${fmt(svc.machineBusy)}; ` +
          `(baseline run): ${coreList(base.cores)}, whole machine ${fmt(base.machineBusy)}` +
          (svc.failures + base.failures > 0 ? `; failed requests: ${svc.failures} vs ${base.failures}` : '') +
          (ratio < TARGET ? ` — throughput ${ratioOf(svc.rps, base.rps)} of baseline: MISSED` : ''),
      );
    }
    // Sustained intake: the API's resident memory while it takes jobs for a while (peak of 2 samples/s).
    const sustained = async (t: HttpProcess) => {
      let peak = 0;
      const idle = (await memoryOf(t.child.pid)).rss;
      const sampler = setInterval(() => {
        memoryOf(t.child.pid).then(
          (m) => {
            peak = Math.max(peak, m.rss);
          },
          () => {},
        );
      }, 500);
      const r = await load(t.url, form, 64, s.sustained);
      clearInterval(sampler);
      return {
        peak: Math.max(peak, (await memoryOf(t.child.pid)).rss) / 2 ** 20,
        idle: idle / 2 ** 20,
        ok: r['2xx'],
      };
    };
    const svcMem = await sustained(api);
    const bareMem = await sustained(bare);
    rows.push({
      metric: `API peak RSS during ${s.sustained} s of intake at 64 connections`,
      unit: 'MB',
      service: svcMem.peak,
      baseline: bareMem.peak,
      baselineName: 'bare intake',
      target: `≤ ${MAX_RSS_MB} MB`,
      met: svcMem.peak <= MAX_RSS_MB,
    });
    notes.push(
      `Sustained intake (${s.sustained} s, 64 connections): API RSS ${fmt(svcMem.idle)} MB before → peak ` +
        `${fmt(svcMem.peak)} MB over ${svcMem.ok} accepted jobs; bare intake ${fmt(bareMem.idle)} → ${fmt(bareMem.peak)} MB ` +
        `over ${bareMem.ok}.`,
    );
    return {
      name: 'intake',
      title: 'Intake',
      setup: `POST /v1/jobs with a ${WAV_BYTES / 1024} KB WAV (multipart), autocannon ${s.seconds} s per level, no workers; API = one process.`,
      rows,
      notes,
    };
  } finally {
    await stopAll([api?.child, bare?.child]);
    await redis.stop();
    await svcDir.remove();
    await bareDir.remove();
  }
}

const coreList = (cores: Record<string, number>) =>
  Object.entries(cores)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');

function load(
  url: string,
  form: { body: Buffer; contentType: string },
  connections: number,
  seconds: number,
) {
  return autocannon({
    url: `${url}/v1/jobs`,
    method: 'POST',
    headers: { 'content-type': form.contentType },
    body: form.body,
    connections,
    duration: seconds,
    timeout: 30,
  });
}

async function measure(
  redis: BenchRedis,
  server: HttpProcess,
  form: { body: Buffer; contentType: string },
  connections: number,
  seconds: number,
): Promise<Measure> {
  const meter = cpuMeter({ server: server.child.pid, redis: redis.pid, client: process.pid });
  const before = await redis.commandStats();
  await meter.start();
  const r = await load(server.url, form, connections, seconds);
  const cpu = await meter.stop();
  const after = await redis.commandStats();
  const ok = r['2xx'];
  const commands = commandDelta(before, after).total - 2; // minus this benchmark's two INFO calls
  return {
    rps: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    failures: r.non2xx + r.errors + r.timeouts,
    cores: cpu.cores,
    machineBusy: cpu.machineBusy,
    redisPerRequest: commands / Math.max(1, ok),
    cpuMsPerRequest: ((cpu.cores.server ?? 0) * cpu.seconds * 1000) / Math.max(1, ok),
  };
}

if (import.meta.main) {
  const size = process.argv.includes('--full') ? 'full' : 'smoke';
  console.log(JSON.stringify(await run(size), null, 2));
  process.exit(0);
}
