import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioForm, fixture, type Job, postJob, readEvents } from '../support/http.ts';
import { type ServiceProcess, spawnService } from '../support/service-process.ts';
import { type Stack, startStack } from '../support/stack.ts';

/**
 * Reads an SSE response as it arrives: every event with its id, until the server ends the stream. Given up
 * only after 120 s without a byte (the server sends a keep-alive every 15 s): a slow job is followed to its end.
 */
async function follow(url: string, headers: Record<string, string> = {}) {
  const idle = new AbortController();
  const silence = () => setTimeout(() => idle.abort(new Error(`no byte from ${url} for 120 s`)), 120_000);
  let timer = silence();
  const res = await fetch(url, { headers, signal: idle.signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events: Array<Job & { _id: string; _at: number }> = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    clearTimeout(timer);
    timer = silence();
    buffer += decoder.decode(chunk, { stream: true });
    let cut = buffer.indexOf('\n\n');
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const id = /^id: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id && data) events.push({ ...(JSON.parse(data) as Job), _id: id, _at: Date.now() });
      cut = buffer.indexOf('\n\n');
    }
  }
  clearTimeout(timer);
  return events;
}

describe('live progress over SSE across processes', () => {
  let stack: Stack;
  let worker: ServiceProcess;
  beforeAll(async () => {
    // The API (in this process) holds the stream; a separate worker process runs the job.
    stack = await startStack({ workers: false, simulator: { latencyMs: 150 } });
    worker = spawnService('worker', { ...stack.env });
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await worker?.exited;
    await stack?.close();
  });

  it('sees every stage of a job run by another process, in order, then the terminal event', async () => {
    const { body } = await postJob(stack.url, audioForm(await fixture('question.wav')));
    const events = await follow(`${stack.url}/v1/jobs/${body.id}/events`);
    expect(events.map((e) => (e.stage ? `${e.type}:${e.stage}` : e.type))).toEqual([
      'job.queued',
      'stage.started:transcribe',
      'stage.completed:transcribe',
      'stage.started:chat',
      'stage.completed:chat',
      'stage.started:speak',
      'stage.completed:speak',
      'job.succeeded',
    ]);
    // The transcript and the reply arrive with their stage, before the job ends.
    expect(events[2]?.transcript).toMatch(/opening/i);
    expect(events[4]?.reply_text).toContain(events[2]?.transcript);
    const ids = events.map((e) => e._id);
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
  });

  it('resumes after Last-Event-ID with only the events that followed', async () => {
    const { body } = await postJob(stack.url, { text: 'resume me' });
    const all = await readEvents(stack.url, body.id);
    const firstTwo = await follow(`${stack.url}/v1/jobs/${body.id}/events`);
    const resumeFrom = firstTwo[1]?._id ?? '';
    const rest = await follow(`${stack.url}/v1/jobs/${body.id}/events`, { 'Last-Event-ID': resumeFrom });
    expect(rest.map((e) => e.type)).toEqual(all.slice(2).map((e) => e.type));
    expect(rest.at(-1)?.type).toBe('job.succeeded');
  });
});
