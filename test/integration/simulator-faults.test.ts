/** The simulator's speech endpoint, fault injection, concurrency cap, auth and control endpoints. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulator, type SimulatorStats, startSimulator } from '../../src/simulator/server.ts';
import { waitFor } from '../support/wait-for.ts';

const hasFfprobe = (() => {
  try {
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function probeDuration(bytes: Buffer, ext: string): number {
  const file = path.join(os.tmpdir(), `sim-test-${process.pid}-${Date.now()}.${ext}`);
  fs.writeFileSync(file, bytes);
  try {
    const out = execFileSync('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      file,
    ]);
    return Number(out.toString().trim());
  } finally {
    fs.rmSync(file, { force: true });
  }
}

let sim: Simulator;
let client: OpenAI;
const ask = (content = 'hello', c = client) =>
  c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });

beforeAll(async () => {
  sim = await startSimulator();
  client = new OpenAI({ apiKey: 'x', baseURL: `${sim.url}/v1`, maxRetries: 0 });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe('speech', () => {
  it('speaks mp3 by default', async () => {
    const res = await client.audio.speech.create({
      model: 'gpt-4o-mini-tts',
      voice: 'nova',
      input: 'Our opening hours on Sunday are ten to four.',
    });
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    const mp3 = Buffer.from(await res.arrayBuffer());
    const id3 = mp3.subarray(0, 3).toString('latin1') === 'ID3';
    const sync = mp3[0] === 0xff && ((mp3[1] ?? 0) & 0xe0) === 0xe0;
    expect(id3 || sync).toBe(true);
    if (hasFfprobe) expect(probeDuration(mp3, 'mp3')).toBeGreaterThan(0.5);
  });

  it('speaks wav with a correct header', async () => {
    const res = await client.audio.speech.create({
      model: 'tts-1',
      voice: 'onyx',
      input: 'Hello there, how can I help?',
      response_format: 'wav',
    });
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    if (hasFfprobe) expect(probeDuration(wav, 'wav')).toBeGreaterThan(0.5);
  });

  it('rejects empty input', async () => {
    const err = await client.audio.speech
      .create({ model: 'tts-1', voice: 'alloy', input: '' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('falls back to a tone WAV and a named transcript without tools', async () => {
    sim.configure({ disableTools: ['ffmpeg', 'ffprobe', 'festival', 'espeak-ng', 'pocketsphinx'] });
    const res = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Fallback tone.' });
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.subarray(0, 4).toString('latin1')).toBe('RIFF');
    const file = await OpenAI.toFile(wav, 'tone.wav');
    const t = await client.audio.transcriptions.create({
      file,
      model: 'whisper-1',
      response_format: 'verbose_json',
    });
    expect(t.text).toMatch(
      new RegExp(`^\\[simulated transcript of ${wav.length} bytes, sha256 [0-9a-f]{16}\\]$`),
    );
    expect(t.duration).toBeCloseTo((wav.length - 44) / 48_000, 2);
  });
});

describe('faults', () => {
  it('scripted 429 surfaces as RateLimitError with retry-after headers', async () => {
    sim.configure({
      failNext: [
        { endpoint: 'speech', status: 429, retryAfterMs: 200 },
        { endpoint: 'chat', status: 429, retryAfterMs: 1500 },
      ],
    });
    const err = await ask().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const headers = (err as InstanceType<typeof OpenAI.RateLimitError>).headers;
    expect(headers.get('retry-after-ms')).toBe('1500');
    expect(headers.get('retry-after')).toBe('2');
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    expect((await ask('after')).choices[0]?.message.content).toContain('after');
    expect(sim.stats().pendingFaults).toBe(1); // the speech fault is still waiting for a speech call
  });

  it('scripted 500 surfaces as InternalServerError; the SDK retries it when allowed', async () => {
    sim.configure({ failNext: [{ endpoint: 'chat', status: 500 }] });
    expect(await ask().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.InternalServerError);
    sim.configure({ failNext: [{ status: 500 }, { status: 429, retryAfterMs: 10 }] });
    const retrying = new OpenAI({ apiKey: 'x', baseURL: `${sim.url}/v1`, maxRetries: 2 });
    expect((await ask('third time', retrying)).choices[0]?.message.content).toContain('third time');
    expect(sim.stats().faults).toMatchObject({ '500': 2, '429': 1 });
  });

  it('random faults follow the rate and can be limited to one endpoint', async () => {
    sim.configure({ rate429: 1, faultEndpoints: ['speech'] });
    await ask();
    sim.configure({ faultEndpoints: ['chat'] });
    expect(await ask().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('a timeout fault never answers, until the client gives up', async () => {
    sim.configure({ failNext: [{ endpoint: 'chat', status: 'timeout' }] });
    const impatient = new OpenAI({ apiKey: 'x', baseURL: `${sim.url}/v1`, maxRetries: 0, timeout: 300 });
    expect(await ask('x', impatient).catch((e: unknown) => e)).toBeInstanceOf(
      OpenAI.APIConnectionTimeoutError,
    );
    expect(sim.stats().faults.timeout).toBe(1);
  });

  it('close() ends requests that would never be answered', async () => {
    const other = await startSimulator({ rateTimeout: 1 });
    const c = new OpenAI({ apiKey: 'x', baseURL: `${other.url}/v1`, maxRetries: 0 });
    const pending = ask('x', c).catch((e: unknown) => e);
    await waitFor(() => other.stats().faults.timeout === 1, { message: 'the request to be held' });
    // rateTimeout: 1 never answers: close() resolving at all, and the client seeing the connection end, is it.
    await other.close();
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('requireApiKey answers 401 without the right key', async () => {
    const locked = await startSimulator({ requireApiKey: 'sk-right' });
    try {
      const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${locked.url}/v1`, maxRetries: 0 });
      expect(await ask('x', wrong).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.AuthenticationError);
      const right = new OpenAI({ apiKey: 'sk-right', baseURL: `${locked.url}/v1`, maxRetries: 0 });
      expect((await right.models.list()).data.map((m) => m.id)).toContain('whisper-1');
    } finally {
      await locked.close();
    }
  });
});

describe('concurrency, stats and control', () => {
  it('caps requests in flight per endpoint (FIFO)', async () => {
    sim.configure({ concurrency: { chat: 2 }, latencyMs: { chat: 100 } });
    const t0 = Date.now();
    const replies = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => ask(`n${n}`)));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(replies.map((r) => r.choices[0]?.message.content)).toEqual(
      [1, 2, 3, 4, 5, 6].map((n) => `You said: "n${n}". (turn 1)`),
    );
    const stats = sim.stats();
    expect(stats.maxInFlight.chat).toBe(2);
    expect(stats.calls).toEqual({ transcriptions: 0, chat: 6, speech: 0 });
    expect(stats.requests.map((r) => [r.endpoint, r.status, r.model])).toEqual(
      Array(6).fill(['chat', 200, 'gpt-4o-mini']),
    );
  });

  it('is configured, inspected and reset over HTTP', async () => {
    const post = (p: string, body?: unknown) =>
      fetch(`${sim.url}${p}`, {
        method: 'POST',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await post('/_sim/config', { rate500: 2 })).status).toBe(400);
    const cfg = (await (
      await post('/_sim/config', { failNext: [{ endpoint: 'chat', status: 503 }] })
    ).json()) as {
      rate500: number;
    };
    expect(cfg.rate500).toBe(0);
    const err = await ask().catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(503);
    const stats = (await (await fetch(`${sim.url}/_sim/stats`)).json()) as SimulatorStats;
    expect(stats.calls.chat).toBe(1);
    expect(stats.faults.other).toBe(1);
    await post('/_sim/reset');
    expect(sim.stats().calls.chat).toBe(0);
    expect((await fetch(`${sim.url}/v1/nope`)).status).toBe(404);
  });
});
