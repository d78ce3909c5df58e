/**
 * Transcript options a job may carry (word times, speakers, channels, redaction, vocabulary) and the job
 * fields they produce. The API validates them (src/api/job-schemas.ts), the record keeps the normalised
 * form (`transcript_options`), the transcribe stage acts on it (src/worker/transcription/).
 */
import { z } from 'zod';

export const REDACT_TYPES = [
  'phone_number',
  'email',
  'credit_card',
  'ssn',
  'date_of_birth',
  'person_name',
  'address',
] as const;
export type RedactType = (typeof REDACT_TYPES)[number];

export const MAX_KEYTERMS = 100;
export const MAX_KEYTERM_CHARS = 60;

/** What the record keeps: every option resolved (`redact: true` → every type; client keyterms merged). */
export const transcriptOptionsSchema = z.object({
  word_timestamps: z.boolean(),
  diarize: z.boolean(),
  known_speakers: z.array(z.string()),
  channels: z.enum(['mixed', 'split']),
  channel_labels: z.array(z.string()),
  redact: z.array(z.enum(REDACT_TYPES)),
  redact_audio: z.boolean(),
  keyterms: z.array(z.string()),
});
export type TranscriptOptions = z.infer<typeof transcriptOptionsSchema>;

export const DEFAULT_TRANSCRIPT_OPTIONS: TranscriptOptions = {
  word_timestamps: false,
  diarize: false,
  known_speakers: [],
  channels: 'mixed',
  channel_labels: [],
  redact: [],
  redact_audio: false,
  keyterms: [],
};

/** A speaker of the transcript and how long they talk (seconds, from segment times). */
export const speakerSchema = z.object({ label: z.string(), talk_seconds: z.number() });
export type Speaker = z.infer<typeof speakerSchema>;

/**
 * Where something was redacted: its type and its span on the recording (never the value). `located`: how
 * the span was found — on the words that hold the value, the segment(s) it is in (no word times, or the
 * words could not place it), or the whole recording (nothing could place it).
 */
export const redactionSchema = z.object({
  type: z.enum(REDACT_TYPES),
  start: z.number().nullable(),
  end: z.number().nullable(),
  located: z.enum(['words', 'segment', 'recording']).optional(),
});
export type Redaction = z.infer<typeof redactionSchema>;

/**
 * Why a job was transcribed with the model it was: the configured `TRANSCRIBE_MODEL`, the diarization model
 * (`diarize`), or the word-times model because the job asked for word times or needs them (`redact_audio`).
 */
export const MODEL_REASONS = ['configured', 'diarize', 'word_timestamps', 'redact_audio'] as const;
export const transcriptionModelSchema = z.object({
  model: z.string(),
  reason: z.enum(MODEL_REASONS),
});
export type TranscriptionModel = z.infer<typeof transcriptionModelSchema>;

/** `[PHONE_NUMBER]`: what stands in every stored text where a value was redacted. */
export const placeholder = (type: RedactType) => `[${type.toUpperCase()}]`;

/** Multipart sends every field as a string: "true"/"false" → booleans. */
const boolField = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** A list as a JSON array, or (multipart, CLI) a JSON array string or a comma-separated string. */
const listField = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        return JSON.parse(s);
      } catch {
        return v;
      }
    }
    return s === '' ? [] : s.split(',').map((x) => x.trim());
  }, z.array(item));

const label = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(/^[^<>\n\r:]+$/, 'labels may not contain <, >, : or line breaks');

/** The options' request shape (added to the job and batch body schemas). */
export const transcriptOptionsShape = {
  /** `transcript.json` gains `words: [{start, end, word, speaker?, channel?}]` */
  word_timestamps: boolField
    .optional()
    .describe(
      'transcript.json gains words [{start, end, word, speaker?, channel?}] (transcribed with TRANSCRIBE_TIMESTAMPS_MODEL when TRANSCRIBE_MODEL gives none)',
    ),
  /** speaker labels on segments (and words) */
  diarize: boolField
    .optional()
    .describe('Speaker labels on segments, `speakers` on the job (the diarization model; takes no keyterms)'),
  /** names given to the speakers in order of first appearance (diarize) */
  known_speakers: listField(label)
    .pipe(z.array(label).min(1).max(8))
    .optional()
    .describe('With diarize: names for the speakers in order of first appearance'),
  /** `split`: a stereo recording's channels are transcribed on their own and merged */
  channels: z
    .enum(['mixed', 'split'], { error: 'channels must be "mixed" or "split"' })
    .optional()
    .describe('split: each channel of a stereo recording transcribed on its own, merged in time order'),
  channel_labels: listField(label)
    .pipe(z.array(label).min(1).max(8))
    .optional()
    .describe('With channels: split: the labels of channel 0, 1 (e.g. ["agent", "caller"])'),
  /** types to redact, or `true` for every type */
  redact: z
    .preprocess(
      (v) => (v === 'true' ? true : v === 'false' ? false : v),
      z.union([
        z.boolean(),
        listField(z.enum(REDACT_TYPES, { error: `redact takes ${REDACT_TYPES.join(', ')} or true` })),
      ]),
    )
    .optional()
    .describe(
      'Types of personal data to replace with placeholders before anything is stored, or true for all',
    ),
  redact_audio: boolField
    .optional()
    .describe(
      'With redact: a copy of the audio with redacted spans silenced (redacted_audio); the input is deleted',
    ),
  keyterms: listField(z.string().trim().min(1).max(MAX_KEYTERM_CHARS))
    .pipe(z.array(z.string()).max(MAX_KEYTERMS, `keyterms holds at most ${MAX_KEYTERMS} terms`))
    .optional()
    .describe('Vocabulary for the transcription model (its prompt), merged after the client’s defaults'),
};

type OptionsInput = {
  [K in keyof typeof transcriptOptionsShape]?: z.infer<(typeof transcriptOptionsShape)[K]>;
};

/** Problems with how the options combine (each one a sentence), empty when they are fine. */
export function optionProblems(o: OptionsInput, input: 'audio' | 'text'): string[] {
  const problems: string[] = [];
  const redact = o.redact === true ? REDACT_TYPES.length : (o.redact || []).length;
  if (o.redact_audio && redact === 0) problems.push('redact_audio needs redact (a list of types, or true).');
  if (o.channel_labels && o.channels !== 'split') problems.push('channel_labels needs channels: "split".');
  if (o.known_speakers && !o.diarize) problems.push('known_speakers needs diarize: true.');
  if (o.diarize && o.channels === 'split')
    problems.push('diarize and channels: "split" do not combine: with split, each channel is one speaker.');
  if (input === 'text') {
    const audioOnly = Object.entries(o)
      .filter(([, v]) => v !== undefined && v !== false)
      .map(([k]) => k);
    if (audioOnly.length > 0) problems.push(`${audioOnly.join(', ')}: only for audio input.`);
  }
  return problems;
}

/** The options as the record keeps them, or null when the job asked for none of them. */
export function normaliseOptions(o: OptionsInput, clientKeyterms: string[] = []): TranscriptOptions | null {
  const keyterms = [...new Set([...clientKeyterms, ...(o.keyterms ?? [])])].slice(0, MAX_KEYTERMS);
  const asked = Object.values(o).some((v) => v !== undefined) || keyterms.length > 0;
  if (!asked) return null;
  return {
    word_timestamps: o.word_timestamps ?? false,
    diarize: o.diarize ?? false,
    known_speakers: o.known_speakers ?? [],
    channels: o.channels ?? 'mixed',
    channel_labels: o.channel_labels ?? [],
    redact: o.redact === true ? [...REDACT_TYPES] : o.redact || [],
    redact_audio: o.redact_audio ?? false,
    keyterms,
  };
}

/** Picks the transcript options out of a parsed job body. */
export function pickOptions(body: Record<string, unknown>): OptionsInput {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(transcriptOptionsShape)) if (body[k] !== undefined) out[k] = body[k];
  return out as OptionsInput;
}
