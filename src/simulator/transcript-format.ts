/** Renders a transcript in each of the transcription API's response formats. */
import { labelSpeakers, labelWithReferences } from './diarize.ts';
import type { Transcript } from './transcribe.ts';

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

const LANGUAGES: Record<string, string> = {
  en: 'english',
  de: 'german',
  fr: 'french',
  es: 'spanish',
  it: 'italian',
  nl: 'dutch',
  pt: 'portuguese',
  pl: 'polish',
  sv: 'swedish',
  ja: 'japanese',
  zh: 'chinese',
};

export interface Rendered {
  body: string;
  contentType: string;
}

export interface RenderOptions {
  format: ResponseFormat;
  /** ISO-639-1 code the client passed, if any. */
  language: string | undefined;
  granularities: string[];
  /** diarized_json: `known_speaker_names[]` with the pitch of each `known_speaker_references[]` clip */
  knownSpeakers?: Array<{ name: string; pitch: number }>;
  /** Usage as the model reports it (duration for whisper-1, tokens for the gpt-4o models). */
  usage: Record<string, unknown>;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export function render(t: Transcript, o: RenderOptions): Rendered {
  switch (o.format) {
    case 'text':
      return { body: `${t.text}\n`, contentType: 'text/plain; charset=utf-8' };
    case 'srt':
      return { body: cues(t, ',', true), contentType: 'text/plain; charset=utf-8' };
    case 'vtt':
      return { body: `WEBVTT\n\n${cues(t, '.', false)}`, contentType: 'text/plain; charset=utf-8' };
    case 'verbose_json':
      return json(verbose(t, o));
    case 'diarized_json':
      return json(diarized(t, o));
    default:
      return json({ text: t.text, usage: o.usage });
  }
}

const json = (value: unknown): Rendered => ({ body: JSON.stringify(value), contentType: 'application/json' });

function verbose(t: Transcript, o: RenderOptions): Record<string, unknown> {
  const wantWords = o.granularities.includes('word');
  const wantSegments = o.granularities.length === 0 || o.granularities.includes('segment');
  const body: Record<string, unknown> = {
    task: 'transcribe',
    language: (o.language && LANGUAGES[o.language]) ?? o.language ?? 'english',
    duration: round(t.duration),
    text: t.text,
  };
  if (wantWords)
    body.words = t.words.map((w) => ({ word: w.word, start: round(w.start), end: round(w.end) }));
  if (wantSegments) {
    body.segments = t.segments.map((s, id) => ({
      id,
      seek: 0,
      start: round(s.start),
      end: round(s.end),
      text: ` ${s.text}`,
      tokens: [],
      temperature: 0,
      avg_logprob: -0.3,
      compression_ratio: 1.2,
      no_speech_prob: 0.01,
    }));
  }
  body.usage = o.usage;
  return body;
}

/** The diarize model's shape: segments with a speaker label each (no words, no language). */
function diarized(t: Transcript, o: RenderOptions): Record<string, unknown> {
  const pitches = t.pitches ?? t.segments.map(() => Number.NaN);
  const speakers = o.knownSpeakers?.length
    ? labelWithReferences(pitches, o.knownSpeakers)
    : labelSpeakers(pitches);
  return {
    task: 'transcribe',
    duration: round(t.duration),
    text: t.text,
    segments: t.segments.map((s, i) => ({
      type: 'transcript.text.segment',
      id: `seg_${i}`,
      start: round(s.start),
      end: round(s.end),
      text: s.text,
      speaker: speakers[i] ?? 'A',
    })),
    usage: o.usage,
  };
}

function cues(t: Transcript, decimal: string, numbered: boolean): string {
  return t.segments
    .map((s, i) => {
      const head = numbered ? `${i + 1}\n` : '';
      return `${head}${stamp(s.start, decimal)} --> ${stamp(s.end, decimal)}\n${s.text}\n`;
    })
    .join('\n');
}

/** 3723.5 → "01:02:03,500" (srt) or "01:02:03.500" (vtt). */
export function stamp(seconds: number, decimal: string): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${pad(h)}:${pad(m)}:${pad(s)}${decimal}${pad(ms % 1000, 3)}`;
}
