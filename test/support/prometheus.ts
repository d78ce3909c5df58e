/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every line is a HELP, a TYPE,
 * a comment or a sample; every sample belongs to a family declared with TYPE; label values are quoted and
 * escaped; values are floats (NaN, ±Inf in any case). Throws naming the first line that is not.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string | undefined;
  type: MetricType;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const LABEL_RE = new RegExp(`^(${LABEL_NAME})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(?:,|$)`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Go's ParseFloat, as Prometheus reads values: NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string, line: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  const v = Number(text);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || Number.isNaN(v))
    throw new Error(`bad sample value in: ${line}`);
  return v;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL_RE.exec(rest);
    if (!m?.[1]) throw new Error(`bad labels in: ${line}`);
    if (m[1] in labels) throw new Error(`duplicate label ${m[1]} in: ${line}`);
    labels[m[1]] = (m[2] ?? '').replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

/** The family a sample name belongs to: histograms and summaries add _bucket/_sum/_count. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  const base = name.replace(/_(bucket|sum|count|created)$/, '');
  const f = families.get(base);
  return f && (f.type === 'histogram' || f.type === 'summary') ? f : undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name = '', rest = ''] = m;
      if (!new RegExp(`^${NAME}$`).test(name)) throw new Error(`bad metric name in: ${line}`);
      if (kind === 'HELP') {
        helps.set(name, rest);
        const f = families.get(name);
        if (f) f.help = rest;
      } else {
        if (!TYPES.has(rest)) throw new Error(`bad TYPE in: ${line}`);
        if (families.has(name)) throw new Error(`TYPE declared twice: ${line}`);
        families.set(name, { name, help: helps.get(name), type: rest as MetricType, samples: [] });
      }
      continue;
    }
    const m = SAMPLE_RE.exec(line);
    if (!m?.[1] || m[3] === undefined) throw new Error(`not a sample: ${line}`);
    const family = familyOf(m[1], families);
    if (!family) throw new Error(`sample without a TYPE: ${line}`);
    family.samples.push({ name: m[1], labels: parseLabels(m[2] ?? '', line), value: parseValue(m[3], line) });
  }
  return families;
}

/** Sum of the samples named `name` whose labels include `labels` (0 when none). */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = familyOf(name, families);
  if (!family) return 0;
  return family.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** GET <url>/metrics, parsed. */
export async function scrape(
  url: string,
  headers: Record<string, string> = {},
): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`GET /metrics → ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain'))
    throw new Error(`GET /metrics content-type ${res.headers.get('content-type')}`);
  return parsePrometheusText(await res.text());
}
