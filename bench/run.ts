/**
 * Runs the benchmarks, each against its baseline, prints one table and (by default for the full size)
 * writes it with the machine description into BENCHMARKS.md between `<!-- bench:begin -->` and
 * `<!-- bench:end -->` (everything else in the file is hand-written and kept). With `--only … --write`
 * only those benchmarks' figures are replaced (the others are kept in bench/results.json).
 *
 *   node bench/run.ts [--size smoke|full] [--only intake,orchestration,memory,sync-vs-queue,scale-out,api-fanout,inbox,idle]
 *                     [--write | --no-write] [--out BENCHMARKS.md] [--json results.json]
 *
 * Exit code 1 when a benchmark could not run (an error or its time limit), not when a target is missed:
 * a missed target is a result.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as apiFanout from './api-fanout.ts';
import * as idle from './idle.ts';
import * as inbox from './inbox.ts';
import * as intake from './intake.ts';
import { killAllNow, ROOT } from './lib/children.ts';
import { describeMachine, type Machine, renderMachine } from './lib/machine.ts';
import { type BenchResult, renderNotes, renderTable, type Size } from './lib/report.ts';
import * as memory from './memory.ts';
import * as orchestration from './orchestration.ts';
import * as scaleOut from './scale-out.ts';
import * as syncVsQueue from './sync-vs-queue.ts';

const BENCHMARKS: Record<string, { run(size: Size): Promise<BenchResult> }> = {
  intake,
  orchestration,
  memory,
  'sync-vs-queue': syncVsQueue,
  'scale-out': scaleOut,
  'api-fanout': apiFanout,
  inbox,
  idle,
};
/** Run only when named with --only (they need Chromium, or take long: idle waits 10 idle minutes). */
const OPTIONAL = new Set(['inbox', 'idle']);

/** Time limit per benchmark; a run past it is stopped (its processes killed) and reported as an error. */
const LIMIT_SECONDS: Record<Size, number> = { smoke: 90, full: 420 };
/** Benchmarks that need longer (idle: 10 idle minutes, then the small box). */
const LIMIT_OVERRIDES: Record<string, Record<Size, number>> = { idle: { smoke: 420, full: 1500 } };

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'full' },
    only: { type: 'string' },
    write: { type: 'boolean' },
    'no-write': { type: 'boolean' },
    out: { type: 'string', default: 'BENCHMARKS.md' },
    json: { type: 'string' },
  },
});
if (values.size !== 'smoke' && values.size !== 'full') throw new Error('--size is smoke or full');
const size: Size = values.size;
const names = values.only
  ? values.only.split(',').map((s) => s.trim())
  : Object.keys(BENCHMARKS).filter((n) => !OPTIONAL.has(n));
for (const n of names) {
  if (!BENCHMARKS[n])
    throw new Error(`unknown benchmark ${n} (known: ${Object.keys(BENCHMARKS).join(', ')})`);
}
// The record is the full size of every benchmark; a smoke or partial run writes only when asked to.
const write = values['no-write'] ? false : (values.write ?? (size === 'full' && !values.only));

async function runOne(name: string): Promise<BenchResult> {
  const bench = BENCHMARKS[name] as (typeof BENCHMARKS)[string];
  const limit = LIMIT_OVERRIDES[name]?.[size] ?? LIMIT_SECONDS[size];
  let timer: NodeJS.Timeout | undefined;
  const overran = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${limit} s`)), limit * 1000);
  });
  const running = bench.run(size);
  try {
    return await Promise.race([running, overran]);
  } catch (err) {
    // Stop whatever it left running, then give its own clean-up a moment.
    killAllNow();
    await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    const message = (err as Error).message ?? String(err);
    return {
      name,
      title: name,
      setup: 'ERROR',
      rows: [],
      notes: [`**could not run**: ${message.split('\n').slice(0, 12).join(' ⏎ ')}`],
    };
  } finally {
    clearTimeout(timer);
  }
}

const machine = describeMachine();
console.log(`voicebot benchmarks, size ${size}: ${names.join(', ')}\n${renderMachine(machine)}\n`);
const started = performance.now();
const results: BenchResult[] = [];
for (const name of names) {
  const t0 = performance.now();
  process.stdout.write(`${name} … `);
  const r = await runOne(name);
  r.seconds = (performance.now() - t0) / 1000;
  results.push(r);
  const secs = Math.round(r.seconds);
  console.log(r.setup === 'ERROR' ? `ERROR after ${secs} s: ${r.notes[0]}` : `done in ${secs} s`);
}
const minutes = (performance.now() - started) / 60_000;

console.log(`\n${renderTable(results)}\n\n${renderNotes(results)}`);

if (values.json) {
  await writeFile(values.json, JSON.stringify({ size, machine, minutes, results }, null, 2));
}

/**
 * What BENCHMARKS.md shows is kept in bench/results.json, one entry per benchmark, so `--only x --write`
 * replaces x's figures and keeps the others' (each with the machine, date and commit of its own run).
 */
interface Stored {
  size: Size;
  machine: Machine;
  result: BenchResult;
}

if (write) {
  const storePath = join(ROOT, 'bench', 'results.json');
  const fresh = !values.only;
  const stored: Record<string, Stored> = fresh
    ? {}
    : (JSON.parse(await readFile(storePath, 'utf8').catch(() => '{}')) as Record<string, Stored>);
  for (const r of results) stored[r.name] = { size, machine, result: r };
  const ordered = Object.keys(BENCHMARKS)
    .map((n) => stored[n])
    .filter((x): x is Stored => x !== undefined);
  const runs = new Map<string, { size: Size; machine: Machine; names: string[] }>();
  for (const x of ordered) {
    const key = `${x.machine.date} ${x.size}`;
    const run = runs.get(key) ?? { size: x.size, machine: x.machine, names: [] };
    run.names.push(x.result.title);
    runs.set(key, run);
  }
  const block = [
    BEGIN,
    '_Generated by `npm run bench` (`node bench/run.ts`) from bench/results.json. Do not edit between the markers._',
    '',
    [...runs.values()]
      .map(
        (r) =>
          `**Machine${runs.size > 1 ? ` (${r.names.join(', ')})` : ''}:** ${renderMachine(r.machine)}; size **${r.size}**.`,
      )
      .join('\n\n'),
    '',
    renderTable(ordered.map((x) => x.result)),
    '',
    '### Measured details',
    '',
    renderNotes(ordered.map((x) => x.result)),
    END,
  ].join('\n');
  const path = join(ROOT, values.out);
  const current = await readFile(path, 'utf8').catch(() => '');
  const from = current.indexOf(BEGIN);
  const to = current.indexOf(END);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${block}${current.slice(to + END.length)}`
      : `${current || '# Benchmarks\n\n'}${current.endsWith('\n') || !current ? '' : '\n'}\n${block}\n`;
  await writeFile(storePath, `${JSON.stringify(stored, null, 2)}\n`);
  await writeFile(path, next);
  console.log(`\nwrote ${values.out} and bench/results.json (${minutes.toFixed(1)} min)`);
}
process.exit(results.some((r) => r.setup === 'ERROR') ? 1 : 0);
