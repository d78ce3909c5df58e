/**
 * Fairness: one client's large batch must not hold another client's single job behind it.
 * Client A submits a batch of N text jobs; once they are queued, client B submits one job. Measures B's
 * submit-to-done latency with fair queuing (per-client priority: a client's n-th job in flight gets priority
 * n at every stage) and without (FIFO), each in its own fresh service, same load.
 *
 *   node bench/fairness.ts [--jobs 10000]
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startApi } from '../src/api/server.ts';
import { ApiKeys } from '../src/shared/api-keys.ts';
import { loadConfig } from '../src/shared/config.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { startWorker } from '../src/worker/runner.ts';
import { freePort, startRedis } from '../test/support/index.ts';

export interface FairnessRow {
  mode: 'fair' | 'fifo';
  bigBatch: number;
  smallJobLatencyMs: number;
  bigBatchDoneAfterMs: number;
}

async function once(mode: 'fair' | 'fifo', jobs: number): Promise<FairnessRow> {
  const redis = await startRedis();
  const sim = await startSimulator({
    latencyMs: 5,
    disableTools: ['pocketsphinx', 'festival', 'espeak-ng', 'ffmpeg', 'ffprobe'],
  });
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(port),
    HOST: '127.0.0.1',
    ...redis.env(),
    QUEUE_PREFIX: `{${redis.prefix}}`,
    DATA_DIR: `/tmp/vb-fairness-${redis.prefix}`,
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: `${sim.url}/v1`,
    STAGE_CONCURRENCY: '8',
    FAIR_QUEUEING: mode === 'fair' ? 'true' : 'false',
    MAX_JOBS_IN_FLIGHT: String(jobs + 10),
    MAX_BATCH_ITEMS: String(jobs),
    RATE_LIMIT_RPM: '0',
  });
  const log = createLogger({ level: 'silent', env: 'test' });
  const admin = new Redis(config.redisUrl);
  const keys = new ApiKeys(admin, config.prefix);
  const big = (await keys.create({ name: 'big' })).key;
  const small = (await keys.create({ name: 'small' })).key;
  const api = await startApi(config, log);
  const post = (key: string, path: string, body: unknown) =>
    fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => (await r.json()) as { id: string });
  const status = async (key: string, path: string) =>
    (await (
      await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as Record<string, unknown>;
  try {
    // Queue the big batch first with no worker running, so it is all waiting when the small job arrives.
    const batch = await post(big, '/v1/batches', {
      items: Array.from({ length: jobs }, (_, i) => ({ text: `big job ${i}` })),
    });
    const worker = await startWorker(config, log);
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    const submitted = Date.now();
    const job = await post(small, '/v1/jobs', { text: 'small client, one job' });
    let smallDone = 0;
    let bigDone = 0;
    while (!smallDone || !bigDone) {
      if (!smallDone && (await status(small, `/v1/jobs/${job.id}`)).status === 'succeeded')
        smallDone = Date.now();
      if (!bigDone && (await status(big, `/v1/batches/${batch.id}`)).status === 'completed')
        bigDone = Date.now();
      await new Promise((r) => setTimeout(r, 20));
    }
    await worker.close();
    return {
      mode,
      bigBatch: jobs,
      smallJobLatencyMs: smallDone - submitted,
      bigBatchDoneAfterMs: bigDone - started,
    };
  } finally {
    admin.disconnect();
    await api.close();
    await sim.close();
    await redis.stop();
  }
}

export async function runFairness(jobs: number): Promise<FairnessRow[]> {
  return [await once('fair', jobs), await once('fifo', jobs)];
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { jobs: { type: 'string', default: '10000' } } });
  const rows = await runFairness(Number(values.jobs));
  console.table(rows);
  process.exit(0);
}
