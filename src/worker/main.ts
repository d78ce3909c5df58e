import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { onShutdown } from '../shared/shutdown.ts';
import { startMetricsServer } from './metrics-server.ts';
import { startWorker } from './runner.ts';
import { startRedisWatchdog } from './watchdog.ts';

/** `npm run worker`: the stage workers named by WORKER_STAGES (default: all). */
const config = loadConfig();
const log = createLogger({ level: config.logLevel, env: config.env, name: 'worker' });
if (config.simulator.enabled) {
  log.warn(
    'no OPENAI_API_KEY: point OPENAI_BASE_URL at an OpenAI-compatible server (e.g. `npm run simulator`)',
  );
}
const worker = await startWorker(config, log);
// Operators: Prometheus metrics on METRICS_PORT (0: off), and an exit after REDIS_WATCHDOG_MS without Redis.
const metrics =
  config.metrics.port > 0
    ? await startMetricsServer({ port: config.metrics.port, host: config.host, token: config.metrics.token, log })
    : undefined;
const stopWatchdog = startRedisWatchdog(worker.connection, config.redisWatchdogMs, log);
onShutdown(log, config.shutdownTimeoutMs, [
  ['watchdog', async () => stopWatchdog()],
  ['workers', () => worker.close()],
  ['metrics', async () => metrics?.close()],
]);
