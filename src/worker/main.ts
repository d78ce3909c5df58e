import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { onShutdown } from '../shared/shutdown.ts';
import { startWorker } from './runner.ts';

/** `npm run worker`: the stage workers named by WORKER_STAGES (default: all). */
const config = loadConfig();
const log = createLogger({ level: config.logLevel, env: config.env, name: 'worker' });
if (config.simulator.enabled) {
  log.warn(
    'no OPENAI_API_KEY: point OPENAI_BASE_URL at an OpenAI-compatible server (e.g. `npm run simulator`)',
  );
}
const worker = await startWorker(config, log);
onShutdown(log, config.shutdownTimeoutMs, [['workers', () => worker.close()]]);
