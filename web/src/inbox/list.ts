/**
 * The list: one table row per voicemail, most urgent first and newest first within an urgency. The API
 * filters and pages (`GET /v1/jobs?pipeline=voicemail&urgency=…&cursor=…`); the urgencies are read one
 * after another (high, normal, low, then those without a summary), so thousands of voicemails cost a page
 * at a time. New results are slotted in where they belong and announced.
 */
import { isTerminal } from '../../../packages/sdk/src/generated/job-states.ts';
import type { Filters, InboxApi, Urgency, Voicemail } from './api.ts';
import { jobProblem } from './upload.ts';

export const BUCKETS = ['high', 'normal', 'low', 'none'] as const;
const PAGE = 50;
/** Requests one "Show more" may make while filters match little. */
const MAX_REQUESTS = 12;

const STATUS_TEXT: Record<string, string> = {
  queued: 'Waiting',
  running: 'Processing',
  succeeded: 'Done',
  failed: 'Failed',
  canceled: 'Canceled',
};
const URGENCY_TEXT: Record<string, string> = { high: 'High', normal: 'Normal', low: 'Low', none: 'None' };

export const bucketOf = (job: Voicemail): string => job.summary?.urgency ?? 'none';

export interface ListDeps {
  api: InboxApi;
  rows: HTMLTableSectionElement;
  count: HTMLElement;
  more: HTMLButtonElement;
  announce(text: string): void;
  fail(err: unknown): void;
}

export function createList(deps: ListDeps) {
  let filters: Filters = { urgency: '', status: '', handled: '', q: '' };
  let buckets: string[] = [...BUCKETS];
  let bucket = 0;
  let cursor: string | null = null;
  let done = false;
  let generation = 0;
  let loading: Promise<void> | undefined;
  const shown = new Map<string, Voicemail>();

  function reset(next: Filters): Promise<void> {
    filters = next;
    buckets = filters.urgency ? [filters.urgency] : [...BUCKETS];
    generation++;
    bucket = 0;
    cursor = null;
    done = false;
    shown.clear();
    deps.rows.replaceChildren();
    loading = undefined;
    return more();
  }

  /** Loads the next page (PAGE rows, or what is left). */
  function more(): Promise<void> {
    loading ??= load(generation).finally(() => {
      loading = undefined;
    });
    return loading;
  }

  async function load(gen: number): Promise<void> {
    deps.more.setAttribute('aria-disabled', 'true');
    let added = 0;
    try {
      for (let requests = 0; !done && added < PAGE && requests < MAX_REQUESTS; requests++) {
        const page = await deps.api.list(filters, buckets[bucket], cursor, PAGE - added);
        if (gen !== generation) return;
        for (const job of page.data) {
          if (shown.has(job.id)) continue;
          shown.set(job.id, job);
          deps.rows.append(row(job));
          added++;
        }
        cursor = page.next_cursor;
        if (cursor === null && ++bucket >= buckets.length) done = true;
      }
    } catch (err) {
      if (gen === generation) deps.fail(err);
    } finally {
      if (gen === generation) showCount();
    }
  }

  function showCount(): void {
    const n = shown.size;
    const what = n === 1 ? '1 voicemail' : `${n} voicemails`;
    deps.count.textContent =
      n === 0 && done ? 'No voicemails match.' : `Showing ${what}${done ? '.' : ', more below.'}`;
    deps.more.hidden = done;
    deps.more.setAttribute('aria-disabled', 'false');
  }

  /** A voicemail that is new or changed: updated in place, or slotted in at the top of its urgency. */
  function upsert(job: Voicemail, isNew: boolean): void {
    const old = deps.rows.querySelector<HTMLTableRowElement>(`tr[data-id="${job.id}"]`);
    const b = buckets.indexOf(bucketOf(job));
    if (old && bucketOf(shown.get(job.id) ?? job) === bucketOf(job)) {
      shown.set(job.id, job);
      old.replaceWith(row(job));
      return;
    }
    old?.remove();
    shown.delete(job.id);
    // Not shown under these filters, or its urgency's page is not loaded yet (paging will bring it).
    if (b < 0 || !matches(job, filters) || (b > bucket && !done)) {
      showCount();
      return;
    }
    shown.set(job.id, job);
    const before = [...deps.rows.rows].find((r) => buckets.indexOf(r.dataset.urgency ?? '') >= b) ?? null;
    deps.rows.insertBefore(row(job), before);
    showCount();
    if (isNew) deps.announce(`New voicemail: ${describe(job)}.`);
  }

  /** Every voicemail under the current filters, in list order (for the CSV export). */
  async function all(limit = 20_000): Promise<Voicemail[]> {
    const out: Voicemail[] = [];
    for (const b of buckets) {
      let c: string | null = null;
      do {
        const page = await deps.api.list(filters, b, c, 100);
        out.push(...page.data);
        c = page.next_cursor;
      } while (c !== null && out.length < limit);
    }
    return out;
  }

  return { reset, more, upsert, all, get: (id: string) => shown.get(id), has: (id: string) => shown.has(id) };
}

/** The same filters the API applies, for rows that arrive live. */
function matches(job: Voicemail, f: Filters): boolean {
  if (f.status && job.status !== f.status) return false;
  if (f.handled && String(job.handled === true) !== f.handled) return false;
  const q = f.q.trim().toLowerCase();
  if (!q) return true;
  const s = job.summary;
  const digits = q.replace(/\D/g, '');
  return (
    [s?.caller_name, s?.callback_number, s?.summary].join('\n').toLowerCase().includes(q) ||
    (digits.length >= 3 && (s?.callback_number ?? '').replace(/\D/g, '').includes(digits))
  );
}

export function describe(job: Voicemail): string {
  const s = job.summary;
  if (!s) return job.status === 'failed' ? `a recording that failed (${jobProblem(job)})` : 'a recording';
  return `${s.caller_name ?? 'unknown caller'}, ${s.urgency} urgency`;
}

function cell(tr: HTMLTableRowElement, className: string, label: string, ...content: Array<Node | string>) {
  const td = tr.insertCell();
  td.className = className;
  td.dataset.label = label;
  td.append(...content);
  return td;
}

export function badge(urgency: Urgency | 'none'): HTMLElement {
  const span = document.createElement('span');
  span.className = `badge urgency-${urgency}`;
  span.textContent = URGENCY_TEXT[urgency] ?? urgency;
  return span;
}

export function telLink(number: string): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = `tel:${number.replace(/[^\d+]/g, '')}`;
  a.textContent = number;
  return a;
}

export const formatDuration = (s: number | null) =>
  s === null ? '—' : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function received(iso: string): HTMLTimeElement {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.textContent = dateFormat.format(new Date(iso));
  return t;
}

export function summaryLine(job: Voicemail): string {
  if (job.no_speech) return 'No speech in this recording.';
  if (job.summary) return job.summary.summary;
  if (isTerminal(job.status) && job.status !== 'succeeded') return jobProblem(job);
  return 'Processing…';
}

function row(job: Voicemail): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = job.id;
  tr.dataset.urgency = bucketOf(job);
  tr.dataset.status = job.status;
  const s = job.summary;
  const open = document.createElement('a');
  open.href = `#${job.id}`;
  open.className = 'open';
  open.textContent = s?.caller_name ?? 'Unknown caller';
  cell(tr, 'urgency', 'Urgency', badge((s?.urgency ?? 'none') as Urgency | 'none'));
  cell(tr, 'caller', 'Caller', open);
  cell(tr, 'number', 'Number', s?.callback_number ? telLink(s.callback_number) : '—');
  const line = summaryLine(job);
  const summary = document.createElement('span');
  summary.className = 'line';
  summary.textContent = line.replace(/\s+/g, ' ');
  summary.title = line;
  cell(tr, 'summary', 'Summary', summary);
  cell(tr, 'received', 'Received', received(job.created_at));
  cell(tr, 'duration', 'Duration', formatDuration(job.duration_seconds));
  const status = cell(tr, 'status', 'Status', STATUS_TEXT[job.status] ?? job.status);
  if (job.handled) {
    const h = document.createElement('span');
    h.className = 'badge handled';
    h.textContent = 'Handled';
    status.append(' ', h);
  }
  return tr;
}

/** The CSV of the filtered list (a cell starting with = + - @ is quoted with a leading ' so no sheet runs it). */
export function toCsv(jobs: Voicemail[], origin: string): string {
  const esc = (v: string) => {
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const lines = [['caller', 'number', 'urgency', 'summary', 'received', 'handled', 'link']];
  for (const j of jobs) {
    const s = j.summary;
    lines.push([
      s?.caller_name ?? '',
      s?.callback_number ?? '',
      s?.urgency ?? '',
      summaryLine(j),
      j.created_at,
      j.handled ? 'yes' : 'no',
      `${origin}/inbox#${j.id}`,
    ]);
  }
  return `${lines.map((l) => l.map(esc).join(',')).join('\r\n')}\r\n`;
}
