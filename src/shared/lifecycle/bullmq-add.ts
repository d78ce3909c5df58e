/**
 * Adding a BullMQ job from inside one of our Lua scripts, so a transition and the job it enqueues are one atomic
 * step (and one round trip).
 *
 * Redis cannot call a script from a script, so the scripts that add (commands/includes/bullmq-add.lua) embed
 * BullMQ's own add scripts — the text shipped with the installed bullmq — and call them only when the
 * transition's guard passes. The keys and arguments are the ones BullMQ itself computes: its queue backend's
 * `addJobToTransaction` is run against a recording client, so job options, priorities and the packed format
 * stay BullMQ's. A job id is always given (deterministic), so a repeated add is a no-op.
 *
 * This leans on BullMQ internals (script file names, argument lists), so package.json pins bullmq to one exact
 * version and this module checks the contract: the scripts below must exist with these key counts when the
 * process starts (an import that fails stops it), every captured add must name one of them with its keys and
 * three arguments, and `checkBullmqContract` (run by the API and the workers at start) prepares one add of
 * each kind. test/integration/bullmq-contract.test.ts compares the Redis state after our add with `queue.add`.
 */
import { ErrorCode, Job, type JobsOptions, type Queue } from 'bullmq';

/** The BullMQ add scripts the lifecycle embeds, by name and key count, as the pinned bullmq ships them. */
export const BULLMQ_ADD_SCRIPTS: ReadonlyArray<{ name: string; keys: number }> = [
  { name: 'addStandardJob', keys: 9 },
  { name: 'addPrioritizedJob', keys: 9 },
  { name: 'addDelayedJob', keys: 6 },
];
/** After its keys, each add script takes: packed arguments, the job's data as JSON, packed options. */
export const BULLMQ_ADD_ARGS = 3;

/** The installed bullmq does not match what the lifecycle embeds: raised at start, before any job moves. */
export class BullmqContractError extends Error {
  constructor(problem: string) {
    super(
      `BullMQ contract broken: ${problem}. The job lifecycle embeds BullMQ's add scripts (src/shared/lifecycle/` +
        'bullmq-add.ts) and needs the exact bullmq version package.json pins; after an upgrade, update ' +
        'BULLMQ_ADD_SCRIPTS and run test/integration/bullmq-contract.test.ts.',
    );
    this.name = 'BullmqContractError';
  }
}

/** A BullMQ add script, as embedded: its key count and its Lua text. */
export interface BullmqAdder {
  keys: number;
  content: string;
}

/** Loads the add scripts of the installed bullmq; a missing file or another key count is a BullmqContractError. */
export async function loadBullmqAdders(
  expected: ReadonlyArray<{ name: string; keys: number }> = BULLMQ_ADD_SCRIPTS,
): Promise<Map<string, BullmqAdder>> {
  const adders = new Map<string, BullmqAdder>();
  for (const { name, keys } of expected) {
    // The script modules themselves (the folder's index.js uses extensionless ESM imports plain Node refuses).
    const file = `bullmq/dist/esm/scripts/${name}-${keys}.js`;
    let mod: Record<string, { keys?: unknown; content?: unknown } | undefined>;
    try {
      mod = (await import(file)) as typeof mod;
    } catch {
      throw new BullmqContractError(`the installed bullmq has no script ${name}-${keys} (${file})`);
    }
    const script = mod[name];
    if (!script || script.keys !== keys || typeof script.content !== 'string')
      throw new BullmqContractError(`${file} does not export ${name} with ${keys} keys`);
    adders.set(name, { keys, content: script.content });
  }
  return adders;
}

/** The embedded add scripts, loaded when this module is first imported (a process that cannot load them stops). */
export const BULLMQ_ADDERS = await loadBullmqAdders();

/** One prepared add: BullMQ's script name (without version), its keys, and its three arguments. */
export type AddSpec = [name: string, keys: string[], argv: [Buffer | string, string, Buffer | string]];

/**
 * Checks a command BullMQ asked to run for an add (`<script>:<version>` and its keys followed by arguments)
 * against the embedded scripts, and splits it into an AddSpec.
 */
export function toAddSpec(
  command: string,
  args: unknown[],
  adders: ReadonlyMap<string, BullmqAdder> = BULLMQ_ADDERS,
): AddSpec {
  const name = command.split(':')[0] ?? '';
  const adder = adders.get(name);
  if (!adder) throw new BullmqContractError(`BullMQ adds with the script ${command}, which is not embedded`);
  if (args.length !== adder.keys + BULLMQ_ADD_ARGS)
    throw new BullmqContractError(
      `BullMQ calls ${name} with ${args.length} arguments, the embedded script takes ${adder.keys} keys + ` +
        `${BULLMQ_ADD_ARGS} arguments`,
    );
  return [name, args.slice(0, adder.keys) as string[], args.slice(adder.keys) as AddSpec[2]];
}

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
  if (!captured) throw new BullmqContractError(`BullMQ prepared no add for queue ${queue.name}`);
  return toAddSpec(captured.name, captured.args);
}

/**
 * Run at start by the API and the workers: prepares a standard, a prioritized and a delayed add on `queue` (no
 * Redis call) and checks BullMQ picks the embedded script for each, with the expected arguments.
 */
export async function checkBullmqContract(queue: Queue): Promise<void> {
  const cases: Array<[string, JobsOptions]> = [
    ['addStandardJob', {}],
    ['addPrioritizedJob', { priority: 1 }],
    ['addDelayedJob', { delay: 1000 }],
  ];
  for (const [expected, opts] of cases) {
    const [name] = await prepareAdd(queue, 'contract-check', {}, { ...opts, jobId: 'contract-check' });
    if (name !== expected)
      throw new BullmqContractError(
        `BullMQ adds a job with ${JSON.stringify(opts)} with ${name}, not ${expected}`,
      );
  }
}

/** An add inside a transition that BullMQ refused with one of its negative codes (nothing was written). */
export class BullmqAddError extends Error {
  readonly code: number;
  constructor(script: string, code: number) {
    super(`BullMQ ${script} refused the add: ${ErrorCode[code] ?? 'unknown code'} (${code})`);
    this.name = 'BullmqAddError';
    this.code = code;
  }
}

/** A script's error reply, with BullMQ's negative codes (raised by bullmq-add.lua) turned into BullmqAddError. */
export function fromScriptError(err: unknown): unknown {
  const m = err instanceof Error ? /BULLMQ_ADD (\w+) (-\d+)/.exec(err.message) : null;
  return m ? new BullmqAddError(m[1] ?? '', Number(m[2])) : err;
}
