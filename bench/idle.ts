/**
 * Idle cost and the small box (issue 25): what the service costs when nothing happens, how fast it wakes, and
 * whether `npm start` plus Redis fits 512 MB under a light load.
 *
 * - idle `npm start` (API + every worker in one process, as deployed: providers behind OPENAI_BASE_URL, here
 *   the simulator in its own process): Redis commands per minute (INFO commandstats), CPU seconds per minute
 *   and RSS over the window;
 * - an idle API process + worker process pair, beside bare BullMQ workers with default options on the same
 *   queues (`baselines/idle-bullmq.ts`), each alone on its own Redis;
 * - wake-up: after `idleMinutes` idle (full 10, smoke 0.25), 20 text jobs one at a time, 3 s apart (the
 *   workers go back to blocking between them): submission (before the POST) to the first stage's start (its
 *   BullMQ `active` event, Redis's clock on this machine), p50; against the same 20 sent back to back to the
 *   busy service;
 * - small box: `npm start` + redis-server under 20 talk turns a minute (a 64 KB WAV through transcribe → chat
 *   → speak every 3 s) and a 100-voicemail batch (256 KB WAVs, transcribe → summarize) sent at the start;
 *   peak RSS (VmHWM) of both together.
 *
 *   node bench/idle.ts [--full]      (full: about 14 minutes, 10 of them idle)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isTerminal } from '../src/shared/job-states.ts';
import { freePort } from '../test/support/index.ts';
import { type Child, spawnNode, stopAll } from './lib/children.ts';
import { keepAliveAgent, multipart, submit, wavFile } from './lib/client.ts';
import { cpuSecondsOf, mb, memoryOf, resetPeak } from './lib/proc.ts';
import type { BenchResult, Row, Size } from './lib/report.ts';
import {
  type BenchRedis,
  commandDelta,
  serviceEnv,
  startApi,
  startBenchRedis,
  startHttpProcess,
  startSimulatorProcess,
  startWorkers,
  tempDir,
} from './lib/stack.ts';
import { fmt, percentile } from './lib/stats.ts';

const SIZES = {
  smoke: { windowSeconds: 20, idleMinutes: 0.25, samples: 20, loadSeconds: 30, voicemails: 20 },
  full: { windowSeconds: 60, idleMinutes: 10, samples: 20, loadSeconds: 180, voicemails: 100 },
};
const TARGETS = { commandsPerMinute: 150, cpuSecondsPerMinute: 0.2, startMs: 50, smallBoxMb: 512 };
const TALK_EVERY_MS = 3000;

interface IdleFigures {
  commandsPerMinute: number;
  cpuPerMinute: number;
  rssMb: number;
  top: string;
}

/** Commands per minute on `redis` and CPU per minute of `pids` over `seconds` of doing nothing. */
async function idleWindow(redis: BenchRedis, pids: number[], seconds: number): Promise<IdleFigures> {
  const before = await redis.commandStats();
  const cpu0 = await Promise.all(pids.map(cpuSecondsOf));
  await sleep(seconds * 1000);
  const d = commandDelta(before, await redis.commandStats());
  const cpu1 = await Promise.all(pids.map(cpuSecondsOf));
  const rss = await Promise.all(pids.map(async (p) => (await memoryOf(p)).rss));
  const perMinute = 60 / seconds;
  // the benchmark's own INFO calls are not the service's
  const own = (d.rows.find(([c]) => c === 'info')?.[1] ?? 0) - 1;
  return {
    commandsPerMinute: (d.total - Math.max(0, own)) * perMinute,
    cpuPerMinute: cpu1.reduce((s, c, i) => s + c - (cpu0[i] ?? 0), 0) * perMinute,
    rssMb: mb(rss.reduce((s, r) => s + r, 0)),
    top: d.rows
      .filter(([c]) => c !== 'info')
      .slice(0, 8)
      .map(([c, n]) => `${c} ${fmt(n * perMinute)}`)
      .join(', '),
  };
}

/** `npm start` as the Dockerfile runs it (without the web build of `prestart`). */
async function startNpmStart(redis: BenchRedis, dataDir: string, simUrl: string) {
  const env = serviceEnv(redis, dataDir, simUrl, { METRICS_PORT: String(await freePort()) });
  return startHttpProcess('npm-start', 'src/main.ts', env);
}

/** Milliseconds from just before each POST to its first stage's BullMQ `active` event. */
async function startLatencies(url: string, redis: BenchRedis, n: number, gapMs: number): Promise<number[]> {
  const events = new Redis(redis.url);
  const agent = keepAliveAgent(2);
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const body = Buffer.from(JSON.stringify({ text: `are you awake ${i}`, pipeline: 'speak' }));
      const before = Date.now();
      const id = await submit(`${url}/v1/jobs`, { body, contentType: 'application/json' }, agent);
      const key = `${redis.prefix}:speak:events`;
      let started: number | undefined;
      for (let tries = 0; started === undefined && tries < 400; tries++) {
        const rows = await events.xrevrange(key, '+', '-', 'COUNT', 200);
        for (const [sid, fields] of rows) {
          const f = new Map<string, string>();
          for (let j = 0; j + 1 < fields.length; j += 2) f.set(fields[j] as string, fields[j + 1] as string);
          if (f.get('event') === 'active' && f.get('jobId') === `${id}_speak`)
            started = Number(sid.split('-')[0]);
        }
        if (started === undefined) await sleep(25);
      }
      if (started === undefined) throw new Error(`job ${id} did not start within 10 s`);
      out.push(started - before);
      // let it finish and the workers go back to blocking
      await sleep(gapMs);
    }
  } finally {
    events.disconnect();
    agent.destroy();
  }
  return out;
}

/** Peak RSS of `npm start` + redis-server under 20 talk turns a minute and a batch of voicemails. */
async function smallBox(size: Size, notes: string[]): Promise<number> {
  const s = SIZES[size];
  const redis = await startBenchRedis();
  const sim = await startSimulatorProcess({ latencyMs: 0 });
  const data = await tempDir('small-box');
  let app: Child | undefined;
  try {
    const started = await startNpmStart(redis, data.dir, sim.url);
    app = started.child;
    await resetPeak(app.pid);
    await resetPeak(redis.pid);
    const agent = keepAliveAgent(8);
    // the batch: many audio files in one multipart request
    const boundary = `----vbsmall${Date.now()}`;
    const wav = wavFile(256 * 1024);
    const parts: Buffer[] = [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="pipeline"\r\n\r\nvoicemail\r\n`),
    ];
    for (let i = 0; i < s.voicemails; i++)
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="audio"; filename="vm${i}.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
        ),
        wav,
        Buffer.from('\r\n'),
      );
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const t0 = Date.now();
    const batchRes = await fetch(`${started.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat(parts),
    });
    if (batchRes.status !== 202) throw new Error(`batch: ${batchRes.status} ${await batchRes.text()}`);
    const batch = (await batchRes.json()) as { id: string };
    const talk = multipart('audio', 'turn.wav', 'audio/wav', wavFile(64 * 1024));
    const turns: string[] = [];
    while (Date.now() - t0 < s.loadSeconds * 1000) {
      turns.push(await submit(`${started.url}/v1/jobs`, talk, agent));
      await sleep(TALK_EVERY_MS);
    }
    const ended = async (path: string, done: (b: Record<string, unknown>) => boolean) => {
      for (let i = 0; i < 1200; i++) {
        const body = (await (await fetch(`${started.url}${path}`)).json()) as Record<string, unknown>;
        if (done(body)) return body;
        await sleep(250);
      }
      throw new Error(`${path} did not end within 5 minutes`);
    };
    const b = await ended(`/v1/batches/${batch.id}`, (x) => x.status === 'completed');
    for (const id of turns) await ended(`/v1/jobs/${id}`, (x) => isTerminal(String(x.status)));
    agent.destroy();
    const [appMem, redisMem] = await Promise.all([memoryOf(app.pid), memoryOf(redis.pid)]);
    notes.push(
      `small box: ${turns.length} talk turns (one per ${TALK_EVERY_MS / 1000} s) and a batch of ${s.voicemails} voicemails (256 KB WAVs; batch ${JSON.stringify(b.counts ?? {})}) over ${fmt((Date.now() - t0) / 1000)} s: peak RSS npm start ${fmt(mb(appMem.peak))} MB + redis-server ${fmt(mb(redisMem.peak))} MB (the simulator, standing in for the provider, runs apart and is not counted; nor are ffprobe runs).`,
    );
    return mb(appMem.peak + redisMem.peak);
  } finally {
    await stopAll([app, sim.child]);
    await redis.stop();
    await data.remove();
  }
}

export async function run(size: Size): Promise<BenchResult> {
  const s = SIZES[size];
  const rows: Row[] = [];
  const notes: string[] = [];

  // 1. idle npm start, then its wake-up after a long idle and when busy
  let idle: IdleFigures;
  let wake: number[];
  let busy: number[];
  {
    const redis = await startBenchRedis();
    const sim = await startSimulatorProcess({ latencyMs: 0 });
    const data = await tempDir('idle');
    let app: Child | undefined;
    try {
      const started = await startNpmStart(redis, data.dir, sim.url);
      app = started.child;
      await sleep(5000); // start-up work (scripts loaded, schedulers) is not idle
      idle = await idleWindow(redis, [app.pid], s.windowSeconds);
      const rest = s.idleMinutes * 60 - s.windowSeconds - 5;
      if (rest > 0) await sleep(rest * 1000);
      wake = await startLatencies(started.url, redis, s.samples, 3000);
      busy = await startLatencies(started.url, redis, s.samples, 0);
    } finally {
      await stopAll([app, sim.child]);
      await redis.stop();
      await data.remove();
    }
  }
  const baseline = 'bare BullMQ workers, default options, same 7 queues';
  notes.push(`idle npm start, per minute: ${idle.top}.`);

  // 2. an idle API + worker pair, and bare BullMQ workers
  let pair: IdleFigures;
  let bare: IdleFigures;
  {
    const redis = await startBenchRedis();
    const sim = await startSimulatorProcess({ latencyMs: 0 });
    const data = await tempDir('idle-pair');
    const children: Child[] = [];
    try {
      const api = await startApi(redis, data.dir);
      children.push(api.child, ...(await startWorkers(redis, data.dir, sim.url, 1)));
      await sleep(5000);
      pair = await idleWindow(
        redis,
        children.map((c) => c.pid),
        s.windowSeconds,
      );
    } finally {
      await stopAll([...children, sim.child]);
      await redis.stop();
      await data.remove();
    }
    notes.push(`idle API + worker processes, per minute: ${pair.top}.`);
  }
  {
    const redis = await startBenchRedis();
    let child: Child | undefined;
    try {
      child = spawnNode('idle-bullmq', 'bench/baselines/idle-bullmq.ts', {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: redis.prefix,
      });
      await child.line(/ready/);
      await sleep(5000);
      bare = await idleWindow(redis, [child.pid], s.windowSeconds);
    } finally {
      await stopAll([child]);
      await redis.stop();
    }
    notes.push(`bare BullMQ workers (defaults), per minute: ${bare.top}.`);
  }

  rows.push(
    {
      metric: 'idle npm start: Redis commands per minute',
      unit: '/min',
      service: idle.commandsPerMinute,
      baseline: bare.commandsPerMinute,
      baselineName: baseline,
      target: `≤ ${TARGETS.commandsPerMinute}`,
      met: idle.commandsPerMinute <= TARGETS.commandsPerMinute,
      ratio: `${fmt(idle.commandsPerMinute / bare.commandsPerMinute)}×`,
    },
    {
      metric: 'idle npm start: CPU per minute',
      unit: 's',
      service: idle.cpuPerMinute,
      baseline: bare.cpuPerMinute,
      baselineName: baseline,
      target: `≤ ${TARGETS.cpuSecondsPerMinute} s`,
      met: idle.cpuPerMinute <= TARGETS.cpuSecondsPerMinute,
    },
    {
      metric: 'idle npm start: RSS',
      unit: 'MB',
      service: idle.rssMb,
      baseline: bare.rssMb,
      baselineName: baseline,
      target: '',
    },
    {
      metric: 'idle API + worker processes: Redis commands per minute',
      unit: '/min',
      service: pair.commandsPerMinute,
      baseline: bare.commandsPerMinute,
      baselineName: baseline,
      target: '',
      ratio: `${fmt(pair.commandsPerMinute / bare.commandsPerMinute)}×`,
    },
    {
      metric: 'idle API + worker processes: CPU per minute (both)',
      unit: 's',
      service: pair.cpuPerMinute,
      baseline: bare.cpuPerMinute,
      baselineName: baseline,
      target: '',
    },
    {
      metric: `job start after ${fmt(s.idleMinutes)} idle min, p50 of ${s.samples} (3 s apart)`,
      unit: 'ms',
      service: percentile(wake, 50),
      baseline: percentile(busy, 50),
      baselineName: 'back to back, busy service',
      target: `≤ ${TARGETS.startMs} ms`,
      met: percentile(wake, 50) <= TARGETS.startMs,
    },
  );
  notes.push(
    `start after idle (ms, in order; the first after ${fmt(s.idleMinutes)} idle minutes): ${wake.map((w) => fmt(w)).join(' ')}; busy: ${busy.map((w) => fmt(w)).join(' ')}.`,
  );

  const peak = await smallBox(size, notes);
  rows.push({
    metric: 'small box: peak RSS npm start + redis-server, light load',
    unit: 'MB',
    service: peak,
    baseline: Number.NaN,
    baselineName: '',
    target: `≤ ${TARGETS.smallBoxMb} MB`,
    met: peak <= TARGETS.smallBoxMb,
  });

  return {
    name: 'idle',
    title: 'Idle and small box',
    setup: `idle windows of ${s.windowSeconds} s; wake-up after ${fmt(s.idleMinutes)} idle minutes; small box ${s.loadSeconds} s of 20 talk turns/min + ${s.voicemails} voicemails`,
    rows,
    notes,
  };
}

if (import.meta.main) {
  const size: Size = process.argv.includes('--full') ? 'full' : 'smoke';
  console.log(JSON.stringify(await run(size), null, 2));
}
