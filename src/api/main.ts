import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { onShutdown } from '../shared/shutdown.ts';
import { startTracing, stopTracing } from '../shared/tracing.ts';
import { exitIfRefused } from './security-posture.ts';
import { startApi } from './server.ts';

/** `npm run api`: the HTTP API alone (workers run elsewhere: `npm run worker`). */
const config = loadConfig();
const log = createLogger({ level: config.logLevel, env: config.env, name: 'api' });
if (await startTracing('voicebot-api'))
  log.info('tracing on: spans go to the OTLP exporter (OTEL_* settings)');
const api = await startApi(config, log).catch(exitIfRefused(log));
onShutdown(log, config.shutdownTimeoutMs, [
  ['api', () => api.close()],
  ['tracing', stopTracing],
]);
