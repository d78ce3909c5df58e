/** The transcript document a transcription produces (`transcript.json`), and the pieces it is built from. */
import { z } from 'zod';
import { redactionSchema } from '../../shared/transcript-options.ts';

export const segmentSchema = z.object({
  start: z.number().min(0),
  end: z.number().min(0),
  text: z.string(),
  /** diarize: the speaker's label; channels split: the channel's label */
  speaker: z.string().optional(),
  /** channels split: 0 (left) or 1 (right) */
  channel: z.number().int().optional(),
});
export type Segment = z.infer<typeof segmentSchema>;

export const wordSchema = z.object({
  start: z.number().min(0),
  end: z.number().min(0),
  word: z.string(),
  speaker: z.string().optional(),
  channel: z.number().int().optional(),
});
export type Word = z.infer<typeof wordSchema>;

/** `transcript.json`: times in seconds from the start of the input audio. */
export const transcriptDocSchema = z.object({
  text: z.string(),
  /** ISO-639-1 when known (detected by the provider, or the job's hint) */
  language: z.string().nullable(),
  /** seconds of input audio, when known */
  duration: z.number().nullable(),
  segments: z.array(segmentSchema),
  /** word_timestamps: every word with its time, on the same timeline as the segments */
  words: z.array(wordSchema).optional(),
  /** redact: what was redacted where (the values never are in this document) */
  redactions: z.array(redactionSchema).optional(),
  /** the input held no speech: nothing was sent to the provider */
  no_speech: z.boolean().optional(),
});
export type TranscriptDoc = z.infer<typeof transcriptDocSchema>;

/** One provider answer (a whole input or one chunk): times relative to the audio that was sent. */
export interface PartialTranscript {
  text: string;
  language: string | null;
  duration: number | null;
  /** empty when the model gives no timestamps (the gpt-4o transcribe models) */
  segments: Segment[];
  /** when word times were asked for and the model gives them */
  words?: Word[];
}

export const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * A provider answer as a document: without timestamps, one segment spans the known duration (or none
 * when the duration is unknown too).
 */
export function toDoc(t: PartialTranscript, duration: number | null): TranscriptDoc {
  const total = duration ?? t.duration;
  const text = t.text.trim();
  let segments: Segment[] = t.segments
    .map((s) => ({ ...s, start: round3(s.start), end: round3(s.end), text: s.text.trim() }))
    .filter((s) => s.text !== '');
  if (segments.length === 0 && text !== '' && total !== null && total > 0)
    segments = [{ start: 0, end: round3(total), text }];
  const doc: TranscriptDoc = {
    text,
    language: t.language,
    duration: total === null ? null : round3(total),
    segments,
  };
  if (t.words) doc.words = t.words.map((w) => ({ ...w, start: round3(w.start), end: round3(w.end) }));
  return doc;
}
