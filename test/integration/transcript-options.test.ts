/**
 * Transcripts a voicemail team can act on (issue 15), through HTTP on the simulator with the Festival
 * samples: word times, split channels, diarization, keyterms, blank recordings, and the refusals.
 * Redaction (local and S3 storage) is in transcript-redaction.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/shared/api-keys.ts';
import { createRedis } from '../../src/shared/redis.ts';
import { type Job, postJob, waitForJob } from '../support/http.ts';
import { loopWav, probeSeconds } from '../support/speech.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { parseSrt, parseVtt } from '../support/subtitles.ts';
import { checkArtifacts, fileForm } from '../support/voicemail.ts';

const run = promisify(execFile);
const SAMPLES = join(import.meta.dirname, '..', '..', '..', 'shared', 'samples');
const sample = (name: string) => join(SAMPLES, name);

/** The call in ../shared/samples/README.md, turn by turn. */
const TURNS: Array<{ speaker: 'agent' | 'caller'; text: string }> = [
  {
    speaker: 'agent',
    text: 'Thank you for calling Riverside Dental, this is James speaking. How can I help you?',
  },
  {
    speaker: 'caller',
    text: 'Hi James, this is Maria Lopez. I have had a bad toothache since yesterday and I need an appointment.',
  },
  {
    speaker: 'agent',
    text: 'I am sorry to hear that. We have an opening tomorrow at nine thirty in the morning. Does that work for you?',
  },
  {
    speaker: 'caller',
    text: 'Yes, nine thirty works. My number is five five five, two one three, four four seven eight.',
  },
  { speaker: 'agent', text: 'Perfect, you are booked for tomorrow at nine thirty. See you then, Maria.' },
];

const words = (s: string) =>
  s
    .toLowerCase()
    .split(/\s+/)
    .map((w) => w.replace(/[^a-z']/g, ''))
    .filter(Boolean);

/** The turn whose words a recognised segment shares most of (so the true speaker of the segment). */
function trueTurn(text: string): number {
  const said = words(text);
  let best = 0;
  let bestScore = -1;
  TURNS.forEach((t, i) => {
    const bag = new Set(words(t.text));
    const score = said.filter((w) => bag.has(w)).length / Math.max(1, said.length);
    if (score > bestScore) [best, bestScore] = [i, score];
  });
  return best;
}

const getText = async (url: string) => (await fetch(url)).text();

async function artifactsOf(job: Job) {
  const doc = JSON.parse(await getText(job.artifacts.transcript_json));
  return {
    doc,
    srt: await getText(job.artifacts.transcript_srt),
    vtt: await getText(job.artifacts.transcript_vtt),
  };
}

/** Segments → turns: consecutive segments of one speaker are one turn. */
function turnsOf(segments: Array<{ speaker?: string; channel?: number; text: string }>) {
  const turns: Array<{ speaker: string | undefined; channel: number | undefined; text: string }> = [];
  for (const s of segments) {
    const last = turns.at(-1);
    if (last && last.speaker === s.speaker) last.text += ` ${s.text}`;
    else turns.push({ speaker: s.speaker, channel: s.channel, text: s.text });
  }
  return turns;
}

function checkWordTimes(doc: Job) {
  expect(doc.words.length).toBeGreaterThan(10);
  let previous = 0;
  for (const w of doc.words) {
    expect(w.start).toBeGreaterThanOrEqual(previous);
    expect(w.end).toBeGreaterThanOrEqual(w.start);
    expect(w.end).toBeLessThanOrEqual(doc.duration + 0.05);
    previous = w.start;
    // every word lies inside a segment (the same timeline)
    expect(
      doc.segments.some((s: Job) => w.start >= s.start - 0.05 && w.end <= s.end + 0.05),
      `word "${w.word}" at ${w.start}-${w.end} is inside a segment`,
    ).toBe(true);
  }
}

describe('transcript options (whisper-1)', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-options-'));
    stack = await startStack({
      env: { TRANSCRIBE_MODEL: 'whisper-1', TRANSCRIBE_CHUNK_SECONDS: '40', RATE_LIMIT_RPM: '0' },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses options that cannot work with a 400 naming the problem, leaving nothing stored; a mono input found later fails the job', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ redact_audio: 'true' }, 'invalid_options', 'redact_audio needs redact'],
      [{ channels: 'split' }, 'mono_input', 'one channel'],
      [{ channel_labels: '["agent","caller"]' }, 'invalid_options', 'channel_labels needs channels'],
      [{ diarize: 'true', channels: 'split' }, 'invalid_options', 'do not combine'],
      [{ redact: '["phone_number","shoe_size"]' }, 'validation_failed', 'redact'],
      [
        { keyterms: JSON.stringify(Array.from({ length: 101 }, (_, i) => `term${i}`)) },
        'validation_failed',
        'at most 100',
      ],
      [{ word_timestamps: 'maybe' }, 'validation_failed', 'word_timestamps'],
    ];
    for (const [fields, code, detail] of cases) {
      const { res, body } = await postJob(stack.url, await fileForm(sample('call-mono.wav'), fields));
      expect(res.status, `${JSON.stringify(fields)} → ${JSON.stringify(body)}`).toBe(400);
      expect(body.code).toBe(code);
      expect(JSON.stringify(body)).toContain(detail);
    }
    const text = await postJob(stack.url, { text: 'hello', word_timestamps: true, pipeline: 'voicemail' });
    expect(text.res.status).toBe(400);
    expect(text.body.detail).toContain('only for audio input');
    // a batch item's own options are checked too
    const batch = await fetch(`${stack.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ text: 'hi' }, { text: 'hello', redact_audio: true }] }),
    });
    expect(batch.status).toBe(400);
    expect((await batch.json()) as Job).toMatchObject({
      code: 'invalid_options',
      detail: expect.stringMatching(/^items\[1\]: redact_audio needs redact.*only for audio input/),
    });
    expect(stack.sim.stats().calls.transcriptions).toBe(0);
    expect(await readdir(join(stack.dataDir, 'objects', 'jobs')).catch(() => [])).toEqual([]);
    // a mono container whose channels only ffprobe can tell: the job fails with the same problem, unpaid
    const { res, body } = await postJob(
      stack.url,
      await fileForm(sample('voicemail-short.webm'), { pipeline: 'transcribe', channels: 'split' }),
    );
    expect(res.status).toBe(202);
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'mono_input', stage: 'transcribe' });
    expect(job.error.message).toContain('needs a stereo recording');
    expect(stack.sim.stats().calls.transcriptions).toBe(0);
  });

  it('call-stereo.wav split with labels: 5 turns in order, alternating agent/caller, each on its channel; words and subtitles carry them', async () => {
    stack.sim.reset();
    const { res, body } = await postJob(
      stack.url,
      await fileForm(sample('call-stereo.wav'), {
        pipeline: 'transcribe',
        channels: 'split',
        channel_labels: '["agent","caller"]',
        word_timestamps: 'true',
      }),
    );
    expect(res.status).toBe(202);
    expect(body.transcript_options).toMatchObject({ channels: 'split', channel_labels: ['agent', 'caller'] });
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const { doc, srt, vtt } = await artifactsOf(job);
    const turns = turnsOf(doc.segments);
    expect(turns.map((t) => t.speaker)).toEqual(['agent', 'caller', 'agent', 'caller', 'agent']);
    expect(turns.map((t) => t.channel)).toEqual([0, 1, 0, 1, 0]);
    for (const [i, t] of turns.entries()) expect(trueTurn(t.text), t.text).toBe(i);
    expect(job.speakers.map((s: Job) => s.label)).toEqual(['agent', 'caller']);
    for (const s of job.speakers) expect(s.talk_seconds).toBeGreaterThan(5);
    // words: on both channels, labelled, on one timeline
    checkWordTimes(doc);
    expect(new Set(doc.words.map((w: Job) => `${w.channel}:${w.speaker}`))).toEqual(
      new Set(['0:agent', '1:caller']),
    );
    // SRT "agent: …", VTT "<v caller>…"
    expect(parseSrt(srt).map((c) => c.text.split(':')[0])).toEqual(doc.segments.map((s: Job) => s.speaker));
    expect(vtt).toContain('<v caller>');
    expect(vtt).toContain('<v agent>');
    expect(parseVtt(vtt)).toHaveLength(doc.segments.length);
    // the two channels, one request each
    expect(stack.sim.stats().calls.transcriptions).toBe(2);
  });

  it('call-mono.wav diarized: 2 speakers, at least 80% of the words on the right one, known names applied', async () => {
    stack.sim.reset();
    const { body } = await postJob(
      stack.url,
      await fileForm(sample('call-mono.wav'), {
        pipeline: 'transcribe',
        diarize: 'true',
        known_speakers: '["James","Maria"]',
      }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.speakers.map((s: Job) => s.label)).toEqual(['James', 'Maria']);
    const { doc, vtt } = await artifactsOf(job);
    const expected = { agent: 'James', caller: 'Maria' } as const;
    let right = 0;
    let total = 0;
    for (const s of doc.segments) {
      const n = words(s.text).length;
      total += n;
      if (s.speaker === expected[TURNS[trueTurn(s.text)]?.speaker ?? 'agent']) right += n;
    }
    expect(total).toBeGreaterThan(60);
    expect(right / total).toBeGreaterThanOrEqual(0.8);
    expect(vtt).toContain('<v Maria>');
    const request = stack.sim.stats().requests.find((r) => r.endpoint === 'transcriptions');
    expect(request?.model).toBe('gpt-4o-transcribe-diarize');
    expect(request?.params).toMatchObject({ response_format: 'diarized_json', chunking_strategy: 'auto' });
  });

  it('a long diarized recording keeps one label per speaker across chunks (the first chunk’s clips as references)', async () => {
    const long = await loopWav(sample('call-mono.wav'), join(dir, 'call-long.wav'), 75);
    stack.sim.reset();
    const { body } = await postJob(
      stack.url,
      await fileForm(long, { pipeline: 'transcribe', diarize: 'true' }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.speakers.map((s: Job) => s.label)).toEqual(['A', 'B']);
    const { doc } = await artifactsOf(job);
    const expected = { agent: 'A', caller: 'B' } as const;
    let right = 0;
    let total = 0;
    for (const s of doc.segments) {
      const n = words(s.text).length;
      total += n;
      if (s.speaker === expected[TURNS[trueTurn(s.text)]?.speaker ?? 'agent']) right += n;
    }
    expect(doc.segments.at(-1).start).toBeGreaterThan(45); // the second chunk's speakers are labelled too
    expect(right / total).toBeGreaterThanOrEqual(0.8);
    const requests = stack.sim.stats().requests.filter((r) => r.endpoint === 'transcriptions');
    expect(requests.length).toBeGreaterThanOrEqual(2);
    // the first chunk without references, every other one with the first chunk's two speakers
    expect(requests[0]?.params).not.toHaveProperty('known_speaker_names[]');
    for (const r of requests.slice(1))
      expect(r.params?.['known_speaker_names[]']).toEqual(['speaker_A', 'speaker_B']);
  });

  it('word times from whisper-1 increase, lie inside the audio and inside their segments', async () => {
    const { body } = await postJob(
      stack.url,
      await fileForm(sample('voicemail-short.wav'), { pipeline: 'transcribe', word_timestamps: 'true' }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.warnings).toEqual([]);
    const { doc } = (await checkArtifacts(job)) as { doc: Job };
    checkWordTimes(doc);
    expect(doc.words.map((w: Job) => w.word).join(' ')).toContain('maria lopez');
    const last = doc.words.at(-1);
    expect(last.end).toBeGreaterThan(doc.duration - 3);
  });

  it('a long recording cut into chunks keeps its words on one timeline', async () => {
    const long = await loopWav(sample('voicemail-short.wav'), join(dir, 'long.wav'), 70);
    const seconds = await probeSeconds(long);
    stack.sim.reset();
    const { body } = await postJob(
      stack.url,
      await fileForm(long, { pipeline: 'transcribe', word_timestamps: 'true' }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(stack.sim.stats().calls.transcriptions).toBeGreaterThanOrEqual(2);
    const { doc } = (await checkArtifacts(job)) as { doc: Job };
    checkWordTimes(doc);
    // each repetition's "maria" is heard once, about one repetition (17.7 s + 1.5 s) after the previous
    const marias = doc.words.filter((w: Job) => w.word === 'maria').map((w: Job) => w.start);
    expect(marias.length).toBe(4);
    for (let i = 1; i < marias.length; i++) expect(marias[i] - marias[i - 1]).toBeCloseTo(19.2, 0);
    expect(doc.words.at(-1).end).toBeLessThanOrEqual(seconds);
    expect(doc.words.at(-1).end).toBeGreaterThan(seconds - 5);
  });

  it('keyterms (the job’s and the client’s defaults) reach the provider as the prompt', async () => {
    // The API runs open here: every request is the "public" client's.
    await execCli(stack, ['clients', 'set', 'public', '--keyterms', 'Riverside Dental, Patel']);
    const redis = createRedis(stack.config.redis, 'blocking', 'test');
    try {
      expect(await new ApiKeys(redis, stack.config.prefix).keyterms('public')).toEqual([
        'Riverside Dental',
        'Patel',
      ]);
      stack.sim.reset();
      const { body } = await postJob(
        stack.url,
        await fileForm(sample('question.wav'), { pipeline: 'transcribe', keyterms: '["toothache","Lopez"]' }),
      );
      expect(body.transcript_options.keyterms).toEqual(['Riverside Dental', 'Patel', 'toothache', 'Lopez']);
      const job = await waitForJob(stack.url, body.id);
      expect(job.status).toBe('succeeded');
      expect(job.warnings).toEqual([]);
      const request = stack.sim.stats().requests.find((r) => r.endpoint === 'transcriptions');
      expect(request?.params?.prompt).toBe('Riverside Dental, Patel, toothache, Lopez');
    } finally {
      await execCli(stack, ['clients', 'set', 'public', '--keyterms', '']);
      redis.disconnect();
    }
    expect(
      (await postJob(stack.url, await fileForm(sample('question.wav'), { pipeline: 'transcribe' }))).body
        .transcript_options,
    ).toBeNull();
  });

  it('keyterms with diarize: the diarization model refuses a prompt, so none is sent and the job says so', async () => {
    // The simulator refuses as the real API does.
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${stack.sim.url}/v1`, maxRetries: 0 });
    const refused = await openai.audio.transcriptions
      .create({
        file: await OpenAI.toFile(await readFile(sample('question.wav')), 'q.wav'),
        model: 'gpt-4o-transcribe-diarize',
        response_format: 'diarized_json',
        prompt: 'Riverside',
      } as never)
      .catch((err: unknown) => err as { status: number; message: string });
    expect(refused).toMatchObject({ status: 400 });
    expect((refused as { message: string }).message).toContain('Prompt is not supported');
    stack.sim.reset();
    const { body } = await postJob(
      stack.url,
      await fileForm(sample('question.wav'), {
        pipeline: 'transcribe',
        diarize: 'true',
        keyterms: 'Riverside',
      }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.warnings.join(' ')).toMatch(/keyterms were ignored/);
    const request = stack.sim.stats().requests.find((r) => r.model === 'gpt-4o-transcribe-diarize');
    expect(request?.status).toBe(200);
    expect(request?.params).not.toHaveProperty('prompt');
  });

  it('a recording of silence: no_speech, a summary saying so, and no provider call at all', async () => {
    const silent = join(dir, 'silence.wav');
    await run('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=16000:cl=mono',
      '-t',
      '6',
      silent,
    ]);
    // an MP3 of near-silence (room tone at -70 dB) is measured by ffmpeg instead
    const quiet = join(dir, 'quiet.mp3');
    await run('ffmpeg', [
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=a=0.0003:r=16000',
      '-t',
      '6',
      quiet,
    ]);
    stack.sim.reset();
    for (const [pipeline, file] of [
      ['voicemail', silent],
      ['voicebot', silent],
      ['voicemail', quiet],
    ] as const) {
      const { res, body } = await postJob(stack.url, await fileForm(file, { pipeline }));
      expect(res.status, JSON.stringify(body)).toBe(202);
      const job = await waitForJob(stack.url, body.id);
      expect(job.error).toBeNull();
      expect(job.status).toBe('succeeded');
      expect(job.no_speech).toBe(true);
      expect(job.transcript).toBe('');
      expect(job.reply_text).toBeNull();
      expect(job.audio_url).toBeNull();
      if (pipeline === 'voicemail') expect(job.summary.summary).toMatch(/no speech/i);
      else expect(job.summary).toBeNull();
    }
    expect(stack.sim.stats().calls).toEqual({ transcriptions: 0, chat: 0, speech: 0 });
  });
});

describe('transcript options on the default setup (no model settings: TRANSCRIBE_MODEL gpt-4o-mini-transcribe)', () => {
  let stack: Stack;
  beforeAll(async () => {
    // No model settings; chunks of at most 30 s, so call-mono.wav (34.8 s) is sent as two chunks.
    stack = await startStack({ env: { TRANSCRIBE_CHUNK_SECONDS: '30' } });
  });
  afterAll(async () => stack?.close());

  it('word_timestamps: true on call-mono.wav goes to whisper-1 and gives words inside their segments, increasing, on one timeline across chunks', async () => {
    stack.sim.reset();
    const { body } = await postJob(
      stack.url,
      await fileForm(sample('call-mono.wav'), { pipeline: 'transcribe', word_timestamps: 'true' }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.warnings).toEqual([]);
    expect(job.transcript_options.word_timestamps).toBe(true);
    expect(job.transcription_model).toEqual({ model: 'whisper-1', reason: 'word_timestamps' });
    const requests = stack.sim.stats().requests.filter((r) => r.endpoint === 'transcriptions');
    expect(requests.length).toBe(2);
    for (const r of requests) {
      expect(r.model).toBe('whisper-1');
      expect(r.params).toMatchObject({ response_format: 'verbose_json' });
    }
    const { doc, srt } = await artifactsOf(job);
    checkWordTimes(doc);
    // whisper-1 answers segments: many subtitle cues, not one per chunk
    expect(doc.segments.length).toBeGreaterThan(4);
    expect(parseSrt(srt)).toHaveLength(doc.segments.length);
    // one timeline: the second chunk's words are after the cut, the call's last words near its end
    const cut = Math.min(...doc.words.filter((w: Job) => w.start > 20).map((w: Job) => w.start));
    expect(cut).toBeGreaterThan(20);
    expect(doc.words.at(-1).end).toBeGreaterThan(doc.duration - 4);
    expect(doc.words.map((w: Job) => w.word).join(' ')).toMatch(/maria/);
  });

  it('without word times asked, the configured model is used: one segment per request, the job says which and why', async () => {
    stack.sim.reset();
    const { body } = await postJob(
      stack.url,
      await fileForm(sample('question.wav'), { pipeline: 'voicemail', keyterms: 'Riverside' }),
    );
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.transcription_model).toEqual({ model: 'gpt-4o-mini-transcribe', reason: 'configured' });
    const { doc } = await artifactsOf(job);
    expect(doc.words).toBeUndefined();
    expect(doc.segments).toHaveLength(1);
    expect(job.transcript.length).toBeGreaterThan(10);
    // the gpt-4o models do not say the language: the summarize stage's structured call does
    expect(doc.language).toBeNull();
    expect(job.language).toBe('en');
    expect(job.summary).not.toHaveProperty('language');
    const request = stack.sim.stats().requests.find((r) => r.endpoint === 'transcriptions');
    expect(request?.model).toBe('gpt-4o-mini-transcribe');
  });
});

describe('transcript options when no model gives word times', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { TRANSCRIBE_TIMESTAMPS_MODEL: 'gpt-4o-transcribe' } });
  });
  afterAll(async () => stack?.close());

  it('word_timestamps: false on the job with a warning, the transcript still made', async () => {
    const { body } = await postJob(
      stack.url,
      await fileForm(sample('question.wav'), { pipeline: 'transcribe', word_timestamps: 'true' }),
    );
    expect(body.transcript_options.word_timestamps).toBe(true);
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(job.transcript_options.word_timestamps).toBe(false);
    expect(job.warnings).toEqual([expect.stringContaining('gives word times')]);
    expect(job.transcription_model).toEqual({ model: 'gpt-4o-mini-transcribe', reason: 'configured' });
    const { doc } = await artifactsOf(job);
    expect(doc.words).toBeUndefined();
    expect(job.transcript.length).toBeGreaterThan(10);
  });
});

/** The admin CLI, as an operator runs it (REDIS_URL and QUEUE_PREFIX of the stack). */
async function execCli(stack: Stack, args: string[]) {
  const root = join(import.meta.dirname, '..', '..');
  return run(process.execPath, [join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, ...stack.env },
  });
}
