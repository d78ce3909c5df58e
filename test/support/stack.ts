/**
 * The whole service for integration tests, on real servers: a redis-server (or REDIS_URL), S3 (s3rver,
 * MinIO or S3_ENDPOINT) or a temp local directory, the OpenAI-compatible simulator, and the API and stage
 * workers started in this process exactly as `npm start` does. Each stack has its own queue prefix.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, startApi } from '../../src/api/server.ts';
import { type Config, loadConfig } from '../../src/shared/config.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import type { SimulatorOptions } from '../../src/simulator/types.ts';
import { startWorker, type WorkerRuntime } from '../../src/worker/runner.ts';
import { freePort, type RedisHandle, type S3Handle, startRedis, startS3 } from './index.ts';
import { serviceEnv } from './service-env.ts';

export interface StackOptions {
  storage?: 'local' | 's3';
  /** Extra environment for the service (e.g. STAGE_ATTEMPTS). */
  env?: Record<string, string>;
  simulator?: SimulatorOptions;
  /** Start stage workers in this process. @defaultValue true */
  workers?: boolean;
  redis?: RedisHandle;
  redisOptions?: Parameters<typeof startRedis>[0];
  /** Settings the environment cannot express (e.g. a retention shorter than JOB_RETENTION_SECONDS allows). */
  config?: Partial<Config>;
}

export type Simulator = Awaited<ReturnType<typeof startSimulator>>;

export interface Stack {
  url: string;
  config: Config;
  env: Record<string, string>;
  api: ApiServer;
  worker: WorkerRuntime | undefined;
  sim: Simulator;
  redis: RedisHandle;
  s3: S3Handle | undefined;
  dataDir: string;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const redis = opts.redis ?? (await startRedis(opts.redisOptions));
  const s3 = opts.storage === 's3' ? await startS3() : undefined;
  const sim = await startSimulator(opts.simulator ?? {});
  const dataDir = await mkdtemp(join(tmpdir(), 'vb-test-'));
  const port = await freePort();
  const env = serviceEnv({
    port,
    redis,
    simUrl: sim.url,
    dataDir,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    extra: {
      ...(s3?.env() ?? {}),
      STAGE_BACKOFF_MS: '50',
      SYNC_WAIT_SECONDS: '30',
      // The simulator does real CPU work (pocketsphinx, Festival) on a shared machine: a provider call is
      // not cut short by the clock here (tests of provider timeouts set their own).
      PROVIDER_TIMEOUT_MS: '600000',
      // Worker processes spawned from this env serve no /metrics unless a test asks (no port clashes).
      METRICS_PORT: '0',
      ...opts.env,
    },
  });
  // The AWS SDK reads credentials from the process environment.
  if (s3)
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
  const config = { ...loadConfig(env), ...opts.config };
  const log = createLogger({ level: config.logLevel, env: 'test', name: 'test' });
  const worker = opts.workers === false ? undefined : await startWorker(config, log);
  const api = await startApi(config, log);
  const url = api.url;
  return {
    url,
    config,
    env,
    api,
    worker,
    sim,
    redis,
    s3,
    dataDir,
    async close() {
      await api.close();
      await worker?.close();
      await sim.close();
      await s3?.stop();
      if (!opts.redis) await redis.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
