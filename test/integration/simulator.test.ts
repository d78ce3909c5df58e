/** The OpenAI simulator, driven by the official SDK over real HTTP (no mocks). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';

const fixtures = path.join(import.meta.dirname, '../fixtures');
const question = path.join(fixtures, 'question.wav');
const voicemail = path.join(fixtures, 'voicemail-short.webm');
/** Present when it can be started at all (pocketsphinx_continuous exits non-zero on -version). */
const hasTool = (cmd: string) => spawnSync(cmd, ['-version'], { stdio: 'ignore' }).error === undefined;
const realAsr = hasTool('pocketsphinx_continuous') && hasTool('ffmpeg');

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator();
  client = new OpenAI({ apiKey: 'x', baseURL: `${sim.url}/v1`, maxRetries: 0 });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe('transcriptions', () => {
  it.runIf(realAsr)('recognizes real speech (json)', async () => {
    const t = await client.audio.transcriptions.create({
      file: fs.createReadStream(question),
      model: 'whisper-1',
    });
    expect(t.text.toLowerCase()).toContain('opening');
    expect(t.usage).toEqual({ type: 'duration', seconds: 5 });
  });

  it.runIf(realAsr)('gives monotonic segments and words (verbose_json)', async () => {
    const t = await client.audio.transcriptions.create({
      file: fs.createReadStream(question),
      model: 'whisper-1',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    });
    expect(t.duration).toBeGreaterThan(4.5);
    expect(t.duration).toBeLessThan(5.2);
    const segments = t.segments ?? [];
    expect(segments.length).toBeGreaterThan(0);
    segments.forEach((s, i) => {
      expect(s.id).toBe(i);
      expect(s.end).toBeGreaterThan(s.start);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(segments[i - 1]?.end ?? 0);
    });
    expect(t.words?.[0]?.word).toBe('what');
  });

  it.runIf(realAsr)('decodes browser WebM/Opus; gpt-4o models report token usage', async () => {
    const t = await client.audio.transcriptions.create({
      file: fs.createReadStream(voicemail),
      model: 'gpt-4o-mini-transcribe',
    });
    expect(t.text.split(' ').length).toBeGreaterThan(20);
    expect(t.usage?.type).toBe('tokens');
  });

  it('answers srt / vtt / text as plain text', async () => {
    const file = () => fs.createReadStream(question);
    const srt = await client.audio.transcriptions.create({
      file: file(),
      model: 'whisper-1',
      response_format: 'srt',
    });
    expect(srt).toMatch(/^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\n/);
    const hits = sim.stats().cacheHits.transcriptions;
    const vtt = await client.audio.transcriptions.create({
      file: file(),
      model: 'whisper-1',
      response_format: 'vtt',
    });
    expect(vtt).toMatch(/^WEBVTT\n\n00:00:00\.\d{3} --> /);
    expect(sim.stats().cacheHits.transcriptions).toBe(hits + 1); // same bytes: recognized once
  });

  it('rejects a file that is not audio, and verbose_json on gpt-4o models', async () => {
    const notAudio = await toFile(Buffer.from('{"hello": "world"}'), 'notes.wav');
    const err = await client.audio.transcriptions
      .create({ file: notAudio, model: 'whisper-1' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'file', code: 'invalid_value' });
    const verbose = await client.audio.transcriptions
      .create({
        file: fs.createReadStream(question),
        model: 'gpt-4o-transcribe',
        response_format: 'verbose_json',
      })
      .catch((e) => e);
    expect(verbose).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('rejects a missing file or model with 400', async () => {
    const form = new FormData();
    form.set('model', 'whisper-1');
    const res = await fetch(`${sim.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { param: 'file', type: 'invalid_request_error' } });
    const noModel = new FormData();
    noModel.set('file', new Blob([fs.readFileSync(question)]), 'q.wav');
    const res2 = await fetch(`${sim.url}/v1/audio/transcriptions`, { method: 'POST', body: noModel });
    expect(res2.status).toBe(400);
    expect(await res2.json()).toMatchObject({ error: { param: 'model' } });
  });
});

describe('chat completions', () => {
  it('echoes the last user message and shows earlier turns', async () => {
    const c = await client.chat.completions.create({
      model: 'gpt-5.4-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What are your opening hours?' },
        { role: 'assistant', content: 'Nine to five.' },
        { role: 'user', content: [{ type: 'text', text: 'And on Sunday?' }] },
      ],
    });
    expect(c.object).toBe('chat.completion');
    expect(c.id).toMatch(/^chatcmpl-/);
    expect(c.choices[0]?.message.content).toBe(
      'You said: "And on Sunday?". Earlier you said: "What are your opening hours?". (turn 2)',
    );
    expect(c.choices[0]?.finish_reason).toBe('stop');
    expect(c.usage?.total_tokens).toBe((c.usage?.prompt_tokens ?? 0) + (c.usage?.completion_tokens ?? 0));
  });

  it('fills a voicemail json_schema from the text', async () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['summary', 'caller_name', 'callback_number', 'urgency', 'intent', 'action_items'],
      properties: {
        summary: { type: 'string' },
        caller_name: { type: ['string', 'null'] },
        callback_number: { type: ['string', 'null'] },
        urgency: { type: 'string', enum: ['low', 'normal', 'high'] },
        intent: { type: 'string' },
        action_items: { type: 'array', items: { type: 'string' } },
      },
    };
    const c = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Summarize the voicemail.' },
        { role: 'user', content: 'This is Maria Lopez, please call me back at 555 013 2447, it is urgent' },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'voicemail', strict: true, schema } },
    });
    const v = JSON.parse(c.choices[0]?.message.content ?? '{}');
    expect(v.caller_name).toBe('Maria Lopez');
    expect(String(v.callback_number).replace(/\D/g, '')).toBe('5550132447');
    expect(v.urgency).toBe('high');
    expect(v.action_items.join(' ')).toContain('555');
    expect(typeof v.summary).toBe('string');
    expect(typeof v.intent).toBe('string');
  });

  it('streams chunks that add up to the same reply', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Stream this please' }],
    });
    let text = '';
    let usage = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage?.total_tokens ?? usage;
    }
    expect(text).toBe('You said: "Stream this please". (turn 1)');
    expect(usage).toBeGreaterThan(0);
  });
});
