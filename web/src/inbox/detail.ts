/**
 * One voicemail, in a modal dialog: the recording, its transcript with the word (or, without word times,
 * the segment) being played highlighted and every word a button that plays from there; speakers when the
 * transcript names them; the summary, intent and action items; downloads; the handled mark.
 */
import { byId } from '../dom.ts';
import { fileUrl, type InboxApi, type Urgency, type Voicemail } from './api.ts';
import { badge, formatDuration, received, summaryLine, telLink } from './list.ts';

interface Cue {
  start: number;
  end: number;
  text: string;
  speaker?: string | number | null;
}

interface TranscriptDoc {
  segments?: Array<{ start: number; end: number; text: string; speaker?: string | number | null }>;
  /** issue #15: word times (word_timestamps) and speakers (diarize) */
  words?: Array<{ start: number; end: number; word: string; speaker?: string | number | null }>;
}

const DOWNLOADS = [
  ['transcript_txt', 'Transcript (.txt)', 'txt'],
  ['transcript_srt', 'Subtitles (.srt)', 'srt'],
  ['transcript_vtt', 'Subtitles (.vtt)', 'vtt'],
  ['transcript_json', 'Transcript with times (.json)', 'json'],
] as const;

export interface DetailDeps {
  api: InboxApi;
  /** The handled mark changed: the list row follows. */
  onChange(job: Voicemail): void;
  announce(text: string): void;
  fail(err: unknown): void;
}

export function createDetail(deps: DetailDeps) {
  const ui = {
    dialog: byId<HTMLDialogElement>('detail'),
    title: byId('detail-title'),
    meta: byId('detail-meta'),
    player: byId<HTMLAudioElement>('player'),
    note: byId('player-note'),
    handled: byId<HTMLButtonElement>('handled'),
    handledNote: byId('handled-note'),
    transcript: byId('transcript'),
    hint: byId('transcript-hint'),
    summary: byId('detail-summary'),
    intent: byId('detail-intent'),
    actions: byId<HTMLUListElement>('detail-actions'),
    downloads: byId<HTMLUListElement>('downloads'),
    close: byId<HTMLButtonElement>('close'),
  };
  let job: Voicemail | undefined;
  let cues: Cue[] = [];
  let buttons: HTMLButtonElement[] = [];
  let current = -1;
  let objectUrl: string | undefined;
  let opened = 0;

  async function open(id: string): Promise<void> {
    const ticket = ++opened;
    let fresh: Voicemail;
    try {
      fresh = await deps.api.get(id);
    } catch (err) {
      deps.fail(err);
      return;
    }
    if (ticket !== opened) return;
    job = fresh;
    render(fresh);
    if (!ui.dialog.open) ui.dialog.showModal();
    await Promise.all([loadAudio(fresh, ticket), loadTranscript(fresh, ticket)]);
  }

  function render(j: Voicemail): void {
    const s = j.summary;
    ui.title.textContent = s?.caller_name ?? 'Unknown caller';
    const parts: Array<Node | string> = [badge((s?.urgency ?? 'none') as Urgency | 'none')];
    if (s?.callback_number) parts.push(' · ', telLink(s.callback_number));
    parts.push(' · ', received(j.created_at), ` · ${formatDuration(j.duration_seconds)}`);
    ui.meta.replaceChildren(...parts);
    ui.summary.textContent = summaryLine(j);
    ui.intent.textContent = s?.intent ?? '—';
    ui.actions.replaceChildren(...(s?.action_items ?? []).map((a) => li(a)));
    if (!s?.action_items.length) ui.actions.replaceChildren(li('None.'));
    showHandled(j);
    ui.downloads.replaceChildren(
      ...DOWNLOADS.flatMap(([name, label, ext]) => {
        const url = j.artifacts?.[name];
        if (!url) return [];
        const a = document.createElement('a');
        a.href = fileUrl(url);
        a.download = `voicemail-${j.id.slice(0, 8)}.${ext}`;
        a.textContent = label;
        return [li(a)];
      }),
    );
    if (ui.downloads.childElementCount === 0) ui.downloads.replaceChildren(li('Nothing to download yet.'));
  }

  function showHandled(j: Voicemail): void {
    ui.handled.dataset.handled = String(j.handled === true);
    ui.handled.textContent = j.handled ? 'Mark not handled' : 'Mark handled';
    ui.handledNote.hidden = !j.handled;
  }

  /** Same-origin files are read into a blob: seeking then works whatever the file server does with Range. */
  async function loadAudio(j: Voicemail, ticket: number): Promise<void> {
    release();
    ui.note.hidden = true;
    const url = j.input.url ? fileUrl(j.input.url) : undefined;
    if (!url) {
      ui.player.hidden = true;
      return;
    }
    ui.player.hidden = false;
    if (new URL(url, location.href).origin !== location.origin) {
      ui.player.src = url;
      return;
    }
    try {
      const res = await fetch(url, { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const blob = await res.blob();
      if (ticket !== opened) return;
      objectUrl = URL.createObjectURL(new Blob([blob], { type: j.input.type ?? blob.type }));
      ui.player.src = objectUrl;
    } catch {
      note('The recording could not be loaded; it may have been deleted.');
    }
  }

  async function loadTranscript(j: Voicemail, ticket: number): Promise<void> {
    cues = [];
    buttons = [];
    current = -1;
    ui.transcript.replaceChildren();
    const url = j.artifacts?.transcript_json;
    let doc: TranscriptDoc | undefined;
    if (url)
      doc = (await fetch(fileUrl(url), { cache: 'no-store' }).then(
        (r) => (r.ok ? r.json() : undefined),
        () => undefined,
      )) as TranscriptDoc | undefined;
    if (ticket !== opened) return;
    const words = doc?.words ?? [];
    cues = words.length > 0 ? words.map((w) => ({ ...w, text: w.word })) : (doc?.segments ?? []);
    ui.transcript.dataset.unit = words.length > 0 ? 'word' : 'segment';
    ui.hint.textContent = `Select a ${words.length > 0 ? 'word' : 'line'} to play from there.`;
    if (cues.length === 0) {
      ui.transcript.replaceChildren(
        para(
          j.transcript ??
            (j.no_speech || j.error?.code === 'no_speech'
              ? 'No speech in this recording.'
              : 'No transcript.'),
        ),
      );
      return;
    }
    let p: HTMLElement | undefined;
    let speaker: unknown;
    for (const [i, cue] of cues.entries()) {
      if (!p || cue.speaker !== speaker || (words.length === 0 && i > 0 && cue.speaker == null)) {
        p = para();
        if (cue.speaker != null && cue.speaker !== speaker) {
          const who = document.createElement('span');
          who.className = 'speaker';
          who.textContent =
            typeof cue.speaker === 'number' ? `Speaker ${cue.speaker + 1}` : `Speaker ${cue.speaker}`;
          p.append(who, ' ');
        }
        speaker = cue.speaker;
        ui.transcript.append(p);
      } else p.append(' ');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'cue';
      b.dataset.start = String(cue.start);
      b.textContent = cue.text.trim();
      b.addEventListener('click', () => seek(cue.start));
      buttons.push(b);
      p.append(b);
    }
    highlight();
  }

  function seek(t: number): void {
    ui.player.currentTime = t;
    highlight();
    ui.player.play().catch(() => note('Press play on the player to listen.'));
  }

  /** Marks the cue being played: the last one starting at or before currentTime (binary search). */
  function highlight(): void {
    const t = ui.player.currentTime;
    let lo = 0;
    let hi = cues.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((cues[mid]?.start ?? 0) <= t + 0.001) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found === current) return;
    buttons[current]?.removeAttribute('aria-current');
    current = found;
    const b = buttons[found];
    if (!b) return;
    b.setAttribute('aria-current', 'true');
    if (!ui.player.paused) b.scrollIntoView({ block: 'nearest' });
  }

  function note(text: string): void {
    ui.note.textContent = text;
    ui.note.hidden = false;
  }

  function release(): void {
    ui.player.pause();
    ui.player.removeAttribute('src');
    ui.player.load();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = undefined;
  }

  // `seeking` fires as soon as currentTime is set (a paused player may answer `seeked` much later).
  for (const type of ['timeupdate', 'seeking', 'seeked', 'loadedmetadata'])
    ui.player.addEventListener(type, highlight);
  ui.player.addEventListener('error', () => {
    if (ui.player.getAttribute('src'))
      note('This browser cannot play this recording; download it from the job instead.');
  });
  ui.close.addEventListener('click', () => ui.dialog.close());
  ui.dialog.addEventListener('close', () => {
    opened++;
    release();
    job = undefined;
  });
  ui.handled.addEventListener('click', async () => {
    if (!job || ui.handled.getAttribute('aria-disabled') === 'true') return;
    ui.handled.setAttribute('aria-disabled', 'true');
    try {
      const updated = await deps.api.setHandled(job.id, !job.handled);
      job = updated;
      showHandled(updated);
      deps.onChange(updated);
      deps.announce(updated.handled ? 'Marked handled.' : 'Marked not handled.');
    } catch (err) {
      deps.fail(err);
    } finally {
      ui.handled.setAttribute('aria-disabled', 'false');
    }
  });

  return { open, close: () => ui.dialog.open && ui.dialog.close(), isOpen: () => ui.dialog.open };
}

function li(content: Node | string): HTMLLIElement {
  const el = document.createElement('li');
  el.append(content);
  return el;
}

function para(text?: string): HTMLParagraphElement {
  const p = document.createElement('p');
  if (text !== undefined) p.textContent = text;
  return p;
}
