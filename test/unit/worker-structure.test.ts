/**
 * The worker's code stays in rooms (issue 24): no import circle anywhere in src/worker/ (type-only imports
 * count too: a circle of types is still two files that cannot be read apart), the worker imports only its
 * own files and src/shared/, and no file of src/worker/transcription/ grows past 250 lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WORKER = join(ROOT, 'src', 'worker');

const files = (readdirSync(WORKER, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(WORKER, f));

/** Relative imports and re-exports of a file (static `import … from`, `export … from`, dynamic `import()`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1] as string);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

/** Every cycle's files (one per strongly connected component of more than one file, or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, indexOf.get(w) as number));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

describe('the worker’s structure', () => {
  it('finds a cycle where there is one (the check itself)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
      ['e', ['e']],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c'], ['e']]);
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('has no import circle in src/worker/', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    expect(graph.size).toBeGreaterThan(30);
    const named = cycles(graph).map((c) => c.map((f) => relative(ROOT, f)));
    expect(named).toEqual([]);
  });

  it('imports only its own files and src/shared/', () => {
    const outside = files.flatMap((f) =>
      importsOf(f)
        .filter((target) => !target.startsWith(WORKER) && !target.startsWith(join(ROOT, 'src', 'shared')))
        .map((target) => `${relative(ROOT, f)} → ${relative(ROOT, target)}`),
    );
    expect(outside).toEqual([]);
  });

  it('keeps every file of src/worker/transcription/ at 250 lines or fewer', () => {
    const long = files
      .filter((f) => f.includes(`${join('worker', 'transcription')}/`))
      .map((f) => [relative(ROOT, f), readFileSync(f, 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 250);
    expect(long).toEqual([]);
  });
});
