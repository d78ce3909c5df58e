/**
 * The voicemail inbox with thousands of voicemails: 2,000 made through the API (two JSON batches of text
 * voicemails: text input skips transcription, the summarize stage runs for each), 10 % urgent, 10 % marked
 * handled; then, in real headless Chromium, the time from navigating to /inbox until the first page (50 rows)
 * is in the table, paging on ("Show more" → 50 more rows), and the filters (urgency, handled, search, one
 * that matches nothing and so reads all 2,000). Each figure is the median and max of `--runs` tries; the
 * API's own time for the same request is measured from Node.
 *
 *   node bench/inbox.ts [--voicemails 2000] [--runs 5] [--json]
 *   node bench/run.ts --only inbox [--size smoke]     (not in the default set: it needs Chromium)
 */
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_PATH, HEADLESS_ARGS, hasChromium } from '../test/browser/browser.ts';
import { startStack } from '../test/support/stack.ts';
import { buildWeb } from '../web/build.ts';
import { describeMachine, renderMachine } from './lib/machine.ts';
import type { BenchResult, Size } from './lib/report.ts';

const NAMES =
  'Maria Lopez,John Baker,Ann Lee,Sam Patel,Olga Novak,Tom Reed,Lena Fischer,Raj Mehta,Eva Stone,Ben Wu'.split(
    ',',
  );
const REASONS = [
  'I would like to book a cleaning next week',
  'I need to cancel my appointment on Friday',
  'I have a question about my last invoice',
  'I would like to move my appointment to the afternoon',
  'my prescription refill has not arrived',
];

/** The i-th voicemail's words: every 10th urgent, every 5th without a name. */
function voicemailText(i: number): string {
  const name = NAMES[i % NAMES.length] ?? 'Sam';
  const reason = REASONS[i % REASONS.length] ?? '';
  const number = `555 ${String(100 + (i % 900)).padStart(3, '0')} ${String(1000 + i).slice(-4)}`;
  if (i % 10 === 0)
    return `This is ${name}, it is urgent: ${reason}. Please call me back at ${number} as soon as possible.`;
  if (i % 5 === 1) return `Hello, ${reason}. You can reach me at ${number}.`;
  return `Hi, this is ${name}. ${reason}. My number is ${number}. Thank you.`;
}

interface Timing {
  name: string;
  ms: number[];
  p50: number;
  max: number;
}

const summarize = (name: string, ms: number[]): Timing => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { name, ms, p50: sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN, max: Math.max(...ms) };
};

export async function runInboxBench(count = 2000, runs = 5) {
  if (!hasChromium) throw new Error('needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH)');
  await buildWeb();
  const stack = await startStack({ env: { RATE_LIMIT_RPM: '0', MAX_BATCH_ITEMS: '1000' } });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: HEADLESS_ARGS,
  });
  try {
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${stack.url}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown> & { id: string; status: string };
    };

    // ── 2,000 voicemails through the API ──
    const setupStarted = performance.now();
    process.stderr.write(`making ${count} voicemails…\n`);
    const batches: string[] = [];
    for (let from = 0; from < count; from += 1000) {
      const items = Array.from({ length: Math.min(1000, count - from) }, (_, k) => ({
        text: voicemailText(from + k),
      }));
      batches.push((await api('POST', '/v1/batches', { pipeline: 'voicemail', items })).id);
    }
    for (const id of batches) {
      for (let waited = 0; (await api('GET', `/v1/batches/${id}?limit=0`)).status !== 'completed'; waited++) {
        if (waited > 600) throw new Error(`batch ${id} did not complete in 5 minutes`);
        if (waited % 20 === 19) process.stderr.write(`waiting for batch ${id}…\n`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    // Every 10th newest voicemail marked handled.
    const newest = (await api('GET', '/v1/jobs?limit=100')) as unknown as { data: Array<{ id: string }> };
    await Promise.all(
      newest.data
        .filter((_, i) => i % 10 === 0)
        .map((j) => api('PATCH', `/v1/jobs/${j.id}`, { handled: true })),
    );
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    process.stderr.write(`${count} voicemails made in ${setupSeconds.toFixed(1)} s\n`);

    // ── The API alone (from Node) ──
    const apiTimes: Record<string, number[]> = {};
    const apiQueries = {
      'first page (urgency=high)': 'pipeline=voicemail&urgency=high&limit=50',
      'normal, unhandled': 'pipeline=voicemail&urgency=normal&handled=false&limit=50',
      'search "patel"': 'pipeline=voicemail&urgency=normal&q=patel&limit=50',
      'urgency=low (no match: reads all)': 'pipeline=voicemail&urgency=low&limit=50',
    };
    for (let r = 0; r < runs + 1; r++) {
      for (const [name, q] of Object.entries(apiQueries)) {
        const t0 = performance.now();
        await api('GET', `/v1/jobs?${q}`);
        if (r > 0) apiTimes[name] = [...(apiTimes[name] ?? []), Math.round(performance.now() - t0)];
      }
    }

    // ── In the browser ──
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const firstPage: number[] = [];
    const pageOn: number[] = [];
    const filters: Record<string, number[]> = {};
    for (let r = 0; r < runs + 1; r++) {
      await page.goto(`${stack.url}/inbox`);
      await page.waitForFunction(
        () =>
          (
            globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
          ).document.querySelectorAll('#rows tr').length >= 50,
        undefined,
        { timeout: 30_000 },
      );
      const loaded = await page.evaluate(() => performance.now());
      if (r > 0) firstPage.push(Math.round(loaded));
      for (const target of [100, 150]) {
        const ms = await timeUntil(page, { kind: 'more' }, target);
        if (r > 0) pageOn.push(ms);
      }
      const steps: Array<[string, Action, number]> = [
        ['urgency = normal', { kind: 'filter', name: 'urgency', value: 'normal' }, 50],
        ['+ not handled', { kind: 'filter', name: 'handled', value: 'false' }, 50],
        ['+ search "patel"', { kind: 'filter', name: 'q', value: 'patel' }, 10],
        [
          'urgency = low (no match: reads all)',
          { kind: 'filter', name: 'urgency', value: 'low', reset: true },
          0,
        ],
      ];
      for (const [name, action, rows] of steps) {
        const ms = await timeUntil(page, action, rows, name.includes('no match'));
        if (r > 0) filters[name] = [...(filters[name] ?? []), ms];
      }
    }
    return {
      voicemails: count,
      setupSeconds: Math.round(setupSeconds),
      runs,
      browser: [
        summarize('navigate → first page (50 rows) in the table', firstPage),
        summarize('"Show more" → 50 more rows', pageOn),
        ...Object.entries(filters).map(([n, ms]) => summarize(`filter: ${n}`, ms)),
      ],
      api: Object.entries(apiTimes).map(([n, ms]) => summarize(`GET /v1/jobs: ${n}`, ms)),
    };
  } finally {
    await browser.close();
    await stack.close();
  }
}

/** For bench/run.ts: full = 2,000 voicemails and 5 runs, smoke = 200 and 2. */
export async function run(size: Size): Promise<BenchResult> {
  const r = await runInboxBench(size === 'full' ? 2000 : 200, size === 'full' ? 5 : 2);
  const rows = [...r.browser, ...r.api].map((t, i) => ({
    metric: `${t.name} (p50; max ${t.max} ms)`,
    unit: 'ms',
    service: t.p50,
    baseline: Number.NaN,
    baselineName: '',
    target: i === 0 ? '< 1,000 ms' : '',
    ...(i === 0 ? { met: t.max < 1000 } : {}),
  }));
  return {
    name: 'inbox',
    title: 'voicemail inbox',
    setup: `${r.voicemails} voicemails (made through the API in ${r.setupSeconds} s), headless Chromium, ${r.runs} runs`,
    rows,
    notes: [],
  };
}

/** What the benchmark does to the page: press "Show more", or change a filter. */
type Action =
  | { kind: 'more' }
  | { kind: 'filter'; name: 'urgency' | 'handled' | 'q'; value: string; reset?: boolean };

/** ms from the action until the table holds `rows` rows (exactly, with `exact`) and the list has settled. */
function timeUntil(page: Page, action: Action, rows: number, exact = false): Promise<number> {
  return page.evaluate(
    async ({ action, rows, exact }) => {
      interface El {
        value: string;
        click(): void;
        getAttribute(a: string): string | null;
        dispatchEvent(e: unknown): void;
      }
      const g = globalThis as unknown as {
        document: { querySelector(s: string): El | null; querySelectorAll(s: string): { length: number } };
        Event: new (type: string, init?: object) => unknown;
        requestAnimationFrame(cb: () => void): void;
      };
      const $ = (s: string) => {
        const el = g.document.querySelector(s);
        if (!el) throw new Error(`${s} is missing`);
        return el;
      };
      const t0 = performance.now();
      if (action.kind === 'more') $('#more').click();
      else {
        if (action.reset) for (const n of ['handled', 'q']) $(`[name="${n}"]`).value = '';
        $(`[name="${action.name}"]`).value = action.value;
        $(`[name="${action.name}"]`).dispatchEvent(new g.Event('change', { bubbles: true }));
      }
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (performance.now() - t0 > 30_000) {
            reject(new Error(`${rows} rows never came (${JSON.stringify(action)})`));
            return;
          }
          const n = g.document.querySelectorAll('#rows tr').length;
          const settled = $('#more').getAttribute('aria-disabled') === 'false';
          if ((exact ? n === rows : n >= rows) && settled) resolve();
          else g.requestAnimationFrame(check);
        };
        check();
      });
      return Math.round(performance.now() - t0);
    },
    { action, rows, exact },
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      voicemails: { type: 'string', default: '2000' },
      runs: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
    },
  });
  const machine = describeMachine();
  const result = await runInboxBench(Number(values.voicemails), Number(values.runs));
  if (values.json) console.log(JSON.stringify({ machine, ...result }, null, 2));
  else {
    console.log(
      `${renderMachine(machine)}\n${result.voicemails} voicemails (made in ${result.setupSeconds} s), ${result.runs} runs\n`,
    );
    console.log('| measured | p50 | max |\n| --- | ---: | ---: |');
    for (const t of [...result.browser, ...result.api])
      console.log(`| ${t.name} | ${t.p50} ms | ${t.max} ms |`);
  }
}
