/** The shape every benchmark returns, and the markdown it becomes. */
import { fmt } from './stats.ts';

export type Size = 'smoke' | 'full';

export interface Row {
  /** What is measured, e.g. "accepted jobs/s, 16 connections". */
  metric: string;
  unit: string;
  service: number;
  /** The baseline's figure from the same run (NaN when the row has none). */
  baseline: number;
  /** The baseline's name, e.g. "bare node:http + BullMQ". */
  baselineName: string;
  /** What the target is, in words, e.g. "≥ 70% of baseline". Empty: no target, for information. */
  target: string;
  /** true: met, false: missed, undefined: no target. */
  met?: boolean;
  /** service / baseline unless set (e.g. "+12 ms" for an overhead). */
  ratio?: string;
}

export interface BenchResult {
  name: string;
  title: string;
  /** One line on the setup (sizes, concurrency, processes). */
  setup: string;
  rows: Row[];
  /** Measured diagnostics and, where a target is missed, why and what would close it. */
  notes: string[];
  /** How long the benchmark took (set by the runner). */
  seconds?: number;
}

/** Rates (`/s`) as a percentage of the baseline; times, sizes and counts as a multiple of it. */
export const ratioOf = (service: number, baseline: number, unit = '/s') => {
  if (!Number.isFinite(service) || !Number.isFinite(baseline) || baseline === 0) return '—';
  return unit === '/s' ? `${Math.round((service / baseline) * 100)}%` : `${fmt(service / baseline)}×`;
};

export function renderTable(results: BenchResult[]): string {
  const out: string[] = [
    '| benchmark | metric | voicebot | baseline | ratio | target | result |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of results) {
    for (const row of r.rows) {
      const unit = row.unit ? ` ${row.unit}` : '';
      const baseline = Number.isFinite(row.baseline)
        ? `${fmt(row.baseline)}${unit} (${row.baselineName})`
        : '—';
      const verdict = row.met === undefined ? '—' : row.met ? '**met**' : '**missed**';
      out.push(
        `| ${r.title} | ${row.metric} | ${fmt(row.service)}${unit} | ${baseline} | ${row.ratio ?? ratioOf(row.service, row.baseline, row.unit)} | ${row.target || '—'} | ${verdict} |`,
      );
    }
  }
  return out.join('\n');
}

export function renderNotes(results: BenchResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`**${r.title}**${r.seconds ? ` (${Math.round(r.seconds)} s)` : ''} — ${r.setup}`, '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
