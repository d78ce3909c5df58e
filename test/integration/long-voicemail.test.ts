/**
 * A 60-minute voicemail (generated speech, 16 kHz 16-bit mono WAV, 115 MB) through the voicemail pipeline:
 * transcoded, cut at silences into ≤ 10-minute chunks, transcribed in parallel as child jobs and stitched
 * onto one timeline. The simulator runs without pocketsphinx (its deterministic transcript per upload,
 * one whisper-1 segment spanning each chunk), so the hour takes seconds. The same stack shows what is sent
 * to the provider as it is (webm) and what is transcoded first (AMR): the simulated transcript names the
 * byte count it received.
 */
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/shared/job-files.ts';
import { chunkJobId } from '../../src/shared/queue-registry.ts';
import { voicemailSummarySchema } from '../../src/shared/summary.ts';
import { fixture, postJob, waitForJob } from '../support/http.ts';
import { waitFor } from '../support/index.ts';
import { loopWav, speechWav, toAmr } from '../support/speech.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { checkArtifacts, fileForm } from '../support/voicemail.ts';

const HOUR = 3600;
const receivedBytes = (text: string) => Number(/simulated transcript of (\d+) bytes/.exec(text)?.[1]);

describe('a 60-minute voicemail', () => {
  let stack: Stack;
  let dir: string;
  let wav: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-long-'));
    wav = await speechWav(dir, 'vm');
    stack = await startStack({
      env: { TRANSCRIBE_MODEL: 'whisper-1', MAX_UPLOAD_BYTES: String(200 * 1024 * 1024) },
      simulator: { disableTools: ['pocketsphinx'] },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('completes as a chunked transcription with monotonic timestamps, parseable SRT/VTT and a valid summary', async () => {
    const hour = await loopWav(wav, join(dir, 'hour.wav'), HOUR);
    const bytes = (await stat(hour)).size;
    expect(bytes).toBeGreaterThan(100 * 1024 * 1024);
    stack.sim.reset();
    const form = new FormData();
    form.append('pipeline', 'voicemail');
    form.append('audio', await openAsBlob(hour), 'hour.wav');
    const started = Date.now();
    const { res, body } = await postJob(stack.url, form);
    expect(res.status).toBe(202);
    expect(body.input).toMatchObject({ type: 'audio/wav', bytes });
    await rm(hour); // the service has its own copy in storage
    const job = await waitForJob(stack.url, body.id);
    const seconds = (Date.now() - started) / 1000;
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.duration_seconds).toBeCloseTo(HOUR, 0);

    const chunks = stack.sim.stats().calls.transcriptions;
    expect(chunks).toBeGreaterThanOrEqual(6); // ≤ 600 s each (TRANSCRIBE_CHUNK_SECONDS default)
    expect(chunks).toBeLessThanOrEqual(8);
    const { doc, srt, vtt } = await checkArtifacts(job);
    // One segment per chunk, shifted onto the hour's timeline: from 0 to the end, never going back.
    expect(doc.segments).toHaveLength(chunks);
    expect(doc.segments[0]?.start).toBe(0);
    expect(doc.segments.at(-1)?.end).toBeGreaterThan(HOUR - 2);
    for (const [i, s] of doc.segments.entries()) {
      expect(s.end - s.start).toBeLessThanOrEqual(601);
      if (i > 0) expect(s.start).toBeCloseTo(doc.segments[i - 1]?.end ?? -1, 0);
      // each chunk sent was compact: 16 kHz mono MP3, ~4 KB/s, far below the 25 MB upload limit
      expect(receivedBytes(s.text)).toBeLessThan(3_000_000);
    }
    expect(srt.at(-1)?.end).toBeGreaterThan(HOUR - 2);
    expect(vtt).toHaveLength(srt.length);
    expect(voicemailSummarySchema.safeParse(job.summary).success).toBe(true);
    console.log(`60-minute voicemail: ${chunks} chunks, ${seconds.toFixed(1)} s from upload to summary`);
  });

  it('a chunk that fails with a 500 is retried alone: done chunks are not transcribed again', async () => {
    const audio = await loopWav(wav, join(dir, 'twenty.wav'), 20 * 60);
    stack.sim.reset();
    stack.sim.configure({ failNext: [{ endpoint: 'transcriptions', status: 500 }] });
    const { body } = await postJob(stack.url, await fileForm(audio, { pipeline: 'transcribe' }));
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    const { doc } = await checkArtifacts(job);
    expect(doc.segments.length).toBeGreaterThanOrEqual(2);
    expect(stack.sim.stats().calls.transcriptions).toBe(doc.segments.length + 1);
  });

  it('a chunk the provider rejects (400) fails the job at once, naming the chunk', async () => {
    const audio = join(dir, 'twenty.wav');
    stack.sim.reset();
    stack.sim.configure({ failNext: [{ endpoint: 'transcriptions', status: 400, message: 'bad chunk' }] });
    const { body } = await postJob(stack.url, await fileForm(audio, { pipeline: 'voicemail' }));
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'provider_rejected', stage: 'transcribe', attempts: 1 });
    expect(job.error.message).toMatch(/^Chunk \d of \d: .*bad chunk/);
    expect(job.summary).toBeNull();
    expect(stack.sim.stats().calls.chat).toBe(0);
  });

  it('a job failed by a rejected chunk, once retried, sends only the chunks with no stored transcript', async () => {
    const audio = await loopWav(wav, join(dir, 'twenty-retry.wav'), 20 * 60);
    stack.sim.reset();
    stack.sim.configure({ failNext: [{ endpoint: 'transcriptions', status: 400, message: 'bad chunk' }] });
    const { body } = await postJob(stack.url, await fileForm(audio, { pipeline: 'voicemail' }));
    const failed = await waitForJob(stack.url, body.id);
    expect(failed.error).toMatchObject({ code: 'provider_rejected', stage: 'transcribe' });
    // The chunks already sent when the job failed still finish and store their transcripts (checkpoints).
    const plan = JSON.parse(
      (await stack.api.deps.storage.getText(keys.chunkPlan(body.id))) ?? '{"chunks":[]}',
    ) as { chunks: unknown[] };
    expect(plan.chunks.length).toBeGreaterThanOrEqual(2);
    const stored = async () => {
      let n = 0;
      for (let i = 0; i < plan.chunks.length; i++)
        if (await stack.api.deps.storage.exists(keys.chunkTranscript(body.id, i))) n++;
      return n;
    };
    const settled = async () => {
      for (let i = 0; i < plan.chunks.length; i++) {
        const chunk = await stack.api.deps.queues.chunk.getJob(chunkJobId(body.id, i));
        if (chunk && !['completed', 'failed'].includes(await chunk.getState())) return false;
      }
      return true;
    };
    await waitFor(settled, {
      timeoutMs: 120_000,
      message: 'the first run’s chunk jobs to end (those in flight store their transcripts)',
    });
    const missing = plan.chunks.length - (await stored());
    const before = stack.sim.stats().calls.transcriptions;

    const res = await fetch(`${stack.url}/v1/jobs/${body.id}/retry`, { method: 'POST' });
    expect(res.status).toBe(202);
    const job = await waitForJob(stack.url, body.id);
    expect(job).toMatchObject({ status: 'succeeded', attempt: 2, error: null });
    const { doc } = await checkArtifacts(job);
    // Every chunk is in the transcript; only the rejected one was sent again.
    expect(doc.segments).toHaveLength(plan.chunks.length);
    expect(stack.sim.stats().calls.transcriptions).toBe(before + missing);
    expect(missing).toBeLessThan(plan.chunks.length);
    expect(stack.sim.stats().calls.chat).toBe(1);
  });

  it('canceling a job stops its chunks: no chunk is sent after the cancel', async () => {
    const audio = join(dir, 'twenty.wav');
    stack.sim.reset();
    stack.sim.configure({ latencyMs: { transcriptions: 1500 }, concurrency: { transcriptions: 1 } });
    try {
      const { body } = await postJob(stack.url, await fileForm(audio, { pipeline: 'voicemail' }));
      await waitFor(() => stack.sim.stats().inFlight.transcriptions > 0, { timeoutMs: 120_000 });
      const res = await fetch(`${stack.url}/v1/jobs/${body.id}`, { method: 'DELETE' });
      expect(res.status).toBe(200);
      const job = await waitForJob(stack.url, body.id);
      expect(job.status).toBe('canceled');
      const calls = stack.sim.stats().calls.transcriptions;
      await new Promise((r) => setTimeout(r, 2500));
      // No chunk request is sent after the cancel. (How many were already sent depends on timing: the
      // chunk worker may have handed a second chunk to the provider, or retried an aborted one, just before.)
      expect(stack.sim.stats().calls.transcriptions).toBe(calls);
    } finally {
      stack.sim.configure({ latencyMs: { transcriptions: 0 }, concurrency: { transcriptions: Infinity } });
    }
  });

  it('AMR is transcoded before upload (the provider does not take it); webm goes as it is', async () => {
    const amr = await toAmr(wav, join(dir, 'vm.amr'));
    const amrBytes = (await stat(amr)).size;
    const a = await postJob(stack.url, await fileForm(amr, { pipeline: 'voicemail' }));
    const webm = await fixture('voicemail-short.webm');
    const form = new FormData();
    form.append('pipeline', 'voicemail');
    form.append('audio', new Blob([new Uint8Array(webm)]), 'rec.webm');
    const w = await postJob(stack.url, form);
    const amrJob = await waitForJob(stack.url, a.body.id);
    const webmJob = await waitForJob(stack.url, w.body.id);
    expect(amrJob.status).toBe('succeeded');
    expect(amrJob.input.type).toBe('audio/amr');
    // what reached the provider is the MP3 made from it: bigger than the 4.75 kbit/s AMR
    expect(receivedBytes(amrJob.transcript)).toBeGreaterThan(amrBytes);
    expect(webmJob.status).toBe('succeeded');
    expect(receivedBytes(webmJob.transcript)).toBe(webm.length);
    for (const job of [amrJob, webmJob]) await checkArtifacts(job);
  });
});
