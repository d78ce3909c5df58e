import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { startMetricsFor } from '../shared/metrics-server.ts';
import { onShutdown } from '../shared/shutdown.ts';
import { startTracing, stopTracing } from '../shared/tracing.ts';
import { startWorker } from './runner.ts';
import { startRedisWatchdog } from './watchdog.ts';

/** `npm run worker`: the stage workers named by WORKER_STAGES (default: all). */
const config = loadConfig();
const log = createLogger({ level: config.logLevel, env: config.env, name: 'worker' });
if (await startTracing('voicebot-worker'))
  log.info('tracing on: spans go to the OTLP exporter (OTEL_* settings)');
if (config.simulator.enabled) {
  log.warn(
    'no OPENAI_API_KEY: point OPENAI_BASE_URL at an OpenAI-compatible server (e.g. `npm run simulator`)',
  );
}
// Operators: an exit after REDIS_WATCHDOG_MS without Redis (armed first: a start-up stuck on Redis counts
// too), and Prometheus metrics on METRICS_PORT (0: off).
const watchdog = startRedisWatchdog(config.redis, config.redisWatchdogMs, log);
const worker = await startWorker(config, log);
const metrics = await startMetricsFor('worker', config, log);
onShutdown(log, config.shutdownTimeoutMs, [
  ['watchdog', async () => watchdog.stop()],
  ['workers', () => worker.close()],
  ['metrics', async () => metrics?.close()],
  ['tracing', stopTracing],
]);
