/**
 * The streamed reply (`stream_reply`, on for interactive jobs): reply.delta events while the chat model writes,
 * each sentence spoken as it ends into its own checkpoint (speech.segment with a link), one reply.mp3 joined
 * from the pieces; a crash of the speaking worker re-pays no piece already spoken; a speech answer cut
 * mid-stream is a provider error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REAL_ENGINES } from '../../src/simulator/types.ts';
import { replyPieces } from '../../src/worker/stages/reply-sentences.ts';
import { getJob, type Job, postJob, readEvents, waitForJob } from '../support/http.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const SAID =
  'First I would like to know the time. Then tell me the weather please. And last of all the news.';
const REPLY = `You said: "${SAID}". (turn 1)`;

const bytes = async (url: string) => Buffer.from(await (await fetch(url)).arrayBuffer());
const speechInputs = (stack: Stack) =>
  stack.sim
    .stats()
    .requests.filter((r) => r.endpoint === 'speech')
    .map((r) => ({ input: String(r.params?.input ?? ''), status: r.status }));

describe('streamed reply, workers in process', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ simulator: { disableTools: [...REAL_ENGINES], latencyProfile: 'openai' } });
  });
  afterAll(() => stack?.close());

  it('words arrive as reply.delta events, each sentence is spoken while chat goes on, and the job keeps one reply', async () => {
    stack.sim.reset();
    const { res, body } = await postJob(stack.url, { text: SAID, mode: 'interactive' });
    expect(res.status).toBe(202);
    const events = await readEvents(stack.url, body.id);
    const job = await getJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.reply_text).toBe(REPLY);

    const types = events.map((e) => e.type);
    const chatDone = types.findIndex((t, i) => t === 'stage.completed' && events[i]?.stage === 'chat');
    const deltas = events.filter((e) => e.type === 'reply.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i));
    expect(deltas.map((d) => d.text).join('')).toBe(REPLY);
    // every word was out before the chat stage (let alone the job) ended
    expect(types.lastIndexOf('reply.delta')).toBeLessThan(chatDone);

    const pieces = replyPieces(REPLY);
    expect(pieces.length).toBe(4);
    const segments = events.filter((e) => e.type === 'speech.segment');
    expect(segments.map((s) => s.index)).toEqual(pieces.map((_, i) => i));
    expect(segments.map((s) => s.text)).toEqual(pieces);
    // the first piece announced before the chat stage ended: it was spoken while the model still wrote
    expect(types.indexOf('speech.segment')).toBeLessThan(chatDone);
    // the first piece's speech request reached the provider before the chat answer was complete
    const requests = stack.sim.stats().requests;
    const chat = requests.find((r) => r.endpoint === 'chat');
    const firstSpeech = requests.find((r) => r.endpoint === 'speech' && r.params?.input === pieces[0]);
    expect(chat && firstSpeech && firstSpeech.at < chat.at + chat.ms).toBe(true);

    // reply.mp3 is the pieces, joined in order; each piece paid once, nothing spoken by the speak stage
    const joined = Buffer.concat(await Promise.all(segments.map((s) => bytes(s.url as string))));
    expect((await bytes(job.audio_url as string)).equals(joined)).toBe(true);
    expect(speechInputs(stack).map((r) => r.input)).toEqual(pieces);
  });

  it('a job not asking for it (batch) takes the whole-stage path: no deltas, no pieces, one speech call', async () => {
    stack.sim.reset();
    const { body } = await postJob(stack.url, { text: SAID });
    const events = await readEvents(stack.url, body.id);
    expect(events.at(-1)?.type).toBe('job.succeeded');
    expect(events.filter((e) => e.type === 'reply.delta' || e.type === 'speech.segment')).toEqual([]);
    expect(speechInputs(stack).map((r) => r.input)).toEqual([REPLY]);
  });

  it('a speech answer cut off mid-stream is a provider error, retried; the piece is then stored whole', async () => {
    stack.sim.reset();
    stack.sim.configure({ failNext: [{ endpoint: 'speech', status: 'cut' }] });
    const { body } = await postJob(stack.url, { text: SAID, mode: 'interactive' });
    const events = await readEvents(stack.url, body.id);
    expect(events.at(-1)?.type).toBe('job.succeeded');
    const retry = events.find((e) => e.type === 'stage.retrying');
    expect(retry?.error).toMatchObject({ code: 'provider_server_error' });
    expect(String(retry?.error?.message)).toContain('broke off mid-stream');
    expect(stack.sim.stats().faults.cut).toBe(1);
  });
});

describe('streamed reply, the speaking worker killed mid-reply', () => {
  let stack: Stack;
  const workers: ServiceProcess[] = [];
  const startWorker = () => {
    const w = spawnService('worker', { ...stack.env });
    workers.push(w);
    return w;
  };
  beforeAll(async () => {
    stack = await startStack({
      workers: false,
      simulator: { disableTools: [...REAL_ENGINES], latencyProfile: 'openai' },
      // Short locks so a killed worker's stage is recovered within seconds.
      env: { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '1000' },
    });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(() => stack?.close());

  it('after a SIGKILL, the retry speaks only the pieces not yet stored', async () => {
    stack.sim.reset();
    // Slower speech: the kill lands with pieces spoken and pieces still to speak.
    stack.sim.configure({ latencyMs: { speech: 400 } });
    const first = startWorker();
    const { body } = await postJob(stack.url, { text: SAID, mode: 'interactive' });
    const pieces = replyPieces(REPLY);
    const announced = async () =>
      (await readEventsSoFar(stack.url, body.id)).filter((e) => e.type === 'speech.segment');
    await waitFor(async () => (await announced()).length >= 1, {
      timeoutMs: 120_000,
      message: 'the first spoken piece',
    });
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const spokenBefore = (await announced()).map((s) => s.text as string);
    expect(spokenBefore.length).toBeLessThan(pieces.length);
    startWorker();
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.reply_text).toBe(REPLY);
    const calls = speechInputs(stack);
    for (const piece of pieces) {
      const forPiece = calls.filter((c) => c.input === piece);
      // paid to the end once; a piece cut by the kill may show one more, aborted request
      expect(
        forPiece.filter((c) => c.status === 200),
        piece,
      ).toHaveLength(1);
      if (spokenBefore.includes(piece)) expect(forPiece, `${piece} (stored before the kill)`).toHaveLength(1);
    }
    // the speak stage spoke nothing: it joined the pieces
    expect(calls.filter((c) => c.input === REPLY)).toEqual([]);
  });
});

/** The job's events stored so far (the stream replayed up to now, without waiting for the end). */
async function readEventsSoFar(url: string, id: string): Promise<Job[]> {
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/jobs/${id}/events`, { signal: ac.signal });
  const reader = res.body?.getReader();
  if (!reader) return [];
  let text = '';
  const decoder = new TextDecoder();
  // The replay arrives at once; read what is there, then hang up.
  const timer = setTimeout(() => ac.abort(), 300);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // hung up
  } finally {
    clearTimeout(timer);
  }
  return text
    .split('\n\n')
    .map((b) => b.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(6)) as Job);
}
