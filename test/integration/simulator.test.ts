/**
 * The OpenAI simulator, driven by the official SDK over real HTTP (no mocks); then its pure parts alone:
 * extraction rules, schema filling, parsing, formats, settings, the limiter.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readWavHeader } from '../../src/shared/wav-header.ts';
import { assistantReply, replyText } from '../../src/simulator/chat.ts';
import {
  applyOptions,
  ConfigValueError,
  DEFAULT_CONFIG,
  optionsFromEnv,
} from '../../src/simulator/config.ts';
import { FaultInjector } from '../../src/simulator/faults.ts';
import { Limiter } from '../../src/simulator/limiter.ts';
import { parseTimedOutput, toSegments } from '../../src/simulator/recognize.ts';
import { fillSchema } from '../../src/simulator/schema-fill.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { stamp } from '../../src/simulator/transcript-format.ts';
import { extractVoicemail, findCallerName, findPhoneNumber } from '../../src/simulator/voicemail-extract.ts';
import { fixWavSizes, toneWav } from '../../src/simulator/wav.ts';

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

describe('latency profile openai', () => {
  /** Reads a response body, noting when each read arrived (ms after `t0`) and its size. */
  async function reads(res: Response, t0: number) {
    const out: Array<{ at: number; bytes: number; text: string }> = [];
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return out;
      out.push({ at: Date.now() - t0, bytes: value.length, text: Buffer.from(value).toString('utf8') });
    }
  }
  const post = (path: string, body: unknown) =>
    fetch(`${sim.url}/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify(body),
    });

  it('streams chat as SSE chunks spread over the tokens, the first after 400 ms', async () => {
    sim.configure({ latencyProfile: 'openai' });
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const t0 = Date.now();
    const res = await post('/chat/completions', {
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: words }],
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const got = await reads(res, t0);
    const events = got.flatMap((r) => r.text.split('\n\n')).filter((e) => e.startsWith('data: '));
    const contents = events
      .filter((e) => e !== 'data: [DONE]')
      .map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '');
    expect(contents.join('')).toBe(`You said: "${words}". (turn 1)`);
    // Several reads, not one body: the chunks were written as the tokens' time came.
    expect(got.length).toBeGreaterThan(5);
    const tokens = Math.ceil(contents.join('').length / 4);
    // Lower bounds only (a busy machine is slower, never faster): 400 ms to the first token, 50 tokens/s after.
    expect(got[0]?.at).toBeGreaterThanOrEqual(400);
    expect(got.at(-1)?.at).toBeGreaterThanOrEqual(400 + ((tokens - 10) * 1000) / 50);
  });

  it('answers chat without streaming once the whole reply would have been generated', async () => {
    sim.configure({ latencyProfile: 'openai' });
    const t0 = Date.now();
    const c = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'a short question' }],
    });
    const tokens = c.usage?.completion_tokens ?? 0;
    expect(tokens).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400 + (tokens * 1000) / 50);
  });

  it('streams speech at 4x real time after 300 ms, a repeated request too', async () => {
    sim.configure({ latencyProfile: 'openai' });
    for (const round of ['spoken', 'cached']) {
      const t0 = Date.now();
      const res = await post('/audio/speech', {
        model: 'gpt-4o-mini-tts',
        voice: 'alloy',
        input: 'This sentence is spoken slowly enough to arrive in many pieces over the wire.',
        response_format: 'mp3',
      });
      expect(res.status, round).toBe(200);
      const got = await reads(res, t0);
      const total = got.reduce((n, r) => n + r.bytes, 0);
      expect(total, round).toBeGreaterThan(8192);
      expect(got.length, round).toBeGreaterThan(2);
      expect(got[0]?.at, round).toBeGreaterThanOrEqual(300);
      // byte n no earlier than 300 ms + n / (8000 B/s of 64 kbit/s mp3 × 4): the last slice starts ≤ 4 KiB before the end
      expect(got.at(-1)?.at, round).toBeGreaterThanOrEqual(300 + ((total - 4096) * 1000) / 32_000);
    }
    expect(sim.stats().cacheHits.speech).toBe(1);
  });

  it('answers a transcription after 300 ms + 40 ms per second of audio', async () => {
    sim.configure({ latencyProfile: 'openai', disableTools: ['pocketsphinx'] });
    const t0 = Date.now();
    const t = await client.audio.transcriptions.create({
      file: fs.createReadStream(question),
      model: 'whisper-1',
      response_format: 'verbose_json',
    });
    expect(t.duration).toBeGreaterThan(4.5);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300 + 40 * t.duration);
  });

  it('is chosen by SIMULATOR_LATENCY and refuses unknown profiles', () => {
    expect(optionsFromEnv({ SIMULATOR_LATENCY: 'openai' }).latencyProfile).toBe('openai');
    expect(applyOptions(DEFAULT_CONFIG, { latencyProfile: 'openai' }).latencyProfile).toBe('openai');
    expect(() => applyOptions(DEFAULT_CONFIG, { latencyProfile: 'slow' as never })).toThrow(ConfigValueError);
  });
});

describe('voicemail extraction', () => {
  it('finds numbers written as digits or spoken as words', () => {
    expect(findPhoneNumber('call me at 555 013 2447, thanks')).toBe('555-013-2447');
    expect(findPhoneNumber('(555) 013-2447')).toBe('555-013-2447');
    expect(findPhoneNumber('my number is five five five oh one three two four four seven')).toBe(
      '555-013-2447',
    );
    expect(findPhoneNumber('double five five, 0 1 3, two four four seven')).toBe('555-013-2447');
    expect(findPhoneNumber('see you at 9 30 tomorrow')).toBeUndefined();
  });

  it('finds caller names, stopping at the next ordinary word', () => {
    expect(findCallerName('Hi, this is Maria Lopez, please call')).toBe('Maria Lopez');
    expect(findCallerName('my name is john smith and i need help')).toBe('John Smith');
    expect(findCallerName("it's Sam from the bakery")).toBe('Sam');
    expect(findCallerName('hello there')).toBeUndefined();
  });

  it('rates urgency and names an intent', () => {
    const v = extractVoicemail('This is Ana. I am in a lot of pain and need to reschedule my appointment.');
    expect(v).toMatchObject({ caller_name: 'Ana', urgency: 'high', intent: 'reschedule appointment' });
    expect(extractVoicemail('Just checking in.').urgency).toBe('normal');
  });
});

describe('fillSchema', () => {
  it('fills nested objects, enums, nullable fields and $refs by type', () => {
    const schema = {
      type: 'object',
      $defs: { item: { type: 'object', properties: { label: { type: 'string' }, n: { type: 'integer' } } } },
      properties: {
        priority: { type: 'string', enum: ['low', 'medium', 'urgent'] },
        caller_name: { anyOf: [{ type: 'string' }, { type: 'null' }] },
        ok: { type: 'boolean' },
        items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 2 },
      },
    };
    expect(fillSchema(schema, { priority: 'high', caller_name: null })).toEqual({
      priority: 'urgent',
      caller_name: null,
      ok: false,
      items: [
        { label: 'simulated label', n: 0 },
        { label: 'simulated label', n: 0 },
      ],
    });
  });
});

describe('pocketsphinx output', () => {
  const out = [
    'what are your opening',
    '<s> 0.000 0.020 0.999100',
    'what 0.030 0.220 0.952938',
    'are 0.230 0.350 0.010057',
    '<sil> 0.360 0.800 0.999600',
    'the(2) 0.810 0.900 0.902929',
    '[NOISE] 0.900 0.950 0.5',
    'i 0.960 1.000 0.5',
    '</s> 1.010 1.200 1.000000',
  ].join('\n');

  it('keeps words with times, drops markers and alternates, splits segments at pauses', () => {
    const { segments, words } = toSegments(parseTimedOutput(out));
    expect(words.map((w) => w.word)).toEqual(['what', 'are', 'the', 'i']);
    expect(segments.map((s) => [s.start, s.end, s.text])).toEqual([
      [0.03, 0.35, 'What are.'],
      [0.81, 1, 'The I.'],
    ]);
  });
});

describe('formats and WAV', () => {
  it('writes srt and vtt timestamps', () => {
    expect(stamp(3723.5, ',')).toBe('01:02:03,500');
    expect(stamp(0.0304, '.')).toBe('00:00:00.030');
  });

  it('makes tone WAVs whose length follows the text, and reads their duration', () => {
    const wav = toneWav('x'.repeat(100));
    expect(readWavHeader(wav)?.duration).toBeCloseTo(6.5, 3);
    const streamed = Buffer.from(wav);
    streamed.writeUInt32LE(0xffffffff, 40);
    expect(readWavHeader(streamed)?.duration).toBeCloseTo(6.5, 3);
    expect(fixWavSizes(streamed).readUInt32LE(40)).toBe(wav.length - 44);
    expect(readWavHeader(Buffer.from('not a wav file'))).toBeUndefined();
  });
});

describe('chat reply', () => {
  it('in the assistant style, opens with a short sentence and keeps the echo and the turn', () => {
    const reply = assistantReply([{ role: 'user', text: 'hello there' }]);
    expect(reply.startsWith('Thanks for your question. You said: "hello there".')).toBe(true);
    expect(reply.endsWith('(turn 1)')).toBe(true);
    expect(reply.split(' ').length).toBeGreaterThan(45);
    expect(applyOptions(DEFAULT_CONFIG, { replyStyle: 'assistant' }).replyStyle).toBe('assistant');
    expect(() => applyOptions(DEFAULT_CONFIG, { replyStyle: 'poem' as never })).toThrow(ConfigValueError);
  });

  it('quotes the last user turn, the one before, and counts user turns', () => {
    const m = (role: string, text: string) => ({ role, text });
    expect(replyText([m('user', 'a'), m('assistant', 'b'), m('user', 'c'), m('user', 'd')])).toBe(
      'You said: "d". Earlier you said: "c". (turn 3)',
    );
    expect(replyText([m('system', 's')])).toContain('(turn 0)');
  });
});

describe('settings', () => {
  it('accepts numbers or per-endpoint values and rejects bad ones', () => {
    const c = applyOptions(DEFAULT_CONFIG, { latencyMs: 50, concurrency: { speech: 3 } });
    expect(c.latencyMs).toEqual({ transcriptions: 50, chat: 50, speech: 50 });
    expect(c.concurrency).toEqual({ transcriptions: Infinity, chat: Infinity, speech: 3 });
    expect(applyOptions(c, { concurrency: null } as never).concurrency.speech).toBe(Infinity);
    expect(() => applyOptions(DEFAULT_CONFIG, { rate429: 0.7, rate500: 0.5 })).toThrow(ConfigValueError);
    expect(() => applyOptions(DEFAULT_CONFIG, { failNext: [{ status: 200 }] })).toThrow(ConfigValueError);
  });

  it('reads the environment', () => {
    const o = optionsFromEnv({
      SIM_PORT: '0',
      SIM_RATE_429: '0.1',
      SIM_CONCURRENCY: '20',
      SIM_DISABLE_TOOLS: 'ffmpeg',
    });
    expect(o).toEqual({ port: 0, rate429: 0.1, concurrency: 20, disableTools: ['ffmpeg'] });
    expect(optionsFromEnv({}).port).toBe(4010);
    expect(() => optionsFromEnv({ SIM_LATENCY_MS: 'slow' })).toThrow(ConfigValueError);
  });

  it('draws the same random faults for the same seed, scripted ones first', () => {
    const c = applyOptions(DEFAULT_CONFIG, { rate500: 0.5 });
    const draw = (f: FaultInjector) =>
      Array.from({ length: 20 }, () => f.next('chat', c)?.kind ?? '-').join('');
    expect(draw(new FaultInjector(7))).toBe(draw(new FaultInjector(7)));
    const f = new FaultInjector(7);
    f.script([{ endpoint: 'speech', status: 'timeout' }]);
    expect(f.next('speech', DEFAULT_CONFIG)?.kind).toBe('timeout');
    expect(f.next('speech', DEFAULT_CONFIG)).toBeUndefined();
  });
});

describe('Limiter', () => {
  it('hands out slots in FIFO order and records the peak', async () => {
    const l = new Limiter(1);
    const order: number[] = [];
    const first = await l.acquire();
    const waiting = [1, 2].map(async (n) => {
      const release = await l.acquire();
      order.push(n);
      return release;
    });
    expect(l.queued).toBe(2);
    first?.();
    (await waiting[0])?.();
    (await waiting[1])?.();
    expect(order).toEqual([1, 2]);
    expect(l.maxInFlight).toBe(1);
    const ac = new AbortController();
    const held = await l.acquire();
    const gaveUp = l.acquire(ac.signal);
    ac.abort();
    expect(await gaveUp).toBeUndefined();
    held?.();
    expect(l.inFlight).toBe(0);
  });
});
