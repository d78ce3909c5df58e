import { describe, expect, it } from 'vitest';
import { isWavType, providerExtension } from '../../src/shared/audio-types.ts';
import { isLanguageCode, toLanguageCode } from '../../src/shared/languages.ts';
import { acceptsInput, firstStage, nextStage } from '../../src/shared/pipelines.ts';
import { timestamp, toSrt, toVtt, wrap } from '../../src/shared/subtitles.ts';
import { summaryJsonSchema, voicemailSummarySchema } from '../../src/shared/summary.ts';
import { parseSummary } from '../../src/worker/stages/summarize.ts';
import { planChunks, SilenceParser } from '../../src/worker/transcription/chunk-plan.ts';
import { progressSeconds } from '../../src/worker/transcription/media.ts';
import { dropSeamDuplicate, matchSpeakers, stitch } from '../../src/worker/transcription/stitch.ts';
import { toDoc } from '../../src/worker/transcription/transcript.ts';
import { parseSrt, parseVtt } from '../support/subtitles.ts';

describe('subtitles', () => {
  const segments = [
    { start: 0, end: 2.5, text: ' Hello, this is Maria Lopez.' },
    { start: 2.5, end: 2.5, text: 'Zero length.' },
    { start: 3, end: 4, text: '   ' },
    { start: 3723.5, end: 3725.25, text: 'Call <me> back & soon --> please.' },
  ];

  it('formats timestamps for SRT (comma) and VTT (dot), past the hour', () => {
    expect(timestamp(0, ',')).toBe('00:00:00,000');
    expect(timestamp(3723.5, ',')).toBe('01:02:03,500');
    expect(timestamp(59.9996, '.')).toBe('00:01:00.000');
    expect(timestamp(100 * 3600 + 1.001, '.')).toBe('100:00:01.001');
  });

  it('writes numbered SRT cues, skipping empty text and widening zero-length cues', () => {
    const srt = toSrt(segments);
    expect(srt).toBe(
      '1\n00:00:00,000 --> 00:00:02,500\nHello, this is Maria Lopez.\n\n' +
        '2\n00:00:02,500 --> 00:00:02,501\nZero length.\n\n' +
        '3\n01:02:03,500 --> 01:02:05,250\nCall <me> back & soon --> please.\n',
    );
    const cues = parseSrt(srt);
    expect(cues.map((c) => c.start)).toEqual([0, 2.5, 3723.5]);
  });

  it('writes WebVTT with the header and escaped cue text', () => {
    const vtt = toVtt(segments);
    expect(vtt.startsWith('WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n')).toBe(true);
    const cues = parseVtt(vtt); // throws if a cue's text holds "-->"
    expect(cues).toHaveLength(3);
    expect(cues[2]?.text.replace(/\n/g, ' ')).toBe('Call &lt;me&gt; back &amp; soon --&gt; please.');
    expect(toVtt([])).toBe('WEBVTT\n');
  });

  it('wraps long cue text into lines of about 42 characters', () => {
    const lines = wrap('word '.repeat(30));
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(42);
    expect(wrap('x'.repeat(60))).toEqual(['x'.repeat(60)]);
  });
});

describe('chunk planning', () => {
  const opts = { maxSeconds: 600, overlapSeconds: 1 };

  it('keeps short audio whole', () => {
    expect(planChunks(599, [], opts)).toEqual([
      { index: 0, start: 0, end: 599, audioStart: 0, audioEnd: 599 },
    ]);
  });

  it('cuts at the middle of the longest silence near the end of each window', () => {
    const silences = [
      { start: 300, end: 310 }, // long but early (first half of the window): not chosen while later ones exist
      { start: 500, end: 500.5 },
      { start: 540, end: 542 }, // the longest in the last quarter → cut at 541
      { start: 590, end: 590.4 },
      { start: 1100, end: 1101 },
    ];
    const plan = planChunks(1500, silences, opts);
    expect(plan.map((c) => c.start)).toEqual([0, 541, 1100.5]);
    expect(plan.at(-1)?.end).toBe(1500);
    expect(plan[1]).toMatchObject({ audioStart: 540, audioEnd: 1101.5 });
  });

  it('falls back to the last half of the window, then to a hard cut', () => {
    const plan = planChunks(1300, [{ start: 350, end: 351 }], opts);
    expect(plan.map((c) => c.start)).toEqual([0, 350.5, 948.5]);
  });

  it('covers the timeline without gaps; each chunk (with overlap) fits the limit', () => {
    const silences = Array.from({ length: 700 }, (_, i) => ({ start: i * 5.17 + 4, end: i * 5.17 + 4.6 }));
    const plan = planChunks(3600, silences, opts);
    expect(plan.length).toBeGreaterThanOrEqual(6);
    expect(plan[0]?.start).toBe(0);
    expect(plan.at(-1)?.end).toBe(3600);
    for (const [i, c] of plan.entries()) {
      if (i > 0) expect(c.start).toBe(plan[i - 1]?.end);
      expect(c.audioEnd - c.audioStart).toBeLessThanOrEqual(600);
      expect(c.audioStart).toBeLessThanOrEqual(c.start);
      expect(c.audioEnd).toBeGreaterThanOrEqual(c.end);
      expect(c.audioStart).toBeGreaterThanOrEqual(0);
      expect(c.audioEnd).toBeLessThanOrEqual(3600);
    }
  });

  it('reads silencedetect output line by line, closing a silence open at the end', () => {
    const p = new SilenceParser();
    for (const line of [
      '[silencedetect @ 0x55] silence_start: 1.5',
      'size=  10kB time=00:00:05.00 bitrate=  1kbits/s',
      '[silencedetect @ 0x55] silence_end: 2.25 | silence_duration: 0.75',
      '[silencedetect @ 0x55] silence_start: -0.01',
      '[silencedetect @ 0x55] silence_end: 0.5 | silence_duration: 0.51',
      '[silencedetect @ 0x55] silence_start: 9.5',
    ])
      p.line(line);
    expect(p.finish(10)).toEqual([
      { start: 1.5, end: 2.25 },
      { start: 0, end: 0.5 },
      { start: 9.5, end: 10 },
    ]);
    expect(progressSeconds('size=N/A time=01:00:02.50 bitrate=N/A')).toBe(3602.5);
  });
});

describe('stitching chunk transcripts', () => {
  const plans = [
    { index: 0, start: 0, end: 100, audioStart: 0, audioEnd: 101 },
    { index: 1, start: 100, end: 200, audioStart: 99, audioEnd: 201 },
    { index: 2, start: 200, end: 250, audioStart: 199, audioEnd: 250 },
  ];

  it('shifts segment times onto one timeline and keeps overlap duplicates once', () => {
    const doc = stitch(
      plans,
      [
        {
          text: 'a b',
          language: 'en',
          duration: 101,
          segments: [
            { start: 0, end: 50, text: 'First.' },
            { start: 98, end: 100.8, text: 'Seam word.' }, // midpoint 99.4: chunk 0 owns it
          ],
        },
        {
          text: '',
          language: 'en',
          duration: 102,
          segments: [
            { start: 0, end: 1.8, text: 'word.' }, // = 99 … 100.8, midpoint 99.9: a duplicate, dropped
            { start: 2, end: 60, text: 'Second.' },
            { start: 100, end: 102, text: 'Across.' }, // = 199 … 201, midpoint 200: chunk 2 owns it → dropped here
          ],
        },
        {
          text: '',
          language: 'de',
          duration: 51,
          segments: [
            { start: 0, end: 2, text: 'Across.' },
            { start: 10, end: 51, text: 'Last.' },
          ],
        },
      ],
      250,
    );
    expect(doc.segments.map((s) => s.text)).toEqual(['First.', 'Seam word.', 'Second.', 'Across.', 'Last.']);
    expect(doc.segments.map((s) => s.start)).toEqual([0, 98, 101, 199, 209]);
    expect(doc.text).toBe('First. Seam word. Second. Across. Last.');
    expect(doc.language).toBe('en');
    expect(doc.duration).toBe(250);
    for (const [i, s] of doc.segments.entries()) {
      expect(s.end).toBeGreaterThanOrEqual(s.start);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(doc.segments[i - 1]?.end ?? 0);
    }
  });

  it('joins text-only chunks, dropping words repeated across a seam, one segment per owned span', () => {
    const doc = stitch(
      plans,
      [
        { text: 'Hello this is Maria Lopez calling', language: null, duration: null, segments: [] },
        { text: 'Lopez calling about the appointment.', language: null, duration: null, segments: [] },
        { text: 'Call me back.', language: null, duration: null, segments: [] },
      ],
      250,
    );
    expect(doc.text).toBe('Hello this is Maria Lopez calling about the appointment. Call me back.');
    expect(doc.segments).toEqual([
      { start: 0, end: 100, text: 'Hello this is Maria Lopez calling' },
      { start: 100, end: 200, text: 'about the appointment.' },
      { start: 200, end: 250, text: 'Call me back.' },
    ]);
  });

  it('drops seam duplicates only when they are real repeats', () => {
    expect(dropSeamDuplicate('please call me', 'Call me back')).toBe('back');
    expect(dropSeamDuplicate('see you at the', 'the office')).toBe('the office'); // one short word: kept
    expect(dropSeamDuplicate('it is urgent', 'Urgent, really')).toBe('really');
    expect(dropSeamDuplicate('', 'anything')).toBe('anything');
  });

  it('gives a whole-file answer without timestamps one segment over the known duration', () => {
    expect(toDoc({ text: ' hi ', language: null, duration: null, segments: [] }, 12.3456)).toEqual({
      text: 'hi',
      language: null,
      duration: 12.346,
      segments: [{ start: 0, end: 12.346, text: 'hi' }],
    });
    expect(toDoc({ text: 'hi', language: null, duration: null, segments: [] }, null).segments).toEqual([]);
  });

  it('stitches word times across chunks: shifted by the chunk offset, overlap heard once, never backwards', () => {
    const plans = [
      { index: 0, start: 0, end: 10, audioStart: 0, audioEnd: 11 },
      { index: 1, start: 10, end: 20, audioStart: 9, audioEnd: 20 },
    ];
    const parts = [
      {
        text: 'one two three',
        language: 'en',
        duration: 11,
        segments: [{ start: 1, end: 10.6, text: 'one two three' }],
        words: [
          { word: 'one', start: 1, end: 1.5 },
          { word: 'two', start: 5, end: 5.5 },
          { word: 'three', start: 10.2, end: 10.6 }, // in the overlap: the second chunk owns it
        ],
      },
      {
        text: 'three four',
        language: 'en',
        duration: 11,
        segments: [{ start: 1.2, end: 6, text: 'three four' }],
        words: [
          { word: 'three', start: 1.2, end: 1.6 },
          { word: 'four', start: 5, end: 6 },
        ],
      },
    ];
    const doc = stitch(plans, parts, 20);
    expect(doc.words).toEqual([
      { word: 'one', start: 1, end: 1.5 },
      { word: 'two', start: 5, end: 5.5 },
      { word: 'three', start: 10.2, end: 10.6 },
      { word: 'four', start: 14, end: 15 },
    ]);
  });

  it('matches a chunk’s speaker labels to the previous chunk’s by overlap, else keeps them', () => {
    const previous = [
      { start: 0, end: 5, text: 'a', speaker: 'A' },
      { start: 9, end: 10.5, text: 'b', speaker: 'B' },
    ];
    // the next request saw the caller first, so called them A
    const next = [
      { start: 9.2, end: 10.4, text: 'b', speaker: 'A' },
      { start: 11, end: 14, text: 'c', speaker: 'B' },
    ];
    expect(matchSpeakers(previous, next)).toEqual(
      new Map([
        ['A', 'B'],
        ['B', 'A'],
      ]),
    );
    expect(matchSpeakers(previous, [{ start: 20, end: 21, text: 'x', speaker: 'A' }])).toEqual(
      new Map([['A', 'A']]),
    );
  });
});

describe('voicemail pipeline and summary schema', () => {
  it('runs transcribe → summarize for audio, summarize alone for text', () => {
    expect(firstStage('voicemail', 'audio')).toBe('transcribe');
    expect(nextStage('voicemail', 'transcribe')).toBe('summarize');
    expect(nextStage('voicemail', 'summarize')).toBeUndefined();
    expect(firstStage('voicemail', 'text')).toBe('summarize');
    expect(acceptsInput('voicemail', 'audio')).toBe(true);
  });

  it('sends a strict JSON Schema: every property required, no others, nullable name and number', () => {
    const schema = summaryJsonSchema() as {
      properties: Record<string, { type?: unknown; enum?: unknown; anyOf?: Array<{ type: string }> }>;
      required: string[];
      additionalProperties: boolean;
      $schema?: string;
    };
    expect(schema.$schema).toBeUndefined();
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required.sort()).toEqual(Object.keys(schema.properties).sort());
    for (const name of ['caller_name', 'callback_number']) {
      const p = schema.properties[name];
      expect(p?.type ?? p?.anyOf?.map((a) => a.type)).toEqual(['string', 'null']);
    }
    expect(JSON.stringify(schema)).not.toMatch(/minLength|\$ref/);
    expect(schema.properties.urgency?.enum).toEqual(['low', 'normal', 'high']);
  });

  it('accepts a valid answer and refuses anything else as invalid_summary', () => {
    const good = {
      summary: 'Maria Lopez asks for a call back.',
      caller_name: 'Maria Lopez',
      callback_number: '555-013-2447',
      urgency: 'normal',
      intent: 'callback request',
      action_items: ['Call back 555-013-2447'],
    };
    expect(parseSummary(JSON.stringify(good))).toEqual(voicemailSummarySchema.parse(good));
    for (const bad of [
      'not json',
      JSON.stringify({ ...good, urgency: 'urgent' }),
      JSON.stringify({ summary: 'x' }),
    ]) {
      expect(() => parseSummary(bad)).toThrow(expect.objectContaining({ code: 'invalid_summary' }));
    }
    expect(() => parseSummary(null, 'I cannot help')).toThrow(
      expect.objectContaining({ code: 'invalid_summary' }),
    );
  });
});

describe('languages and formats', () => {
  it('validates ISO-639-1 codes and maps provider language names back to codes', () => {
    expect(isLanguageCode('en')).toBe(true);
    expect(isLanguageCode('de')).toBe(true);
    for (const bad of ['xx', 'eng', 'EN', 'e', 'iw']) expect(isLanguageCode(bad)).toBe(false);
    expect(toLanguageCode('english')).toBe('en');
    expect(toLanguageCode('German')).toBe('de');
    expect(toLanguageCode('fr')).toBe('fr');
    expect(toLanguageCode('klingon')).toBe('klingon');
    expect(toLanguageCode('')).toBeNull();
  });

  it('sends formats the provider takes as they are and transcodes the rest', () => {
    expect(providerExtension('audio/webm')).toBe('webm');
    expect(providerExtension('audio/wav')).toBe('wav');
    expect(providerExtension('audio/mp4')).toBe('m4a');
    expect(providerExtension('audio/amr')).toBeUndefined();
    expect(providerExtension('audio/aac')).toBeUndefined();
    expect(providerExtension('video/webm')).toBeUndefined();
  });

  it('knows a WAV under each of its names and nothing else as one', () => {
    for (const wav of ['audio/wav', 'audio/vnd.wave', 'audio/x-wav']) expect(isWavType(wav)).toBe(true);
    for (const other of ['audio/mpeg', 'audio/webm', 'application/octet-stream', null])
      expect(isWavType(other)).toBe(false);
  });
});
