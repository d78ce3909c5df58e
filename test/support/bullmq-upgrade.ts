/**
 * Preloaded into a spawned service (`NODE_OPTIONS=--import=…`) to make the installed bullmq behave like a
 * release whose add scripts changed, as BULLMQ_SIMULATED_UPGRADE says:
 * - `renamed-script`: standard adds go through `addStandardJob-10` (BullMQ renames a script with its key count);
 * - `extra-argument`: standard adds pass one more argument after their keys.
 * The service must refuse to start (see src/shared/lifecycle/bullmq-add.ts).
 */
import { RedisQueueBackend } from 'bullmq';

const mode = process.env.BULLMQ_SIMULATED_UPGRADE;
const proto = RedisQueueBackend.prototype as unknown as {
  addStandardJobArgs(...args: unknown[]): unknown[];
  execCommand(client: unknown, name: string, args: unknown[]): unknown;
};
if (mode === 'renamed-script') {
  const exec = proto.execCommand;
  proto.execCommand = function (client, name, args) {
    return exec.call(this, client, name === 'addStandardJob' ? 'addStandardJob10' : name, args);
  };
} else if (mode === 'extra-argument') {
  const build = proto.addStandardJobArgs;
  proto.addStandardJobArgs = function (...args) {
    return [...build.apply(this, args), 'new-argument'];
  };
}
