import { z } from 'zod';
import { isLanguageCode } from '../shared/languages.ts';
import { PIPELINE_NAMES } from '../shared/pipelines.ts';
import { JOB_MODES } from '../shared/queue-registry.ts';
import { transcriptOptionsShape } from '../shared/transcript-options.ts';
import { assertJsonDepth } from './json-body.ts';

const MAX_METADATA_BYTES = 16 * 1024;

/** `metadata` arrives as an object (JSON) or as a JSON string (multipart): either way an object, ≤ 16 KB. */
export const metadataSchema = z
  .preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      assertJsonDepth(v, 'metadata');
      try {
        return JSON.parse(v);
      } catch {
        return Symbol.for('invalid-json');
      }
    },
    z.record(z.string(), z.unknown(), { error: 'metadata must be a JSON object' }),
  )
  .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES, {
    message: `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`,
  });

/** Options every job may carry, whatever its input. Unknown fields are refused, not ignored. */
export const jobOptionsShape = {
  pipeline: z.enum(PIPELINE_NAMES).default('voicebot'),
  voice: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'voice must be a voice name like "nova"')
    .optional(),
  instructions: z.string().trim().min(1).max(4000).optional(),
  metadata: metadataSchema.optional(),
  conversation_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'conversation_id must be 1-64 letters, digits, _ or -')
    .optional(),
  /** the spoken language as an ISO-639-1 code: a hint for transcription */
  language: z
    .string()
    .refine(isLanguageCode, 'language must be an ISO-639-1 code such as "en" or "de"')
    .optional(),
  webhook_url: z
    .url({ protocol: /^https?$/, error: 'webhook_url must be an http(s) URL' })
    .max(2048)
    .optional(),
  ...transcriptOptionsShape,
};

/** Audio fetched by a worker from a URL (http/https, public addresses only). */
export const audioUrlSchema = z
  .url({ protocol: /^https?$/, error: 'audio_url must be an http(s) URL' })
  .max(2048);

const jobSchemas = new Map<number, ReturnType<typeof buildJobSchema>>();

/** The POST /v1/jobs body schema for a text limit, built once (zod compiles each new schema). */
export function createJobSchema(maxTextChars: number) {
  const schema = jobSchemas.get(maxTextChars) ?? buildJobSchema(maxTextChars);
  jobSchemas.set(maxTextChars, schema);
  return schema;
}

function buildJobSchema(maxTextChars: number) {
  return z.strictObject({
    text: z.string().trim().min(1, 'text must not be empty').max(maxTextChars).optional(),
    audio_url: audioUrlSchema.optional(),
    /**
     * `interactive`: a person is waiting for this job (a talk turn): its stages go ahead of batch work in every
     * queue. `batch` (the default): queued in order, with the client's fair-queuing rank. Not for batches.
     */
    mode: z.enum(JOB_MODES).optional(),
    /**
     * Stream the reply (voicebot pipeline): `reply.delta` events carry its words as the model writes them, and
     * each sentence is spoken as soon as it ends (`speech.segment` events with a link). Default: on for
     * interactive jobs.
     */
    stream_reply: z
      .preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean())
      .optional(),
    ...jobOptionsShape,
  });
}
export type CreateJobBody = z.infer<ReturnType<typeof createJobSchema>>;

/** Job ids are UUIDs; anything else cannot name a job. */
export const jobIdSchema = z.uuid();
