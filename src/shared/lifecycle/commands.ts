/**
 * The lifecycle's Lua scripts, loaded from commands/*.lua when this module is first imported (a missing or
 * broken file stops the process at start). Each file's header lists its KEYS, ARGV and returns; shared helpers
 * live in commands/includes/ and are pulled in with `--- @include "includes/<name>"` (once per script, as
 * BullMQ's own scripts do); `--- @bullmq-adders` (in includes/bullmq-add.lua) is replaced by BullMQ's add
 * scripts, so only the scripts that add a job carry them; `--- @terminal-statuses` (in includes/is-terminal.lua)
 * by the set of terminal statuses from job-states.ts, so no script lists statuses of its own.
 */
import { readFileSync } from 'node:fs';
import { TERMINAL_STATUSES } from '../job-states.ts';
import { BULLMQ_ADDERS, type BullmqAdder } from './bullmq-add.ts';

const DIR = new URL('./commands/', import.meta.url);

/** The scripts, by the name their file has. */
export const COMMAND_NAMES = [
  'accept',
  'accept-batch',
  'start',
  'handoff',
  'finish',
  'patch',
  'webhook',
  'watch',
  'tombstone',
  'retry',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** BullMQ's add scripts as Lua functions of (KEYS, ARGV), a table of them, and their key counts. */
function adderLua(adders: ReadonlyMap<string, BullmqAdder>): string {
  const names = [...adders.keys()];
  return [
    ...names.map((n) => `local function bullmq_${n}(KEYS, ARGV)\n${adders.get(n)?.content}\nend`),
    `local BULLMQ_ADDERS = { ${names.map((n) => `${n} = bullmq_${n}`).join(', ')} }`,
    `local BULLMQ_ADD_KEYS = { ${names.map((n) => `${n} = ${adders.get(n)?.keys}`).join(', ')} }`,
  ].join('\n');
}

/** The terminal statuses as a Lua set: `TERMINAL_STATUSES[status] == true` when a job with it has ended. */
const terminalLua = () =>
  `local TERMINAL_STATUSES = { ${TERMINAL_STATUSES.map((s) => `['${s}'] = true`).join(', ')} }`;

/** Resolves the includes of a script's text (each included once) and the BullMQ marker. */
export function resolveLua(
  source: string,
  adders: ReadonlyMap<string, BullmqAdder> = BULLMQ_ADDERS,
  seen = new Set<string>(),
): string {
  return source
    .replace(/^--- @include "([\w/-]+)"$/gm, (_, name: string) => {
      if (seen.has(name)) return '';
      seen.add(name);
      return resolveLua(readFileSync(new URL(`${name}.lua`, DIR), 'utf8'), adders, seen);
    })
    .replace(/^--- @bullmq-adders$/m, () => adderLua(adders))
    .replace(/^--- @terminal-statuses$/m, terminalLua);
}

/** Every script's text, ready to define on a Redis client. */
export const COMMANDS: Readonly<Record<CommandName, string>> = Object.fromEntries(
  COMMAND_NAMES.map((name) => [name, resolveLua(readFileSync(new URL(`${name}.lua`, DIR), 'utf8'))]),
) as Record<CommandName, string>;
