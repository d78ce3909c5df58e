/**
 * The voicemail inbox (/inbox): drop recordings in (one batch, pipeline voicemail), follow them through
 * the pipeline, triage the list by urgency, open one to listen with its words, mark it handled, export CSV.
 */
import { isTerminal } from '../../../packages/sdk/src/generated/job-states.ts';
import { ApiError } from '../api.ts';
import { loadSetting, saveSetting } from '../conversation.ts';
import { byId } from '../dom.ts';
import { createInboxApi, type Filters } from './api.ts';
import { createDetail } from './detail.ts';
import { createList, toCsv } from './list.ts';
import { createUploader } from './upload.ts';

/** The newest voicemails are re-read this often, so results from other tabs and people appear too. */
const POLL_MS = 10_000;

const ui = {
  drop: byId('drop'),
  choose: byId<HTMLButtonElement>('choose'),
  files: byId<HTMLInputElement>('files'),
  uploads: byId<HTMLUListElement>('uploads'),
  filters: byId<HTMLFormElement>('filters'),
  announce: byId('announce'),
  alert: byId('alert'),
  rows: byId<HTMLTableSectionElement>('rows'),
  count: byId('list-count'),
  more: byId<HTMLButtonElement>('more'),
  exportCsv: byId<HTMLButtonElement>('export'),
  settings: byId<HTMLDetailsElement>('settings'),
  apiKey: byId<HTMLInputElement>('api-key'),
};

const api = createInboxApi(() => ui.apiKey.value.trim());
/** Voicemails seen ended (listed at the start, or announced): only others are announced as new. */
const seen = new Set<string>();
const ended = (job: { status: string }) => isTerminal(job.status);

function announce(text: string): void {
  // Re-setting the same text is not announced again: clear first.
  ui.announce.textContent = '';
  requestAnimationFrame(() => {
    ui.announce.textContent = text;
  });
}

function fail(err: unknown): void {
  const e = err instanceof ApiError ? err : undefined;
  if (e?.status === 401 || e?.status === 403) openSettings();
  ui.alert.textContent = e?.message ?? 'Something went wrong; reload the page.';
  ui.alert.hidden = false;
}

function openSettings(): void {
  ui.settings.open = true;
  ui.apiKey.focus();
}

const list = createList({ api, rows: ui.rows, count: ui.count, more: ui.more, announce, fail });
const detail = createDetail({
  api,
  announce,
  fail,
  onChange: (job) => list.upsert(job, false),
});
const uploader = createUploader({
  api,
  list: ui.uploads,
  onAuthProblem: openSettings,
  onFinished(job) {
    const isNew = !seen.has(job.id);
    seen.add(job.id);
    list.upsert(job, isNew);
  },
});

function currentFilters(): Filters {
  const data = new FormData(ui.filters);
  const get = (k: string) => String(data.get(k) ?? '');
  return { urgency: get('urgency'), status: get('status'), handled: get('handled'), q: get('q') };
}

function reload(): void {
  ui.alert.hidden = true;
  void list.reset(currentFilters());
}

// ── uploads ──────────────────────────────────────────────────────────────────────────────────────

ui.choose.addEventListener('click', () => ui.files.click());
ui.files.addEventListener('change', () => {
  const files = [...(ui.files.files ?? [])];
  ui.files.value = '';
  if (files.length > 0) void uploader.add(files);
});
for (const type of ['dragenter', 'dragover'] as const)
  ui.drop.addEventListener(type, (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  const files = [...(e.dataTransfer?.files ?? [])];
  if (files.length > 0) void uploader.add(files);
});
// A file dropped beside the zone must not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

// ── list ─────────────────────────────────────────────────────────────────────────────────────────

let searchTimer = 0;
ui.filters.addEventListener('change', reload);
ui.filters.addEventListener('input', (e) => {
  if ((e.target as HTMLElement).tagName !== 'INPUT') return;
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(reload, 300);
});
ui.filters.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(searchTimer);
  reload();
});
ui.more.addEventListener('click', () => void list.more());

// A click anywhere on a row opens it (the caller link is the keyboard way); links in it keep their job.
ui.rows.addEventListener('click', (e) => {
  const target = e.target as HTMLElement;
  if (target.closest('a')) return;
  const id = target.closest('tr')?.dataset.id;
  if (id) location.hash = id;
});

ui.exportCsv.addEventListener('click', async () => {
  ui.exportCsv.setAttribute('aria-disabled', 'true');
  try {
    const rows = await list.all();
    const url = URL.createObjectURL(new Blob([toCsv(rows, location.origin)], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `voicemails-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    announce(`Exported ${rows.length} voicemails as CSV.`);
  } catch (err) {
    fail(err);
  } finally {
    ui.exportCsv.setAttribute('aria-disabled', 'false');
  }
});

/** Results from elsewhere (another tab, the API): the newest page, slotted in when new or changed. */
async function poll(): Promise<void> {
  if (document.visibilityState !== 'visible') return;
  try {
    const { data } = await api.newest(20);
    for (const job of data) {
      const known = list.get(job.id);
      if (ended(job) && !seen.has(job.id)) {
        seen.add(job.id);
        list.upsert(job, true);
      } else if (known && (known.status !== job.status || known.handled !== job.handled)) {
        list.upsert(job, false);
      }
    }
  } catch {
    // The next poll tries again; errors of the list itself are shown.
  }
}

// ── one voicemail ────────────────────────────────────────────────────────────────────────────────

const JOB_ID = /^#([0-9a-f-]{36})$/i;
let returnFocus: string | undefined;

function route(): void {
  const id = JOB_ID.exec(location.hash)?.[1];
  if (id) {
    returnFocus = id;
    void detail.open(id);
  } else detail.close();
}
window.addEventListener('hashchange', route);
byId<HTMLDialogElement>('detail').addEventListener('close', () => {
  if (JOB_ID.test(location.hash)) history.replaceState(null, '', location.pathname + location.search);
  const link = returnFocus
    ? ui.rows.querySelector<HTMLAnchorElement>(`tr[data-id="${returnFocus}"] a.open`)
    : null;
  link?.focus();
});

// ── settings ─────────────────────────────────────────────────────────────────────────────────────

ui.apiKey.value = loadSetting('apiKey');
ui.apiKey.form?.addEventListener('submit', (e) => {
  e.preventDefault();
  ui.settings.open = false;
  reload();
});
ui.apiKey.addEventListener('input', () => saveSetting('apiKey', ui.apiKey.value.trim()));
ui.settings.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || !ui.settings.open) return;
  ui.settings.open = false;
  ui.settings.querySelector('summary')?.focus();
});

// Start: the first page; what is on it now is not "new".
void list
  .reset(currentFilters())
  .then(() => api.newest(20))
  .then(({ data }) => {
    for (const job of data) if (ended(job)) seen.add(job.id);
  })
  .catch(() => {});
setInterval(() => void poll(), POLL_MS);
route();
