/**
 * The offline demo, as the README's first curl runs it: `curl -F audio=@test/fixtures/question.wav
 * /v1/jobs` against the simulator, whose pocketsphinx hears the Festival-made fixture word for word and
 * whose Festival voice speaks a reply pocketsphinx can hear again. Skipped where those programs are missing.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectTools } from '../../src/simulator/audio-tools.ts';
import { audioForm, fixture, postJob, waitForJob } from '../support/http.ts';
import { type Stack, startStack } from '../support/stack.ts';

const tools = await detectTools();
const offline = tools.pocketsphinx && tools.ffmpeg && tools.ffprobe;
/** The words of question.wav (test/fixtures/README.md). */
const QUESTION = 'what are your opening hours on sunday and do i need to book a table in advance';

const words = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);

/** Share of `expected`'s words found in order in `heard` (longest common subsequence of words). */
function wordRecall(expected: string, heard: string): number {
  const a = words(expected);
  const b = words(heard);
  const row = new Array<number>(b.length + 1).fill(0);
  for (const w of a) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] ?? 0;
      row[j] = w === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1] ?? 0);
      diag = up;
    }
  }
  return (row[b.length] ?? 0) / a.length;
}

describe.runIf(offline)('offline voice: pocketsphinx hears the fixture, Festival speaks the reply', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it('the README first curl (POST /v1/jobs with question.wav) returns the real words as the transcript', async () => {
    const { res, body } = await postJob(stack.url, audioForm(await fixture('question.wav'), 'question.wav'));
    expect(res.status).toBe(202);
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    expect(words(job.transcript).join(' ')).toBe(QUESTION);
    expect(job.reply_text).toContain(job.transcript);
  });

  it.runIf(tools.festival)('the spoken reply is Festival speech that pocketsphinx hears back', async () => {
    const { body } = await postJob(stack.url, { text: 'We are open from nine to five on Sunday.' });
    const job = await waitForJob(stack.url, body.id);
    expect(job.status).toBe('succeeded');
    const audio = Buffer.from(await (await fetch(job.audio_url)).arrayBuffer());
    const sdk = new OpenAI({ apiKey: 'x', baseURL: `${stack.sim.url}/v1`, maxRetries: 0 });
    const heard = await sdk.audio.transcriptions.create({
      file: await toFile(audio, 'reply.mp3'),
      model: 'whisper-1',
    });
    // The reply is `You said: "…". (turn 1)`: most of its words come back (espeak-ng managed 3–20%).
    expect(wordRecall(job.reply_text, heard.text)).toBeGreaterThan(0.7);
  });
});
