/**
 * Job statuses are listed once, in src/shared/job-states.ts (issue 23). Every other list of them — an array, a
 * type union, a Set, a chain of comparisons in TS or Lua — is a copy that drifts, so this test reads the code
 * (src/ with its Lua scripts, web/src/, packages/sdk/src/ without its generated types, bench/, test/support/)
 * and names each list holding two or more job statuses by file and line. A single comparison
 * (`status === 'succeeded'`) is not a list.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOB_STATUSES } from '../../src/shared/job-states.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCANNED = ['src', 'web/src', 'packages/sdk/src', 'bench', 'test/support'];
/** The one list, and the generated copies of the OpenAPI document's (written from it). */
const ALLOWED = ['src/shared/job-states.ts', 'packages/sdk/src/generated/'];
/**
 * Lists of other things that share a word or two with the job statuses, by file and the declaration that
 * opens them: the talk page's per-stage progress, the inbox's per-file upload phase.
 */
const NOT_JOB_STATUSES: Record<string, string> = {
  'web/src/main.ts': 'type StageState =',
  'web/src/inbox/upload.ts': 'type Phase =',
};

const STATUSES = new Set<string>(JOB_STATUSES);
const LITERAL = String.raw`(?:'[^'\n]*'|"[^"\n]*")`;
const COMPARISON = String.raw`[\w.\]\[]+\s*(?:===|!==|==|!=|~=)\s*${LITERAL}`;
const LIST_SHAPES = [
  // an array or a Set's array: the innermost brackets
  /\[[^[\]]*\]/g,
  // a Lua table
  /\{[^{}]*\}/g,
  // a type union of literals
  new RegExp(String.raw`${LITERAL}(?:\s*\|\s*${LITERAL})+`, 'g'),
  // a chain of comparisons: s === 'a' || s === 'b', s == 'a' or s == 'b'
  new RegExp(String.raw`${COMPARISON}(?:\s*(?:\|\||&&|\bor\b|\band\b)\s*${COMPARISON})+`, 'g'),
];

/** The text with its comments blanked (lines kept), so prose and commented-out code are not read as lists. */
function withoutComments(text: string, lua: boolean): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  if (lua) return text.replace(/--\[\[[\s\S]*?\]\]|--[^\n]*/g, blank);
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += blank(text.slice(i, stop));
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += blank(text.slice(i, stop));
      i = stop;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Lines (1-based) where a list of two or more job statuses starts. */
function statusLists(text: string, lua = false): number[] {
  const code = withoutComments(text, lua);
  const lines = new Set<number>();
  for (const shape of LIST_SHAPES) {
    // a Lua table's braces are TS objects elsewhere ({ status: 'failed', error }), not lists
    if (shape.source.startsWith('\\{') && !lua) continue;
    for (const m of code.matchAll(shape)) {
      const found = new Set(
        [...m[0].matchAll(new RegExp(LITERAL, 'g'))]
          .map((l) => l[0].slice(1, -1))
          .filter((s) => STATUSES.has(s)),
      );
      if (found.size >= 2) lines.add(code.slice(0, m.index).split('\n').length);
    }
  }
  return [...lines].sort((a, b) => a - b);
}

function scannedFiles(): string[] {
  return SCANNED.flatMap((dir) =>
    (readdirSync(join(ROOT, dir), { recursive: true }) as string[])
      .filter((f) => /\.(ts|mts|js|mjs|lua)$/.test(f) && !f.includes('node_modules'))
      .map((f) => relative(ROOT, join(ROOT, dir, f))),
  ).filter((f) => !ALLOWED.some((a) => f.startsWith(a)));
}

describe('job status lists', () => {
  it('finds a list in every shape it looks for, and not a single comparison', () => {
    expect(statusLists("const T = ['succeeded', 'failed', 'canceled'];")).toEqual([1]);
    expect(statusLists("const T = new Set([\n  'queued',\n  // why\n  'running',\n]);")).toEqual([1]);
    expect(statusLists("type S =\n  | 'queued'\n  | 'running';")).toEqual([2]);
    expect(statusLists("x.status === 'failed' || x.status === 'canceled'")).toEqual([1]);
    expect(statusLists("if s ~= 'failed' and s ~= 'canceled' then end", true)).toEqual([1]);
    expect(statusLists("local T = { succeeded = true, 'failed', 'canceled' }", true)).toEqual([1]);
    expect(
      statusLists("if (status === 'succeeded') done();\nconst e = { status: 'failed', error };"),
    ).toEqual([]);
    expect(statusLists("// succeeded, 'failed' | 'canceled' in prose\nconst a = 'failed';")).toEqual([]);
    expect(statusLists("local function f(s) return s == 'succeeded' end", true)).toEqual([]);
  });

  it('no job status list exists outside src/shared/job-states.ts and the generated types', () => {
    const exempted: string[] = [];
    const found = scannedFiles().flatMap((file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const lines = text.split('\n');
      return statusLists(text, file.endsWith('.lua'))
        .filter((line) => {
          const opening = NOT_JOB_STATUSES[file];
          const exempt = opening !== undefined && (lines[line - 1] ?? '').includes(opening);
          if (exempt) exempted.push(file);
          return !exempt;
        })
        .map((line) => `${file}:${line}`);
    });
    expect(found).toEqual([]);
    // every exemption still names a list that exists (a stale one would hide nothing, and mislead)
    expect(exempted.sort()).toEqual(Object.keys(NOT_JOB_STATUSES).sort());
  });
});
