/** Runs the OpenAI simulator on its own: `node src/simulator/main.ts` (settings: see README.md). */
import { optionsFromEnv } from './config.ts';
import { startSimulator } from './server.ts';

let sim: Awaited<ReturnType<typeof startSimulator>>;
try {
  sim = await startSimulator(optionsFromEnv(process.env));
} catch (err) {
  console.error(`simulator: ${(err as Error).message}`);
  process.exit(1);
}

const tools = Object.entries(sim.stats().tools)
  .map(([name, on]) => `${name}${on ? '' : ' (missing)'}`)
  .join(', ');
console.log(`OpenAI simulator listening on ${sim.url} (base URL ${sim.url}/v1; tools: ${tools})`);

const stop = () => {
  sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
