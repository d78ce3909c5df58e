/**
 * Zod schemas of what the API answers — the job view, the batch view, a list page, problem+json — for the
 * OpenAPI document (src/api/openapi.ts). `jobView()` and `batchView()` build the values; the type checks at
 * the end of this file fail to compile when a view and its schema drift apart, and the OpenAPI test
 * validates real responses against the generated document.
 */
import { z } from 'zod';
import type { batchView } from './batch-view.ts';
import { ARTIFACT_NAMES } from './job-files.ts';
import { jobErrorSchema, webhookStateSchema } from './job-record.ts';
import { JOB_STATUSES } from './job-states.ts';
import type { JobView } from './job-view.ts';
import { PIPELINE_NAMES, STAGES } from './pipelines.ts';
import { voicemailSummarySchema } from './summary.ts';
import {
  redactionSchema,
  speakerSchema,
  transcriptionModelSchema,
  transcriptOptionsSchema,
} from './transcript-options.ts';

const timestamp = z.iso.datetime();
const metadata = z
  .record(z.string(), z.unknown())
  .describe('The JSON object given at submission, echoed back');

/** `schema | null` as `anyOf: [{$ref}, {type: null}]` (`.nullable()` on a named schema loses the null). */
const orNull = <T extends z.ZodType>(schema: T) => z.union([schema, z.null()]);

export const jobErrorView = jobErrorSchema.extend({}).meta({ id: 'JobError' });

export const jobViewSchema = z
  .strictObject({
    id: z.uuid(),
    object: z.literal('job'),
    status: z.enum(JOB_STATUSES),
    stage: z.enum(STAGES).nullable().describe('The stage running or next to run; the last one once ended'),
    pipeline: z.enum(PIPELINE_NAMES),
    created_at: timestamp,
    updated_at: timestamp,
    finished_at: timestamp.nullable().describe('When the job ended (its last run, once retried)'),
    attempt: z
      .number()
      .int()
      .min(1)
      .describe('The run: 1, then one more each time the job is retried (POST /v1/jobs/{id}/retry)'),
    retries: z
      .number()
      .int()
      .min(0)
      .describe('How many times the job was retried after failing or being canceled'),
    input: z.strictObject({
      kind: z.enum(['audio', 'text']),
      type: z.string().nullable().describe('Detected audio type (from the bytes)'),
      bytes: z.number().int().nullable(),
      url: z.url().nullable().describe('The uploaded audio: a presigned URL minted on every read'),
    }),
    transcript: z.string().nullable(),
    reply_text: z.string().nullable(),
    language: z.string().nullable().describe('The transcript language (ISO-639-1), detected or the hint'),
    language_hint: z.string().nullable(),
    duration_seconds: z.number().nullable().describe('Seconds of input audio'),
    summary: voicemailSummarySchema.nullable().describe('The voicemail pipeline’s structured summary'),
    transcript_options: transcriptOptionsSchema
      .nullable()
      .describe('Word times, speakers, channels, redaction and keyterms as resolved for this job'),
    transcription_model: transcriptionModelSchema
      .nullable()
      .describe(
        'The model the audio was transcribed with and why: configured (TRANSCRIBE_MODEL), diarize, or word_timestamps / redact_audio (TRANSCRIBE_TIMESTAMPS_MODEL, when TRANSCRIBE_MODEL gives no word times)',
      ),
    warnings: z.array(z.string()).describe('What the job could not do as asked, one sentence each'),
    speakers: z
      .array(speakerSchema)
      .nullable()
      .describe('Diarized or split-channel transcripts: each speaker and their talk time'),
    redactions: z
      .array(redactionSchema)
      .nullable()
      .describe('What was redacted, with times where words are known; never the values'),
    no_speech: z.boolean().describe('The input held no speech: no transcription was paid for'),
    handled: z.boolean().describe('Marked handled by a person (PATCH /v1/jobs/{id})'),
    handled_at: timestamp.nullable(),
    audio_url: z.url().nullable().describe('The spoken reply: a presigned URL minted on every read'),
    audio_url_expires_at: timestamp.nullable(),
    artifacts: z
      .strictObject(Object.fromEntries(ARTIFACT_NAMES.map((name) => [name, z.url().optional()])))
      .nullable()
      .describe('Presigned URLs of stored outputs (transcript txt/json/srt/vtt, summary json)'),
    artifacts_expires_at: timestamp.nullable(),
    error: orNull(jobErrorView),
    metadata: metadata.nullable(),
    voice: z.string().nullable(),
    webhook_url: z.url().nullable(),
    webhook: webhookStateSchema.nullable().describe('Delivery state of the job’s webhook, every attempt'),
    conversation_id: z.string().nullable(),
    batch_id: z
      .string()
      .nullable()
      .describe('The batch the job was submitted in (`POST /v1/batches`), if any'),
    provider: z.enum(['openai', 'simulator']),
    deleted_at: timestamp.nullable().describe('Set once the job’s stored files were deleted'),
    links: z.strictObject({ self: z.string(), events: z.string() }),
  })
  .meta({ id: 'Job', description: 'A job as clients see it' });

export const jobListSchema = z
  .strictObject({
    object: z.literal('list'),
    data: z.array(jobViewSchema),
    next_cursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
  })
  .meta({ id: 'JobList', description: 'One page of jobs, newest first (a batch’s in item order)' });

export const batchViewSchema = z
  .strictObject({
    id: z.uuid(),
    object: z.literal('batch'),
    status: z.enum(['running', 'completed']),
    total: z.number().int(),
    counts: z.strictObject(
      Object.fromEntries(JOB_STATUSES.map((s) => [s, z.number().int()])) as Record<
        (typeof JOB_STATUSES)[number],
        z.ZodNumber
      >,
    ),
    created_at: timestamp,
    completed_at: timestamp.nullable(),
    webhook_url: z.url().nullable(),
    metadata: metadata.nullable(),
    items: z.array(z.strictObject({ index: z.number().int(), job: orNull(jobViewSchema) })),
    next_cursor: z.string().nullable(),
    links: z.strictObject({ self: z.string(), jobs: z.string() }),
  })
  .meta({ id: 'Batch', description: 'A batch: counts per status and one page of its items' });

export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Machine-readable reason, e.g. validation_failed, unsupported_media_type'),
    detail: z.string().describe('What went wrong and what to do, for a person'),
    request_id: z.string().optional(),
    errors: z
      .array(z.strictObject({ field: z.string().nullable(), message: z.string() }))
      .optional()
      .describe('validation_failed: every bad field'),
    job_id: z.uuid().optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' });

// Compile-time drift checks: each view must be assignable to its schema's type.
type Assignable<T, U extends T> = U;
export type _JobViewMatches = Assignable<z.infer<typeof jobViewSchema>, JobView>;
export type _BatchViewMatches = Assignable<
  z.infer<typeof batchViewSchema>,
  Awaited<ReturnType<typeof batchView>>
>;
