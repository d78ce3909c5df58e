/**
 * Adding a BullMQ job from inside one of our Lua scripts, so a transition and the job it enqueues are one atomic
 * step (and one round trip).
 *
 * Redis cannot call a script from a script, so the lifecycle scripts embed BullMQ's own add scripts — the text
 * shipped with the installed bullmq, wrapped as Lua functions — and call them only when the transition's guard
 * passes. The keys and arguments are the ones BullMQ itself computes: `addJobToTransaction` is run against a
 * recording client, so job options, priorities and the packed format stay BullMQ's (a BullMQ upgrade brings
 * its new scripts and arguments along). A job id is always given (deterministic), so a repeated add is a no-op.
 */
import { Job, type JobsOptions, type Queue } from 'bullmq';
// The script modules themselves (the folder's index.js uses extensionless ESM imports plain Node refuses).
import { addDelayedJob } from 'bullmq/dist/esm/scripts/addDelayedJob-6.js';
import { addPrioritizedJob } from 'bullmq/dist/esm/scripts/addPrioritizedJob-9.js';
import { addStandardJob } from 'bullmq/dist/esm/scripts/addStandardJob-9.js';

const ADDERS = { addStandardJob, addPrioritizedJob, addDelayedJob } as const;

/** Lua: `bullmq_add(spec, priority)` where spec = {name, keys, argv}; priority (optional) overrides the job's. */
export const BULLMQ_ADD_LUA = `
${Object.entries(ADDERS)
  .map(([name, s]) => `local function bullmq_${name}(KEYS, ARGV)\n${s.content}\nend`)
  .join('\n')}
local BULLMQ_ADDERS = { ${Object.keys(ADDERS)
  .map((n) => `${n} = bullmq_${n}`)
  .join(', ')} }
local function bullmq_add(spec, priority)
  local argv = { spec[3][1], spec[3][2], spec[3][3] }
  if priority then
    local opts = cmsgpack.unpack(argv[3])
    opts['priority'] = priority
    argv[3] = cmsgpack.pack(opts)
  end
  return BULLMQ_ADDERS[spec[1]](spec[2], argv)
end
`;

/** One prepared add: BullMQ's script name (without version), its keys, and its three arguments. */
export type AddSpec = [name: string, keys: string[], argv: [Buffer | string, string, Buffer | string]];

/**
 * The add BullMQ would make for `queue.add(name, data, opts)`, captured instead of sent. `opts.jobId` is
 * required: lifecycle adds are idempotent by id.
 */
export async function prepareAdd(
  queue: Queue,
  name: string,
  data: unknown,
  opts: JobsOptions & { jobId: string },
): Promise<AddSpec> {
  const merged = { ...queue.defaultJobOptions, ...opts };
  const job = new Job(queue, name, data, merged, opts.jobId);
  const json = job.asJSON();
  // biome-ignore lint/suspicious/noExplicitAny: BullMQ's own option checks (protected), as Queue.add runs them
  (job as any).validateOptions(json);
  let captured: { name: string; args: unknown[] } | undefined;
  const recorder = {
    runCommand: (command: string, args: unknown[]) => {
      captured = { name: command, args };
      return Promise.resolve(opts.jobId);
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: the backend is BullMQ's Redis adapter (public, untyped here)
  await (queue as any).backend.addJobToTransaction(recorder, json, opts.jobId, {});
  if (!captured) throw new Error(`BullMQ did not prepare an add for ${queue.name}`);
  const script = captured.name.split(':')[0] as keyof typeof ADDERS;
  const adder = ADDERS[script];
  if (!adder) throw new Error(`unexpected BullMQ add script ${captured.name}`);
  const keys = captured.args.slice(0, adder.keys) as string[];
  const argv = captured.args.slice(adder.keys) as AddSpec[2];
  return [script, keys, argv];
}
