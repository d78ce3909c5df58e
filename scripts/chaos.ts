/**
 * Chaos: jobs through separate worker processes (one per stage) while a random worker is SIGKILLed every
 * few seconds and the simulator answers a share of requests with 429 (with retry-after) and 500.
 * Prints jobs, succeeded, lost, duplicate results, extra provider calls, kills — and checks the promise:
 * every job succeeds once, and provider calls beyond one per stage ≤ kills + injected faults.
 *
 *   npm run chaos -- [--jobs 500] [--kill-every 4000] [--rate429 0.2] [--rate500 0.1]
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startApi } from '../src/api/server.ts';
import { loadConfig } from '../src/shared/config.ts';
import { jobStreamKey } from '../src/shared/events.ts';
import { redisKeys } from '../src/shared/lifecycle/keys.ts';
import { createLogger } from '../src/shared/logger.ts';
import type { Stage } from '../src/shared/pipelines.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { REAL_ENGINES } from '../src/simulator/types.ts';
import { fixture } from '../test/support/http.ts';
import { freePort, startRedis } from '../test/support/index.ts';
import { serviceEnv } from '../test/support/service-env.ts';
import { type ServiceProcess, spawnService } from '../test/support/service-process.ts';

export interface ChaosOptions {
  jobs: number;
  killEveryMs: number;
  rate429: number;
  rate500: number;
  /** Give up once no job has changed status for this long (a busy machine is slow, not stuck). */
  timeoutMs: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  jobs: number;
  succeeded: number;
  failed: number;
  lost: number;
  duplicateResults: number;
  providerCalls: number;
  extraProviderCalls: number;
  injectedFaults: number;
  kills: number;
  seconds: number;
}

const STAGES: Stage[] = ['transcribe', 'chat', 'speak'];

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const say = o.log ?? (() => {});
  const redis = await startRedis();
  // Real recognition/synthesis is not the subject here: the simulator's fast deterministic fallbacks keep
  // the run about orchestration under faults.
  const sim = await startSimulator({
    latencyMs: 20,
    rate429: o.rate429,
    rate500: o.rate500,
    retryAfterMs: 200,
    disableTools: [...REAL_ENGINES],
  });
  const port = await freePort();
  const env = serviceEnv({
    port,
    redis,
    simUrl: sim.url,
    logLevel: 'info', // the killer watches for each worker's 'stage workers started'
    dataDir: `/tmp/voicebot-chaos-${redis.prefix}`,
    extra: {
      STAGE_CONCURRENCY: '1',
      STAGE_ATTEMPTS: '10',
      STAGE_BACKOFF_MS: '50',
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      MAX_STALLED_COUNT: '100',
    },
  });
  const config = loadConfig(env);
  const api = await startApi(config, createLogger({ level: 'warn', env: 'test' }));
  const workers = new Map<Stage, ServiceProcess>();
  /** When each worker said it was working ('stage workers started'): only those are killed. */
  const workingSince = new Map<ServiceProcess, number>();
  const spawnStage = (stage: Stage) =>
    workers.set(stage, spawnService('worker', { ...env, WORKER_STAGES: stage }));
  for (const stage of STAGES) spawnStage(stage);

  const started = Date.now();
  let kills = 0;
  // A worker is killed only once it has been working for a kill interval: on a loaded machine a new process
  // needs seconds to start, and killing it before it works would test nothing but the clock.
  const killer = setInterval(() => {
    const now = Date.now();
    for (const w of workers.values()) {
      if (!workingSince.has(w) && w.output.some((l) => l.includes('stage workers started')))
        workingSince.set(w, now);
    }
    const ripe = STAGES.filter((s) => {
      const since = workingSince.get(workers.get(s) as ServiceProcess);
      return since !== undefined && now - since >= o.killEveryMs;
    });
    const stage = ripe[Math.floor(Math.random() * ripe.length)];
    if (!stage) return;
    workers.get(stage)?.kill('SIGKILL');
    kills++;
    spawnStage(stage);
    say(`kill #${kills}: ${stage} worker`);
  }, o.killEveryMs);

  const wav = await fixture('question.wav');
  const ids: string[] = [];
  try {
    for (let i = 0; i < o.jobs; i += 20) {
      const batch = Array.from({ length: Math.min(20, o.jobs - i) }, async () => {
        const form = new FormData();
        form.append('audio', new Blob([new Uint8Array(wav)]), 'q.wav');
        const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form });
        if (res.status !== 202) throw new Error(`submit answered ${res.status}`);
        ids.push(((await res.json()) as { id: string }).id);
      });
      await Promise.all(batch);
    }
    say(`${ids.length} jobs accepted`);

    const reader = new Redis(config.redisUrl);
    const statusOf = async () => {
      const pipe = reader.pipeline();
      for (const id of ids) pipe.hget(redisKeys(config.prefix).job(id), 'status');
      return ((await pipe.exec()) ?? []).map(([, v]) => v as string | null);
    };
    let statuses = await statusOf();
    let seen = JSON.stringify(statuses);
    let movedAt = Date.now();
    while (Date.now() - movedAt < o.timeoutMs) {
      statuses = await statusOf();
      if (JSON.stringify(statuses) !== seen) {
        seen = JSON.stringify(statuses);
        movedAt = Date.now();
      }
      const open = statuses.filter((s) => s !== 'succeeded' && s !== 'failed' && s !== 'canceled').length;
      if (open === 0) break;
      say(`${open} jobs still running after ${Math.round((Date.now() - started) / 1000)} s`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    clearInterval(killer);

    // A result is the job.succeeded event: count them per job.
    const pipe = reader.pipeline();
    for (const id of ids) pipe.xrange(jobStreamKey(config.prefix, id), '-', '+');
    const streams = ((await pipe.exec()) ?? []).map(([, v]) => v as [string, string[]][]);
    const duplicateResults = streams.filter(
      (s) => s.filter(([, f]) => f[1] === 'job.succeeded').length > 1,
    ).length;
    reader.disconnect();

    const stats = sim.stats();
    const providerCalls = stats.calls.transcriptions + stats.calls.chat + stats.calls.speech;
    const succeeded = statuses.filter((s) => s === 'succeeded').length;
    return {
      jobs: o.jobs,
      succeeded,
      failed: statuses.filter((s) => s === 'failed').length,
      lost: o.jobs - statuses.filter((s) => s === 'succeeded' || s === 'failed' || s === 'canceled').length,
      duplicateResults,
      providerCalls,
      extraProviderCalls: providerCalls - succeeded * STAGES.length,
      injectedFaults: stats.faults['429'] + stats.faults['500'],
      kills,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    clearInterval(killer);
    for (const w of workers.values()) w.kill('SIGKILL');
    await Promise.all([...workers.values()].map((w) => w.exited));
    await api.close();
    await sim.close();
    await redis.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      jobs: { type: 'string', default: '500' },
      'kill-every': { type: 'string', default: '4000' },
      rate429: { type: 'string', default: '0.2' },
      rate500: { type: 'string', default: '0.1' },
      timeout: { type: 'string', default: '600000' },
    },
  });
  const result = await runChaos({
    jobs: Number(values.jobs),
    killEveryMs: Number(values['kill-every']),
    rate429: Number(values.rate429),
    rate500: Number(values.rate500),
    timeoutMs: Number(values.timeout),
    log: (line) => console.error(line),
  });
  console.table(result);
  const ok =
    result.succeeded === result.jobs &&
    result.lost === 0 &&
    result.duplicateResults === 0 &&
    result.extraProviderCalls <= result.kills + result.injectedFaults;
  console.log(ok ? 'PASS: every job succeeded once; extra calls within kills + faults' : 'FAIL');
  process.exit(ok ? 0 : 1);
}
