import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioForm, fixture, postJob, waitForJob } from '../support/http.ts';
import { probeSeconds } from '../support/speech.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { checkArtifacts } from '../support/voicemail.ts';

/** The keys stored for one job (local directory or S3 bucket). */
async function storedKeys(stack: Stack, jobId: string): Promise<string[]> {
  if (stack.s3) {
    const s3 = stack.s3.client();
    try {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: stack.s3.bucket, Prefix: `jobs/${jobId}/` }),
      );
      return (listed.Contents ?? []).map((o) => o.Key as string).sort();
    } finally {
      s3.destroy();
    }
  }
  const dir = join(stack.dataDir, 'objects', 'jobs', jobId);
  return (await readdir(dir, { recursive: true })).map((f) => `jobs/${jobId}/${f}`).sort();
}

/** Duration in seconds of audio bytes, by ffprobe: proves they are real, playable audio. */
async function probeBytes(bytes: Buffer): Promise<number> {
  const file = join(tmpdir(), `vb-probe-${process.pid}-${Date.now()}`);
  await writeFile(file, bytes);
  return probeSeconds(file);
}

describe.each(['local', 's3'] as const)('voice job end to end with %s storage', (storage) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ storage });
  });
  afterAll(async () => stack?.close());

  it('a real WAV comes back as its transcript, a reply to it, and downloadable speech — one provider call per stage', async () => {
    const wav = await fixture('question.wav');
    // What the provider says these exact bytes contain, asked directly through the SDK.
    const direct = new OpenAI({ apiKey: 'x', baseURL: `${stack.sim.url}/v1`, maxRetries: 0 });
    const expected = (
      await direct.audio.transcriptions.create({ file: await toFile(wav, 'q.wav'), model: 'whisper-1' })
    ).text;
    stack.sim.reset();

    const { res, body } = await postJob(
      stack.url,
      audioForm(wav, '../../etc/passwd.wav', 'application/octet-stream'),
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/v1/jobs/${body.id}`);
    expect(body).toMatchObject({
      status: 'queued',
      stage: 'transcribe',
      input: { kind: 'audio', type: 'audio/wav', bytes: wav.length },
    });

    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.error).toBeNull();
    expect(job.transcript).toBe(expected.trim());
    expect(job.transcript.toLowerCase()).toContain('opening');
    expect(job.reply_text).toContain(job.transcript);
    expect(job.provider).toBe('openai');

    const audio = await fetch(job.audio_url);
    expect(audio.status).toBe(200);
    const bytes = Buffer.from(await audio.arrayBuffer());
    expect(await probeBytes(bytes)).toBeGreaterThan(0.5);
    expect(Date.parse(job.audio_url_expires_at) - Date.now()).toBeGreaterThan(3500 * 1000);

    expect(stack.sim.stats().calls).toEqual({ transcriptions: 1, chat: 1, speech: 1 });
  });

  it('transcript.json is the one stored transcript: .txt, .srt and .vtt are rendered by the API under signed links', async () => {
    const { body } = await postJob(stack.url, audioForm(await fixture('question.wav'), 'q.wav', 'audio/wav'));
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    const { doc, srt } = await checkArtifacts(job);
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    expect(words(srt.map((c) => c.text).join(' '))).toEqual(words(doc.segments.map((s) => s.text).join(' ')));
    // stored: transcript.json only (and the input, the reply's speech)
    const stored = await storedKeys(stack, job.id);
    expect(stored.filter((k) => k.includes('transcript'))).toEqual([`jobs/${job.id}/transcript.json`]);
    // the rendered forms link to the API (on S3 too, signed by the API), the stored one to the store
    for (const name of ['transcript_txt', 'transcript_srt', 'transcript_vtt'])
      expect(job.artifacts[name].startsWith(`${stack.url}/files/jobs/${job.id}/transcript.`), name).toBe(
        true,
      );
    if (storage === 's3') expect(job.artifacts.transcript_json.startsWith(stack.url)).toBe(false);
    const vtt = await fetch(job.artifacts.transcript_vtt);
    expect(vtt.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect((await vtt.text()).startsWith('WEBVTT')).toBe(true);
    // the same signature rules as every file link: tampered → 403, expired → 403 link_expired
    // flip the signature's first character to a different one (the same one would leave the link valid)
    const tampered = job.artifacts.transcript_srt.replace(
      /sig=(.)/,
      (_m: string, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`,
    );
    expect((await fetch(tampered)).status).toBe(403);
    const url = new URL(job.artifacts.transcript_txt);
    url.searchParams.set('expires', '1');
    expect((await fetch(url)).status).toBe(403);
    // another job's key under a valid signature for this one is refused too
    const other = job.artifacts.transcript_txt.replace(job.id, '00000000-0000-4000-8000-000000000000');
    expect((await fetch(other)).status).toBe(403);
  });

  it('text input starts at chat and never calls transcription', async () => {
    stack.sim.reset();
    const { res, body } = await postJob(stack.url, {
      text: 'Is the shop open on Sunday?',
      metadata: { ticket: 42 },
    });
    expect(res.status).toBe(202);
    const job = await waitForJob(stack.url, body.id);
    expect(job).toMatchObject({
      status: 'succeeded',
      transcript: 'Is the shop open on Sunday?',
      metadata: { ticket: 42 },
    });
    expect(job.reply_text).toContain('Is the shop open on Sunday?');
    expect(stack.sim.stats().calls).toEqual({ transcriptions: 0, chat: 1, speech: 1 });
  });

  it('a conversation carries its earlier turns to the chat model', async () => {
    const conversation_id = `conv-${storage}`;
    const first = await postJob(stack.url, { text: 'My name is Ada.', conversation_id });
    expect((await waitForJob(stack.url, first.body.id)).status).toBe('succeeded');
    const second = await postJob(stack.url, { text: 'What is my name?', conversation_id });
    const job = await waitForJob(stack.url, second.body.id);
    expect(job.conversation_id).toBe(conversation_id);
    expect(job.reply_text).toContain('Earlier you said: "My name is Ada."');
    const other = await postJob(stack.url, { text: 'What is my name?', conversation_id: 'someone-else' });
    expect((await waitForJob(stack.url, other.body.id)).reply_text).not.toContain('Earlier you said');
  });

  it('mints a fresh audio_url on every GET', async () => {
    const { body } = await postJob(stack.url, { text: 'hello' });
    const first = await waitForJob(stack.url, body.id);
    await new Promise((r) => setTimeout(r, 1100));
    const second = await waitForJob(stack.url, body.id);
    expect(second.audio_url).not.toBe(first.audio_url);
    expect((await fetch(second.audio_url)).status).toBe(200);
  });
});
