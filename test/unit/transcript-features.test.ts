/** Word times across chunks, speakers across chunks and channels, subtitles with speakers, request plans (issue 15). */
import { describe, expect, it } from 'vitest';
import { toSrt, toVtt } from '../../src/shared/subtitles.ts';
import { DEFAULT_TRANSCRIPT_OPTIONS } from '../../src/shared/transcript-options.ts';
import { mergeChannels } from '../../src/worker/transcription/channels.ts';
import { planRequest } from '../../src/worker/transcription/request-plan.ts';

describe('split channels on one timeline', () => {
  it('merges split channels in time order with their labels; subtitles show the speaker', () => {
    const doc = mergeChannels(
      [
        {
          text: 'hello. bye.',
          language: 'en',
          duration: 9,
          segments: [
            { start: 0, end: 2, text: 'hello.' },
            { start: 6, end: 8, text: 'bye.' },
          ],
        },
        {
          text: 'hi there.',
          language: null,
          duration: 9,
          segments: [{ start: 3, end: 5, text: 'hi there.' }],
        },
      ],
      ['agent', 'caller'],
    );
    expect(doc.segments.map((s) => [s.speaker, s.channel, s.text])).toEqual([
      ['agent', 0, 'hello.'],
      ['caller', 1, 'hi there.'],
      ['agent', 0, 'bye.'],
    ]);
    expect(doc.text).toBe('hello. hi there. bye.');
    expect(toSrt(doc.segments)).toContain('00:00:03,000 --> 00:00:05,000\ncaller: hi there.');
    expect(toVtt(doc.segments)).toContain('00:00:03.000 --> 00:00:05.000\n<v caller>hi there.');
  });
});

describe('request plans', () => {
  const options = { ...DEFAULT_TRANSCRIPT_OPTIONS, word_timestamps: true, keyterms: ['Riverside', 'Patel'] };
  const models = (model: string, timestampsModel = 'whisper-1') => ({
    model,
    diarizeModel: 'gpt-4o-transcribe-diarize',
    timestampsModel,
  });
  it('whisper-1: words and the keyterms as prompt, on the configured model', () => {
    expect(planRequest(options, models('whisper-1'))).toMatchObject({
      request: { model: 'whisper-1', words: true, diarize: false, prompt: 'Riverside, Patel' },
      model: { model: 'whisper-1', reason: 'configured' },
      warnings: [],
    });
  });
  it('a model without word times: word times (or redact_audio) go to the timestamps model, and the job says why', () => {
    const words = planRequest(options, models('gpt-4o-mini-transcribe'));
    expect(words).toMatchObject({
      request: { model: 'whisper-1', words: true, prompt: 'Riverside, Patel' },
      model: { model: 'whisper-1', reason: 'word_timestamps' },
      warnings: [],
    });
    expect(words.options?.word_timestamps).toBe(true);
    const audio = planRequest(
      { ...DEFAULT_TRANSCRIPT_OPTIONS, redact: ['phone_number'], redact_audio: true },
      models('gpt-4o-mini-transcribe'),
    );
    expect(audio).toMatchObject({
      request: { model: 'whisper-1', words: true },
      model: { reason: 'redact_audio' },
      warnings: [],
    });
    // nothing that needs words: the configured model
    const plain = planRequest(
      { ...DEFAULT_TRANSCRIPT_OPTIONS, keyterms: ['x'] },
      models('gpt-4o-mini-transcribe'),
    );
    expect(plain.model).toEqual({ model: 'gpt-4o-mini-transcribe', reason: 'configured' });
    expect(planRequest(null, models('gpt-4o-mini-transcribe')).model.reason).toBe('configured');
  });
  it('no model with word times says so; diarize drops the prompt and says so', () => {
    const plain = planRequest(options, models('gpt-4o-mini-transcribe', 'gpt-4o-transcribe'));
    expect(plain.options?.word_timestamps).toBe(false);
    expect(plain.request.model).toBe('gpt-4o-mini-transcribe');
    expect(plain.warnings).toEqual([expect.stringContaining('gives word times')]);
    const diarized = planRequest({ ...options, diarize: true }, models('whisper-1'));
    expect(diarized.request).toMatchObject({
      model: 'gpt-4o-transcribe-diarize',
      diarize: true,
      prompt: undefined,
    });
    expect(diarized.model.reason).toBe('diarize');
    expect(diarized.warnings.join(' ')).toMatch(/keyterms were ignored.*2 keyterm/);
  });
});
