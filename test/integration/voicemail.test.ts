/**
 * The voicemail pipeline end to end (issue 7): transcript with timestamps and subtitle files, a structured
 * summary validated against its schema, AMR and webm inputs, the language hint, long audio cut into
 * chunks (a BullMQ flow), and the failures: audio_too_long, invalid_summary.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { voicemailSummarySchema } from '../../src/shared/summary.ts';
import { fixture, postJob, waitForJob } from '../support/http.ts';
import { loopWav, probeSeconds, speechWav, toAmr } from '../support/speech.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { checkArtifacts, fileForm } from '../support/voicemail.ts';

describe('voicemail pipeline', () => {
  let stack: Stack;
  let dir: string;
  let wav: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-voicemail-'));
    wav = await speechWav(dir, 'vm');
    stack = await startStack({ env: { TRANSCRIBE_MODEL: 'whisper-1' } });
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a WAV voicemail: timestamped transcript, TXT/JSON/SRT/VTT files and a schema-valid summary, no speech', async () => {
    stack.sim.reset();
    const { res, body } = await postJob(stack.url, await fileForm(wav, { pipeline: 'voicemail' }));
    expect(res.status).toBe(202);
    expect(body).toMatchObject({
      pipeline: 'voicemail',
      stage: 'transcribe',
      summary: null,
      artifacts: null,
    });
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.transcript.length).toBeGreaterThan(0);
    expect(job.reply_text).toBeNull();
    expect(job.audio_url).toBeNull();
    expect(job.language).toBe('en');
    expect(job.duration_seconds).toBeCloseTo(await probeSeconds(wav), 1);
    expect(voicemailSummarySchema.safeParse(job.summary).success).toBe(true);
    const { doc } = await checkArtifacts(job);
    expect(doc.segments.length).toBeGreaterThanOrEqual(1);
    const stored = await fetch(job.artifacts.summary_json);
    expect(await stored.json()).toEqual(job.summary);
    expect(Date.parse(job.artifacts_expires_at) - Date.now()).toBeGreaterThan(3500 * 1000);
    expect(stack.sim.stats().calls).toEqual({ transcriptions: 1, chat: 1, speech: 0 });
  });

  it('text input goes straight to the summary: caller, callback number, urgency', async () => {
    stack.sim.reset();
    const { body } = await postJob(stack.url, {
      pipeline: 'voicemail',
      text: 'Hi, this is Maria Lopez, please call me back at 555 013 2447. It is urgent, my tooth is bleeding.',
    });
    expect(body.stage).toBe('summarize');
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.summary).toMatchObject({
      caller_name: 'Maria Lopez',
      callback_number: '555-013-2447',
      urgency: 'high',
    });
    expect(job.summary.action_items).toContain('Call back 555-013-2447');
    expect(Object.keys(job.artifacts)).toEqual(['summary_json']);
    expect(stack.sim.stats().calls.transcriptions).toBe(0);
  });

  it('AMR from a phone is accepted (detected from its bytes), transcoded and transcribed', async () => {
    const amr = await toAmr(wav, join(dir, 'vm.amr'));
    const { res, body } = await postJob(stack.url, await fileForm(amr, { pipeline: 'voicemail' }));
    expect(res.status).toBe(202);
    expect(body.input).toMatchObject({ kind: 'audio', type: 'audio/amr', bytes: (await stat(amr)).size });
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.transcript.length).toBeGreaterThan(0);
    expect(job.duration_seconds).toBeGreaterThan(5);
    expect(voicemailSummarySchema.safeParse(job.summary).success).toBe(true);
    await checkArtifacts(job);
  });

  it('a browser recording (webm/opus) is transcribed as it is', async () => {
    const webm = await fixture('voicemail-short.webm');
    const form = new FormData();
    form.append('pipeline', 'voicemail');
    form.append('audio', new Blob([new Uint8Array(webm)]), 'rec.webm');
    const { body } = await postJob(stack.url, form);
    expect(body.input.type).toBe('audio/webm');
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.duration_seconds).toBeCloseTo(17.7, 1);
    await checkArtifacts(job);
  });

  it('takes a language hint (ISO-639-1) and reports the language; refuses codes that are not one', async () => {
    const { body } = await postJob(
      stack.url,
      await fileForm(wav, { pipeline: 'transcribe', language: 'de' }),
    );
    expect(body.language_hint).toBe('de');
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.language).toBe('de');
    expect(job.summary).toBeNull();
    for (const language of ['xx', 'deu', 'EN']) {
      const bad = await postJob(stack.url, { pipeline: 'voicemail', text: 'hi', language });
      expect(bad.res.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('language');
    }
  });
});

describe('voicemail limits and failures', () => {
  let stack: Stack;
  let dir: string;
  let wav: string;
  let badChat: Server;
  let badCalls = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-voicemail-'));
    wav = await speechWav(dir, 'vm');
    // A chat server whose structured output misses most of the schema.
    badChat = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        badCalls++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-bad',
            object: 'chat.completion',
            created: 0,
            model: 'bad',
            choices: [
              {
                index: 0,
                finish_reason: 'stop',
                message: {
                  role: 'assistant',
                  content: '{"summary":"x","urgency":"whenever"}',
                  refusal: null,
                },
              },
            ],
          }),
        );
      });
    });
    await new Promise<void>((r) => badChat.listen(0, '127.0.0.1', r));
    stack = await startStack({
      env: {
        TRANSCRIBE_MODEL: 'whisper-1',
        TRANSCRIBE_CHUNK_SECONDS: '30',
        MAX_AUDIO_SECONDS: '150',
        SUMMARIZE_BASE_URL: `http://127.0.0.1:${(badChat.address() as AddressInfo).port}/v1`,
        SUMMARIZE_ATTEMPTS: '2',
      },
      simulator: { recognizeMaxSeconds: 6 },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise((r) => badChat?.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('audio longer than MAX_AUDIO_SECONDS fails at once with audio_too_long, before any provider call', async () => {
    stack.sim.reset();
    const long = await loopWav(wav, join(dir, 'long.wav'), 160);
    const { body } = await postJob(stack.url, await fileForm(long, { pipeline: 'voicemail' }));
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'audio_too_long', stage: 'transcribe', attempts: 1 });
    expect(job.error.message).toContain('MAX_AUDIO_SECONDS');
    expect(stack.sim.stats().calls.transcriptions).toBe(0);
  });

  it('audio over TRANSCRIBE_CHUNK_SECONDS is cut at silences, chunks transcribed in parallel and stitched', async () => {
    stack.sim.reset();
    const audio = await loopWav(wav, join(dir, 'mid.wav'), 100);
    const { body } = await postJob(stack.url, await fileForm(audio, { pipeline: 'transcribe' }));
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.duration_seconds).toBeCloseTo(100, 0);
    const chunks = stack.sim.stats().calls.transcriptions;
    expect(chunks).toBeGreaterThanOrEqual(4); // ≤ 30 s each, overlap included
    const { doc } = await checkArtifacts(job);
    // Real recognition of each chunk's first seconds: segments from every chunk, shifted onto one timeline.
    expect(doc.segments.at(-1)?.start).toBeGreaterThan(60);
    const windows = new Set(doc.segments.map((s) => Math.floor(s.start / 25)));
    expect(windows.size).toBeGreaterThanOrEqual(3);
    // The chunk files were cleaned up once transcript.json was written.
    await expect(stat(join(stack.dataDir, 'objects', 'jobs', body.id, 'chunks'))).rejects.toThrow();
    // transcript.json is the one stored transcript (the API renders .txt/.srt/.vtt from it)
    const stored = JSON.parse(
      await readFile(join(stack.dataDir, 'objects', 'jobs', body.id, 'transcript.json'), 'utf8'),
    );
    expect(stored.text).toBe(job.transcript);
    await expect(stat(join(stack.dataDir, 'objects', 'jobs', body.id, 'transcript.txt'))).rejects.toThrow();
  });

  it('a summary that does not match the schema is retried, then fails with invalid_summary', async () => {
    badCalls = 0;
    const { body } = await postJob(stack.url, { pipeline: 'voicemail', text: 'This is Sam, call me back.' });
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'invalid_summary', stage: 'summarize', attempts: 2 });
    expect(job.error.message).toMatch(/does not match the schema/);
    expect(job.summary).toBeNull();
    expect(badCalls).toBe(2);
  });
});
