/**
 * `npm start`: the embedded default — the API and every stage worker in one process, on REDIS_URL and the
 * configured storage (a local directory unless S3_BUCKET is set). Without OPENAI_API_KEY (outside
 * production) it also starts the built-in OpenAI-compatible simulator and points every stage at it.
 */

import { exitIfRefused } from './api/security-posture.ts';
import { startApi } from './api/server.ts';
import { type Config, loadConfig } from './shared/config.ts';
import { DEFAULT_REDIS_URL, startEmbeddedRedisIfNeeded } from './shared/embedded-redis.ts';
import { createLogger } from './shared/logger.ts';
import { onShutdown } from './shared/shutdown.ts';
import { startTracing, stopTracing } from './shared/tracing.ts';
import { startSimulator } from './simulator/server.ts';
import { startWorker } from './worker/runner.ts';

// No Redis configured and none at the default address: a private redis-server, stopped with the service.
const redis = await startEmbeddedRedisIfNeeded(process.env, { dataDir: process.env.DATA_DIR || './data' });
if (redis) process.env.REDIS_URL = redis.url;
const config = loadConfig();
const log = createLogger({ level: config.logLevel, env: config.env, name: 'voicebot' });
if (redis) {
  log.warn(
    { redis: redis.url, pid: redis.pid, dir: redis.dir },
    `no Redis configured${config.redisEmbedded === 'always' ? '' : ` and none at ${DEFAULT_REDIS_URL}`}: started a private redis-server (AOF in ${redis.dir}), stopped with the service`,
  );
}
if (await startTracing('voicebot')) log.info('tracing on: spans go to the OTLP exporter (OTEL_* settings)');

let effective: Config = config;
let simulator: Awaited<ReturnType<typeof startSimulator>> | undefined;
if (config.simulator.enabled) {
  simulator = await startSimulator({
    port: config.simulator.port,
    latencyProfile: config.simulator.latency,
  });
  const sim = { baseURL: `${simulator.url}/v1`, apiKey: 'simulator' };
  effective = {
    ...config,
    providers: {
      transcribe: { ...config.providers.transcribe, ...sim },
      chat: { ...config.providers.chat, ...sim },
      speak: { ...config.providers.speak, ...sim },
      summarize: { ...config.providers.summarize, ...sim },
    },
  };
  log.warn(
    { simulator: simulator.url },
    '*** NO OPENAI_API_KEY: using the built-in OpenAI-compatible SIMULATOR. Replies are simulated; jobs are marked provider "simulator". Set OPENAI_API_KEY for real models. ***',
  );
}

const worker = await startWorker(effective, log);
const api = await startApi(effective, log).catch(exitIfRefused(log));
onShutdown(log, config.shutdownTimeoutMs, [
  ['api', () => api.close()],
  ['workers', () => worker.close()],
  ['simulator', async () => simulator?.close()],
  ['tracing', stopTracing],
  ['redis', async () => redis?.stop()],
]);
