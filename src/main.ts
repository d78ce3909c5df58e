/**
 * `npm start`: the embedded default — the API and every stage worker in one process, on REDIS_URL and the
 * configured storage (a local directory unless S3_BUCKET is set). Without OPENAI_API_KEY (outside
 * production) it also starts the built-in OpenAI-compatible simulator and points every stage at it.
 */

import { exitIfRefused } from './api/security-posture.ts';
import { startApi } from './api/server.ts';
import { type Config, loadConfig } from './shared/config.ts';
import { createLogger } from './shared/logger.ts';
import { onShutdown } from './shared/shutdown.ts';
import { startTracing, stopTracing } from './shared/tracing.ts';
import { startSimulator } from './simulator/server.ts';
import { startWorker } from './worker/runner.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, env: config.env, name: 'voicebot' });
if (await startTracing('voicebot')) log.info('tracing on: spans go to the OTLP exporter (OTEL_* settings)');

let effective: Config = config;
let simulator: Awaited<ReturnType<typeof startSimulator>> | undefined;
if (config.simulator.enabled) {
  simulator = await startSimulator({ port: config.simulator.port });
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
]);
