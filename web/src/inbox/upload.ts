/**
 * Many recordings → one batch (`POST /v1/batches`, pipeline voicemail): a progress bar per file while the
 * batch uploads (XHR upload progress, split by file along the multipart body), then per stage from each
 * job's live events. Files that cannot be voicemails (empty, not audio) are refused here in plain words
 * before anything is sent; whatever the server refuses is shown the same way.
 */
import { TERMINAL_EVENTS } from '../../../packages/sdk/src/generated/job-states.ts';
import type { InboxApi, Voicemail } from './api.ts';

type Phase = 'refused' | 'uploading' | 'queued' | 'transcribe' | 'summarize' | 'done' | 'failed';

interface Upload {
  file: File;
  li: HTMLLIElement;
  bar: HTMLProgressElement;
  text: HTMLElement;
  jobId?: string;
}

const STAGE_TEXT: Record<string, string> = {
  transcribe: 'Transcribing (step 1 of 2)…',
  summarize: 'Summarizing (step 2 of 2)…',
};
/** Event streams open at once (browsers allow ~6 connections per origin; the list needs some too). */
const MAX_STREAMS = 3;

export interface UploaderDeps {
  api: InboxApi;
  list: HTMLUListElement;
  /** A job of this page ended: the list shows it and the live region announces it. */
  onFinished(job: Voicemail): void;
  /** 401/403: the API key is missing or wrong. */
  onAuthProblem(): void;
}

export function createUploader(deps: UploaderDeps) {
  const waiting: Upload[] = [];
  let streams = 0;
  let wordTimestamps: Promise<boolean> | undefined;
  /** The server's upload limit, once a refusal named it. */
  let maxBytes: number | undefined;

  function item(file: File): Upload {
    const li = document.createElement('li');
    li.className = 'upload';
    const name = document.createElement('span');
    name.className = 'upload-name';
    name.textContent = file.name;
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', `Progress of ${file.name}`);
    const text = document.createElement('span');
    text.className = 'upload-state';
    li.append(name, bar, text);
    deps.list.prepend(li);
    return { file, li, bar, text };
  }

  function set(u: Upload, phase: Phase, text: string, value?: number): void {
    u.li.dataset.phase = phase;
    if (value !== undefined) {
      u.bar.value = Math.round(value);
      u.li.dataset.progress = String(Math.round(value));
    }
    u.bar.hidden = phase === 'refused';
    if (u.text.textContent !== text) u.text.textContent = text;
  }

  async function add(files: File[]): Promise<void> {
    const uploads = files.map(item);
    const ok: Upload[] = [];
    for (const u of uploads) {
      const problem = (await check(u.file)) ?? tooLarge(u.file.size, maxBytes);
      if (problem) set(u, 'refused', problem);
      else ok.push(u);
    }
    if (ok.length > 0) await upload(ok, false);
  }

  async function upload(ok: Upload[], retry: boolean): Promise<void> {
    for (const u of ok) set(u, 'uploading', 'Uploading…', 0);
    wordTimestamps ??= deps.api.acceptsWordTimestamps();
    const form = new FormData();
    // Plain fields first: the server streams the files, fields after them would arrive late.
    form.append('pipeline', 'voicemail');
    if (await wordTimestamps) form.append('word_timestamps', 'true');
    for (const u of ok) form.append('audio', u.file, u.file.name);
    try {
      const batch = await send(form, ok);
      for (const [i, u] of ok.entries()) {
        const job = batch.items.find((it) => it.index === i)?.job;
        if (!job) {
          set(u, 'failed', 'The server did not take this file.');
          continue;
        }
        u.jobId = job.id;
        set(u, 'queued', 'Waiting for a free worker…', 0);
        waiting.push(u);
      }
      pump();
    } catch (err) {
      const { status, message } = err as { status: number; message: string };
      if (status === 401 || status === 403) deps.onAuthProblem();
      // A file over the server's size limit refuses the whole batch: set it aside, send the others again.
      const limit = status === 413 ? Number(/limit of (\d+) bytes/.exec(message)?.[1]) : Number.NaN;
      if (Number.isFinite(limit)) {
        maxBytes = limit;
        const big = ok.filter((u) => u.file.size > limit);
        for (const u of big) set(u, 'refused', tooLarge(u.file.size, limit) ?? '');
        const rest = ok.filter((u) => u.file.size <= limit);
        if (!retry && big.length > 0 && rest.length > 0) return upload(rest, true);
        if (big.length > 0) return;
      }
      for (const u of ok) set(u, 'failed', refusal(status, message));
    }
  }

  /** XHR, for upload progress: bytes sent are spread over the files in body order. */
  function send(
    form: FormData,
    ok: Upload[],
  ): Promise<{ items: Array<{ index: number; job: Voicemail | null }> }> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/v1/batches');
      xhr.responseType = 'json';
      xhr.setRequestHeader('Accept', 'application/json');
      for (const [k, v] of Object.entries(deps.api.authHeaders())) xhr.setRequestHeader(k, v);
      const total = ok.reduce((n, u) => n + u.file.size, 0);
      xhr.upload.addEventListener('progress', (e) => {
        const sent = e.lengthComputable ? (e.loaded / e.total) * total : 0;
        let before = 0;
        for (const u of ok) {
          const share = Math.min(1, Math.max(0, (sent - before) / Math.max(1, u.file.size)));
          before += u.file.size;
          set(u, 'uploading', `Uploading ${Math.round(share * 100)}%`, share * 100);
        }
      });
      xhr.addEventListener('load', () => {
        const body = xhr.response as Record<string, unknown> | null;
        if (xhr.status === 202) resolve(body as never);
        else reject({ status: xhr.status, message: typeof body?.detail === 'string' ? body.detail : '' });
      });
      xhr.addEventListener('error', () => reject({ status: 0, message: '' }));
      xhr.send(form);
    });
  }

  /** Starts event streams for waiting jobs, a few at a time (a stream replays its job's events from the start). */
  function pump(): void {
    while (streams < MAX_STREAMS && waiting.length > 0) {
      const u = waiting.shift();
      if (u?.jobId) follow(u, u.jobId);
    }
  }

  function follow(u: Upload, jobId: string): void {
    streams++;
    const source = new EventSource(deps.api.eventsUrl(jobId));
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      source.close();
      streams--;
      pump();
      deps.api.get(jobId).then(
        (job) => {
          finished(u, job);
          deps.onFinished(job);
        },
        () => set(u, 'failed', 'Could not read the result; reload the page.'),
      );
    };
    const on = (type: string, handle: (d: Record<string, unknown>) => void) =>
      source.addEventListener(type, (e) => {
        try {
          handle(JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>);
        } catch {
          // a malformed event changes nothing
        }
      });
    on('stage.started', (d) => {
      const stage = String(d.stage);
      const summarize = stage === 'summarize';
      set(u, summarize ? 'summarize' : 'transcribe', STAGE_TEXT[stage] ?? 'Working…', summarize ? 60 : 10);
    });
    on('stage.completed', (d) => {
      if (d.stage === 'transcribe') set(u, 'transcribe', 'Transcribed', 50);
    });
    on('stage.retrying', () =>
      set(u, (u.li.dataset.phase as Phase) ?? 'transcribe', 'A step hit a problem; trying again…'),
    );
    for (const type of TERMINAL_EVENTS) on(type, end);
    // CLOSED: the browser gave up on the stream (HTTP error): read the job instead.
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) end();
    });
  }

  function finished(u: Upload, job: Voicemail): void {
    if (job.status === 'succeeded' && !job.no_speech) {
      const s = job.summary;
      const who = s?.caller_name ?? 'unknown caller';
      set(u, 'done', `Done: ${who}${s ? `, ${s.urgency} urgency` : ''}`, 100);
    } else if (job.status === 'canceled') set(u, 'failed', 'Canceled.');
    else set(u, 'failed', jobProblem(job), 100);
  }

  return { add };
}

/** A failed or empty voicemail, in words a person understands. */
export function jobProblem(job: Voicemail): string {
  if (job.no_speech || job.error?.code === 'no_speech') return 'No speech in this recording.';
  if (job.error?.code === 'unsupported_audio' || job.error?.code === 'undecodable_audio')
    return 'This recording could not be decoded (damaged or an unusual format).';
  return job.error?.message ?? 'Failed.';
}

const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`;

function tooLarge(size: number, limit: number | undefined): string | undefined {
  if (limit === undefined || size <= limit) return undefined;
  return `Too large (${mb(size)}): the server takes files up to ${mb(limit)}.`;
}

/** What the server's refusal of a batch means for its files. */
function refusal(status: number, detail: string): string {
  if (status === 0) return 'Could not reach the server. Check your connection and try again.';
  if (status === 401 || status === 403) return 'The server wants an API key: set it under Settings.';
  if (status === 413) return `Too large to upload. ${detail}`;
  if (status === 415) return `Not audio that can be transcribed. ${detail}`;
  if (status === 429) return 'Too many voicemails in progress; try again in a minute.';
  return detail || `The upload was refused (HTTP ${status}).`;
}

/**
 * Audio containers the API takes, by their first bytes (the server decides again; this saves uploading
 * a document or a photo only to have the whole batch refused).
 */
async function check(file: File): Promise<string | undefined> {
  if (file.size === 0) return 'This file is empty.';
  const b = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const ascii = (at: number, s: string) => [...s].every((c, i) => b[at + i] === c.charCodeAt(0));
  const audio =
    (ascii(0, 'RIFF') && ascii(8, 'WAVE')) ||
    ascii(0, 'ID3') ||
    (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0) ||
    ascii(0, 'OggS') ||
    ascii(0, 'fLaC') ||
    ascii(4, 'ftyp') ||
    ascii(0, '#!AMR') ||
    (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3);
  if (!audio)
    return 'Not an audio file, so it cannot be a voicemail. Use WAV, MP3, M4A, OGG, WebM, FLAC or AMR.';
  if (file.size < 1024) return 'Too short to hold speech (is the file cut off?).';
  return undefined;
}
