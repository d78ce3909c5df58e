/**
 * The voicebot page: record (or type) → POST /v1/jobs → live progress from the job's event stream →
 * transcript and reply as they exist → the spoken reply plays by itself (or behind a Play button when the
 * browser blocks autoplay). One conversation per tab; every turn can be replayed.
 */
import { isTerminal } from '../../packages/sdk/src/generated/job-states.ts';
import { type Api, ApiError, createApi, type JobError, type JobView, playableUrl } from './api.ts';
import {
  type Conversation,
  loadConversation,
  loadSetting,
  newConversation,
  randomId,
  saveConversation,
  saveSetting,
  type Turn,
} from './conversation.ts';
import { byId } from './dom.ts';
import { PiecePlayer } from './pieces.ts';
import { canRecord, Recorder } from './recorder.ts';

/** `?stream=off`: the whole-stage path (reply.mp3 once the job ends), for comparison. */
const STREAM_REPLY = new URLSearchParams(location.search).get('stream') !== 'off';

/** performance.now() marks of one turn, for the latency benchmark (window.__voicebotTimings). */
interface TurnTimings {
  input: 'audio' | 'text';
  jobId: string | null;
  /** Recording stopped (or the text was sent). */
  stopped: number;
  /** The recording is ready and the upload starts. */
  submitted?: number;
  /** 202 from POST /v1/jobs. */
  accepted?: number;
  /** First arrival of each event, keyed `type` or `type:stage`. */
  events: Record<string, number>;
  /** The job with its audio URL is back and play() was called. */
  audioRequested?: number;
  /** The reply's audio `playing` event (the first spoken piece's, when the reply streams). */
  playing?: number;
  /** The reply's audio played to its end (the last piece's `ended`). */
  finished?: number;
  /** A streamed reply: each piece's `playing` and `ended`. */
  pieces?: Array<{ playing?: number; ended?: number }>;
  autoplayBlocked?: boolean;
}

declare global {
  interface Window {
    __voicebotTimings: TurnTimings[];
  }
}

const MAX_RECORDING_MS = 120_000;
const MIN_RECORDING_MS = 400;
const POLL_MS = 1000;
const STAGES = ['upload', 'transcribe', 'chat', 'speak'] as const;
type StageName = (typeof STAGES)[number];
type StageState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

const STAGE_STATUS: Record<string, string> = {
  transcribe: 'Transcribing what you said…',
  chat: 'Thinking of a reply…',
  speak: 'Speaking the reply…',
};
const STAGE_STATE_TEXT: Record<StageState, string> = {
  pending: ': waiting',
  running: ': in progress',
  done: ': done',
  skipped: ': not needed',
  failed: ': failed',
};

const ui = {
  record: byId<HTMLButtonElement>('record'),
  recordLabel: byId('record-label'),
  timer: byId('timer'),
  play: byId<HTMLButtonElement>('play'),
  player: byId<HTMLAudioElement>('player'),
  form: byId<HTMLFormElement>('text-form'),
  text: byId<HTMLInputElement>('text-input'),
  send: byId<HTMLButtonElement>('send'),
  status: byId('status'),
  alert: byId('alert'),
  stages: byId<HTMLOListElement>('stages'),
  turns: byId<HTMLOListElement>('turns'),
  conversation: byId('conversation'),
  empty: byId('empty'),
  settings: byId<HTMLDetailsElement>('settings'),
  apiKey: byId<HTMLInputElement>('api-key'),
  newConversation: byId<HTMLButtonElement>('new-conversation'),
};

const api: Api = createApi(() => ui.apiKey.value.trim());
const recorder = new Recorder();
const timings: TurnTimings[] = [];
window.__voicebotTimings = timings;

let conversation: Conversation = loadConversation();
/** The turn being sent or processed; one at a time, so each turn's reply sees the turns before it. */
let active: { turn: Turn; timing: TurnTimings | undefined; stop: () => void; autoplay: boolean } | undefined;
let starting = false;
let stopping = false;
let recordTimer = 0;
let recordStartedAt = 0;

// ── status, alerts, progress ─────────────────────────────────────────────────────────────────────

function setStatus(text: string): void {
  if (ui.status.textContent !== text) ui.status.textContent = text;
}

function showAlert(text: string | null): void {
  ui.alert.hidden = !text;
  ui.alert.textContent = text ?? '';
}

function resetStages(input: 'audio' | 'text'): void {
  ui.stages.hidden = false;
  for (const s of STAGES) setStage(s, s === 'transcribe' && input === 'text' ? 'skipped' : 'pending');
}

function setStage(stage: string, state: StageState): void {
  const li = ui.stages.querySelector<HTMLLIElement>(`[data-stage="${stage}"]`);
  if (!li) return;
  li.dataset.state = state;
  const label = li.querySelector('.state');
  if (label) label.textContent = STAGE_STATE_TEXT[state];
  if (state === 'running') li.setAttribute('aria-current', 'step');
  else li.removeAttribute('aria-current');
}

function stageOf(name: unknown): StageName | undefined {
  return STAGES.find((s) => s === name);
}

// ── turns ────────────────────────────────────────────────────────────────────────────────────────

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderTurn(turn: Turn): void {
  const id = `turn-${turn.key}`;
  let li = document.getElementById(id) as HTMLLIElement | null;
  if (!li) {
    li = el('li', 'turn');
    li.id = id;
    const you = el('div', 'msg you');
    you.append(el('p', 'who', 'You'), el('p', 'text'));
    const bot = el('div', 'msg bot');
    const replay = el('button', 'replay', 'Play reply');
    replay.type = 'button';
    replay.hidden = true;
    replay.addEventListener('click', () => replayTurn(turn.key));
    bot.append(el('p', 'who', 'Voicebot'), el('p', 'text'), replay);
    li.append(you, bot);
    ui.turns.append(li);
  }
  const [youText, botText] = li.querySelectorAll<HTMLParagraphElement>('.text');
  const replay = li.querySelector<HTMLButtonElement>('.replay');
  li.dataset.status = turn.status;
  if (youText) {
    const waiting = turn.input === 'audio' ? 'Voice message…' : '…';
    setText(youText, turn.you ?? (turn.status === 'failed' ? 'Voice message' : waiting), !turn.you);
  }
  if (botText) {
    const placeholder = turn.status === 'failed' ? `Failed: ${turn.error ?? 'unknown error'}` : '…';
    setText(botText, turn.bot ?? (turn.status === 'canceled' ? 'Canceled.' : placeholder), !turn.bot);
  }
  if (replay) {
    replay.hidden = turn.status !== 'succeeded' || !turn.jobId;
    replay.setAttribute('aria-label', `Play reply${turn.you ? ` to “${clip(turn.you)}”` : ''}`);
  }
  ui.empty.hidden = conversation.turns.length > 0;
}

function setText(p: HTMLElement, text: string, pending: boolean): void {
  if (p.textContent !== text) p.textContent = text;
  p.classList.toggle('pending', pending);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function updateTurn(turn: Turn, patch: Partial<Turn>): void {
  Object.assign(turn, patch);
  saveConversation(conversation);
  if (!conversation.turns.includes(turn)) return;
  renderTurn(turn);
  if (conversation.turns.at(-1) === turn) scrollToEnd();
}

function scrollToEnd(): void {
  const box = ui.conversation;
  if (box.scrollHeight > box.clientHeight) box.scrollTop = box.scrollHeight;
  else ui.turns.lastElementChild?.scrollIntoView({ block: 'nearest' });
}

/** While the reader is at the end of the conversation, keep it there as things grow or the composer does. */
let pinnedToEnd = true;
ui.conversation.addEventListener(
  'scroll',
  () => {
    const box = ui.conversation;
    pinnedToEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
  },
  { passive: true },
);
if (typeof ResizeObserver === 'function') {
  const keepAtEnd = new ResizeObserver(() => {
    const box = ui.conversation;
    if (pinnedToEnd && box.scrollHeight > box.clientHeight) box.scrollTop = box.scrollHeight;
  });
  keepAtEnd.observe(ui.conversation);
  keepAtEnd.observe(ui.turns);
}

function renderAll(): void {
  ui.turns.replaceChildren();
  for (const t of conversation.turns) renderTurn(t);
  ui.empty.hidden = conversation.turns.length > 0;
}

// ── controls ─────────────────────────────────────────────────────────────────────────────────────

/** Busy controls stay focusable (aria-disabled), so a keyboard user's focus is never lost. */
function updateControls(): void {
  const busy = active !== undefined;
  const recording = recorder.recording;
  ui.record.setAttribute('aria-disabled', String(busy && !recording));
  ui.send.setAttribute('aria-disabled', String(busy || recording));
  ui.newConversation.setAttribute('aria-disabled', String(busy || recording));
  ui.record.dataset.state = recording ? 'recording' : busy ? 'busy' : 'idle';
  ui.recordLabel.textContent = recording ? 'Stop and send' : 'Start recording';
}

function idleStatus(): void {
  setStatus(
    canRecord()
      ? 'Ready. Press the button and speak, or type a message.'
      : 'Ready. Type a message (recording is not available in this browser).',
  );
}

// ── recording ────────────────────────────────────────────────────────────────────────────────────

async function onRecord(): Promise<void> {
  unlockAudio();
  if (recorder.recording) return stopAndSend();
  if (starting || stopping) return;
  if (active) {
    setStatus('Still working on your last message…');
    return;
  }
  if (!canRecord()) {
    showAlert('Recording needs a browser with microphone access over HTTPS. You can type instead.');
    return;
  }
  showAlert(null);
  ui.player.pause();
  ui.play.hidden = true;
  starting = true;
  try {
    await recorder.start();
  } catch (err) {
    const name = err instanceof DOMException ? err.name : '';
    showAlert(
      name === 'NotAllowedError' || name === 'SecurityError'
        ? 'Microphone access was blocked. Allow it in your browser’s site settings, or type instead.'
        : name === 'NotFoundError'
          ? 'No microphone was found. You can type instead.'
          : 'Could not start recording. You can type instead.',
    );
    return;
  } finally {
    starting = false;
    updateControls();
  }
  recordStartedAt = performance.now();
  setStatus('Recording. Press the button again to send.');
  tickTimer();
  recordTimer = window.setInterval(tickTimer, 250);
}

function tickTimer(): void {
  const ms = performance.now() - recordStartedAt;
  if (ms >= MAX_RECORDING_MS) {
    void stopAndSend();
    return;
  }
  const s = Math.floor(ms / 1000);
  ui.timer.textContent = `Recording ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

async function stopAndSend(): Promise<void> {
  const stopped = performance.now();
  clearInterval(recordTimer);
  ui.timer.textContent = 'Space or Enter starts and stops.';
  let recording: Awaited<ReturnType<Recorder['stop']>>;
  stopping = true;
  try {
    const pending = recorder.stop();
    updateControls();
    recording = await pending;
  } catch {
    updateControls();
    showAlert('The recording failed. Please try again.');
    return;
  } finally {
    stopping = false;
  }
  if (recording.durationMs < MIN_RECORDING_MS || recording.blob.size < 1024) {
    setStatus('That was too short to hear anything. Hold on a little longer.');
    return;
  }
  void submit({ input: 'audio', audio: recording.blob, filename: recording.filename }, stopped);
}

// ── a turn's life: submit → follow events → play ─────────────────────────────────────────────────

interface Input {
  input: 'audio' | 'text';
  audio?: Blob;
  filename?: string;
  text?: string;
}

async function submit(input: Input, stopped: number): Promise<void> {
  const timing: TurnTimings = { input: input.input, jobId: null, stopped, events: {} };
  timings.push(timing);
  const turn: Turn = {
    key: randomId(),
    jobId: null,
    input: input.input,
    you: input.text ?? null,
    bot: null,
    status: 'sending',
    error: null,
  };
  active = { turn, timing, stop: () => {}, autoplay: true };
  conversation.turns.push(turn);
  updateTurn(turn, {});
  updateControls();
  showAlert(null);
  resetStages(input.input);
  setStage('upload', 'running');
  setStatus('Sending your message…');
  timing.submitted = performance.now();
  let job: JobView;
  try {
    job = await api.createJob({ conversationId: conversation.id, streamReply: STREAM_REPLY, ...input });
  } catch (err) {
    setStage('upload', 'failed');
    finish(turn, { status: 'failed', error: describe(err) });
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) askForKey();
    return;
  }
  timing.accepted = performance.now();
  timing.jobId = job.id;
  setStage('upload', 'done');
  updateTurn(turn, { jobId: job.id, status: job.status });
  setStatus('Waiting for a free worker…');
  follow(turn, job.id, timing);
}

/** Live progress from the job's Server-Sent Events; polls the job if the stream cannot be opened. */
function follow(turn: Turn, jobId: string, timing: TurnTimings | undefined): void {
  const source = new EventSource(api.eventsUrl(jobId));
  let polling = 0;
  let pieces: PiecePlayer | undefined;
  const stop = () => {
    source.close();
    clearTimeout(polling);
  };
  if (active) active.stop = stop;

  const on = (type: string, handle: (data: Record<string, unknown>) => void) =>
    source.addEventListener(type, (e) => {
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
      } catch {
        return;
      }
      if (timing) {
        const mark = typeof data.stage === 'string' ? `${type}:${data.stage}` : type;
        timing.events[mark] ??= performance.now();
      }
      handle(data);
    });

  on('job.queued', () => setStatus('Waiting for a free worker…'));
  on('stage.started', (d) => {
    const stage = stageOf(d.stage);
    if (!stage) return;
    setStage(stage, 'running');
    setStatus(STAGE_STATUS[stage] ?? 'Working…');
    if (turn.status !== 'running') updateTurn(turn, { status: 'running' });
  });
  on('stage.completed', (d) => {
    const stage = stageOf(d.stage);
    if (stage) setStage(stage, 'done');
    const patch: Partial<Turn> = {};
    if (typeof d.transcript === 'string') patch.you = d.transcript;
    if (typeof d.reply_text === 'string') patch.bot = d.reply_text;
    if (patch.you !== undefined || patch.bot !== undefined) updateTurn(turn, patch);
  });
  // A streamed reply: its words as they are written, its spoken pieces as they are stored.
  let replyText = '';
  on('reply.delta', (d) => {
    if (typeof d.text !== 'string') return;
    if (d.seq === 0) replyText = ''; // a retried chat stage writes the reply again from the start
    replyText += d.text;
    updateTurn(turn, { bot: replyText });
  });
  on('speech.segment', (d) => {
    if (typeof d.index !== 'number' || typeof d.url !== 'string') return;
    if (!(active?.turn === turn && active.autoplay)) return;
    pieces ??= piecePlayer(jobId, timing);
    pieces.add(d.index, d.url);
  });
  on('stage.retrying', (d) => {
    const stage = typeof d.stage === 'string' ? d.stage : 'current';
    setStatus(`The ${stage} step hit a problem; trying again…`);
  });
  on('job.succeeded', () => {
    stop();
    void succeeded(turn, jobId, timing, undefined, pieces);
  });
  on('job.failed', (d) => {
    stop();
    const error = d.error as JobError | undefined;
    if (error?.message) failed(turn, error);
    // A stream opened just as the job ended may carry a bare terminal event: the job has the details.
    else
      api.getJob(jobId).then(
        (job) => failed(turn, job.error ?? undefined),
        () => failed(turn, undefined),
      );
  });
  on('job.canceled', () => {
    stop();
    finish(turn, { status: 'canceled' });
  });
  source.addEventListener('error', () => {
    // CONNECTING: the browser reconnects by itself (resuming after Last-Event-ID). CLOSED: it gave up
    // (an HTTP error, e.g. 401), so fall back to polling the job.
    if (source.readyState === EventSource.CLOSED) poll();
  });

  function poll(): void {
    api.getJob(jobId).then(
      (job) => {
        applyView(turn, job);
        if (job.status === 'succeeded') void succeeded(turn, jobId, timing, job);
        else if (job.status === 'failed') failed(turn, job.error ?? undefined);
        else if (job.status === 'canceled') finish(turn, { status: 'canceled' });
        else polling = window.setTimeout(poll, POLL_MS);
      },
      (err) => {
        if (err instanceof ApiError && err.status === 0) polling = window.setTimeout(poll, POLL_MS * 3);
        else {
          finish(turn, { status: 'failed', error: describe(err) });
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) askForKey();
        }
      },
    );
  }
}

function applyView(turn: Turn, job: JobView): void {
  updateTurn(turn, { you: job.transcript ?? turn.you, bot: job.reply_text ?? turn.bot });
  const stage = stageOf(job.stage);
  if (job.status === 'running' && stage) {
    setStage(stage, 'running');
    setStatus(STAGE_STATUS[stage] ?? 'Working…');
  }
}

/** The player of a streamed reply's pieces; the turn's timings follow it. */
function piecePlayer(jobId: string, timing: TurnTimings | undefined): PiecePlayer {
  ui.player.pause();
  ui.player.dataset.jobId = jobId;
  const player = new PiecePlayer(playableUrl, {
    onFirstPlaying: () => {
      if (timing) timing.playing ??= performance.now();
      setStatus('Speaking the reply…');
    },
    onFinished: () => {
      if (timing) timing.finished ??= performance.now();
      if (!active && !recorder.recording) idleStatus();
    },
    onError: (err) => {
      if (err instanceof DOMException && err.name === 'NotAllowedError' && timing)
        timing.autoplayBlocked = true;
    },
  });
  if (timing) timing.pieces = player.marks;
  return player;
}

async function succeeded(
  turn: Turn,
  jobId: string,
  timing: TurnTimings | undefined,
  view?: JobView,
  pieces?: PiecePlayer,
) {
  const autoplay = active?.turn === turn && active.autoplay;
  let job = view;
  try {
    job ??= await api.getJob(jobId);
  } catch (err) {
    finish(turn, { status: 'succeeded' });
    showAlert(`The reply is ready but could not be loaded: ${describe(err)}`);
    return;
  }
  for (const s of STAGES) if (s !== 'transcribe' || turn.input === 'audio') setStage(s, 'done');
  finish(turn, { status: 'succeeded', you: job.transcript ?? turn.you, bot: job.reply_text ?? turn.bot });
  if (!job.audio_url) {
    setStatus('Reply ready (no audio).');
    return;
  }
  if (!autoplay) {
    setStatus('Reply ready.');
    return;
  }
  if (pieces && !pieces.blocked) {
    // Every piece was announced before the reply was recorded: no more will come. The page plays them.
    pieces.end(pieces.received);
    return;
  }
  setStatus('Reply ready. Playing it now.');
  if (timing) timing.audioRequested = performance.now();
  await play(job.audio_url, jobId, timing);
}

function failed(turn: Turn, error: JobError | undefined): void {
  const stage = stageOf(error?.stage);
  if (stage) setStage(stage, 'failed');
  finish(turn, { status: 'failed', error: error?.message ?? 'The job failed.' });
}

/** The turn is over: record it, free the controls and say how it went. */
function finish(turn: Turn, patch: Partial<Turn>): void {
  updateTurn(turn, patch);
  if (active?.turn === turn) {
    active.stop();
    active = undefined;
  }
  updateControls();
  if (turn.status === 'failed') {
    setStatus('Something went wrong.');
    showAlert(`Sorry, that did not work: ${turn.error ?? 'unknown error'}`);
  } else if (turn.status === 'canceled') {
    setStatus('The message was canceled.');
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401 || err.status === 403)
      return `${err.message} (Check the API key in Settings.)`.trim();
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

function askForKey(): void {
  ui.settings.open = true;
  ui.apiKey.focus();
}

// ── playback ─────────────────────────────────────────────────────────────────────────────────────

/** Plays a reply; when the browser refuses to autoplay, a visible Play button does it on a tap. */
async function play(url: string, jobId: string, timing?: TurnTimings): Promise<void> {
  const { player } = ui;
  player.pause();
  if (player.src.startsWith('blob:')) URL.revokeObjectURL(player.src);
  player.dataset.jobId = jobId;
  player.src = playableUrl(url);
  player.hidden = false;
  ui.play.hidden = true;
  try {
    await player.play();
  } catch (err) {
    if (player.dataset.jobId !== jobId) return;
    if (err instanceof DOMException && err.name === 'NotAllowedError') {
      if (timing) timing.autoplayBlocked = true;
      ui.play.hidden = false;
      setStatus('Reply ready. Press “Play reply” to listen.');
    } else if (!(err instanceof DOMException && err.name === 'AbortError')) {
      showAlert('The spoken reply could not be played. The text is above.');
    }
  }
}

async function replayTurn(key: string): Promise<void> {
  unlockAudio();
  const turn = conversation.turns.find((t) => t.key === key);
  if (!turn?.jobId || recorder.recording) return;
  try {
    // Always a fresh job read: audio links are signed and expire.
    const job = await api.getJob(turn.jobId);
    if (!job.audio_url) {
      showAlert('This reply has no audio any more.');
      return;
    }
    setStatus('Playing the reply.');
    await play(job.audio_url, turn.jobId);
  } catch (err) {
    showAlert(`Could not load that reply: ${describe(err)}`);
  }
}

let audioUnlocked = false;
/**
 * Some browsers (iOS Safari) only let an audio element play sound after it was started inside a user
 * gesture: play a few milliseconds of silence on the first tap, so the reply can play by itself later.
 */
function unlockAudio(): void {
  if (audioUnlocked || ui.player.src) return;
  audioUnlocked = true;
  const url = URL.createObjectURL(silentWav());
  ui.player.src = url;
  ui.player.play().then(
    () => {
      if (ui.player.src === url) ui.player.pause();
    },
    () => {},
  );
}

function silentWav(): Blob {
  const samples = 400;
  const view = new DataView(new ArrayBuffer(44 + samples * 2));
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) view.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples * 2, true);
  ascii(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, 8000, true);
  view.setUint32(28, 16000, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, samples * 2, true);
  return new Blob([view.buffer], { type: 'audio/wav' });
}

// ── wiring ───────────────────────────────────────────────────────────────────────────────────────

ui.record.addEventListener('click', () => void onRecord());
// Holding Enter/Space must not toggle recording on and off with key repeat.
ui.record.addEventListener('keydown', (e) => {
  if (e.repeat && (e.key === 'Enter' || e.key === ' ')) e.preventDefault();
});

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  unlockAudio();
  const text = ui.text.value.trim();
  if (!text) return;
  if (active || recorder.recording) {
    setStatus('Still working on your last message…');
    return;
  }
  ui.text.value = '';
  ui.player.pause();
  ui.play.hidden = true;
  void submit({ input: 'text', text }, performance.now());
});

ui.play.addEventListener('click', () => {
  ui.play.hidden = true;
  ui.player.play().catch(() => showAlert('The spoken reply could not be played. The text is above.'));
});

ui.player.addEventListener('ended', () => {
  const timing = timings.find((t) => t.jobId === ui.player.dataset.jobId);
  if (timing) timing.finished ??= performance.now();
  if (!active && !recorder.recording && ui.player.dataset.jobId) idleStatus();
});

ui.settings.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || !ui.settings.open) return;
  ui.settings.open = false;
  ui.settings.querySelector('summary')?.focus();
});

ui.player.addEventListener('playing', () => {
  const jobId = ui.player.dataset.jobId;
  const timing = jobId ? timings.find((t) => t.jobId === jobId) : undefined;
  if (timing) timing.playing ??= performance.now();
  ui.play.hidden = true;
});

ui.newConversation.addEventListener('click', () => {
  if (active || recorder.recording) return;
  conversation = newConversation();
  saveConversation(conversation);
  renderAll();
  ui.stages.hidden = true;
  ui.player.pause();
  ui.player.hidden = true;
  ui.play.hidden = true;
  showAlert(null);
  setStatus('New conversation started.');
});

ui.apiKey.value = loadSetting('apiKey');
ui.apiKey.form?.addEventListener('submit', (e) => {
  e.preventDefault();
  ui.settings.open = false;
  setStatus(ui.apiKey.value.trim() ? 'API key saved for this tab.' : 'API key cleared.');
});
ui.apiKey.addEventListener('input', () => saveSetting('apiKey', ui.apiKey.value.trim()));

recorder.onLevel = (level) => ui.record.style.setProperty('--level', level.toFixed(3));

// Start: show the tab's conversation; a turn left in flight by a reload is followed again (no autoplay).
renderAll();
scrollToEnd();
updateControls();
idleStatus();
for (const turn of conversation.turns) {
  if (turn.status === 'sending')
    updateTurn(turn, { status: 'failed', error: 'Not sent (the page was reloaded).' });
}
const last = conversation.turns.at(-1);
if (last?.jobId && last.status !== 'sending' && !isTerminal(last.status)) {
  active = { turn: last, timing: undefined, stop: () => {}, autoplay: false };
  updateControls();
  resetStages(last.input);
  setStatus('Picking up your last message…');
  follow(last, last.jobId, undefined);
}
