/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, or BENCH_CPU_PROF=<dir> for the benchmarks): self time
 * by package / file area and by function, largest first.
 *
 *   node bench/lib/cpuprofile.ts <file.cpuprofile> [--top 25]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<pkg>, src/<dir>, node:<module>, or the special V8 frames ((garbage collector) …). */
export function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (mod) return mod[1] as string;
  const src = /\/(src|bench|test)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${(src[2] as string).split('/').slice(0, -1).join('/') || '.'}`;
  if (url.startsWith('node:')) return url;
  return url;
}

export async function summarize(path: string) {
  const p = JSON.parse(await readFile(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total / 1000, areas: sorted(areas), functions: sorted(fns) };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  const top = Number(values.top);
  for (const file of positionals) {
    const s = await summarize(file);
    const pct = (us: number) => `${((us / 1000 / s.totalMs) * 100).toFixed(1).padStart(5)}%`;
    console.log(`${file}: ${s.totalMs.toFixed(0)} ms sampled\n\nby area:`);
    for (const [k, v] of s.areas.slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
    console.log('\nby function (self time):');
    for (const [k, v] of s.functions.slice(0, top)) console.log(`  ${pct(v)}  ${k}`);
    console.log();
  }
}
