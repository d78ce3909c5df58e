/**
 * The job record: one Redis hash per job holding its status and small fields (never audio, never secrets).
 * BullMQ jobs on the stage queues carry only the job id; this record is what clients see.
 */
import { z } from 'zod';
import { ARTIFACT_NAMES } from './job-files.ts';
import { JOB_STATUSES } from './job-states.ts';
import { PIPELINE_NAMES, STAGES } from './pipelines.ts';
import { JOB_MODES } from './queue-registry.ts';
import { voicemailSummarySchema } from './summary.ts';
import {
  redactionSchema,
  speakerSchema,
  transcriptionModelSchema,
  transcriptOptionsSchema,
} from './transcript-options.ts';

export const jobErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  stage: z.enum(STAGES).nullable(),
  attempts: z.number().int(),
});
export type JobError = z.infer<typeof jobErrorSchema>;

export const webhookAttemptSchema = z.object({
  at: z.string(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int(),
  error: z.string().nullable(),
});

/** Delivery state of a job's webhook: every attempt is recorded and shown on the job. */
export const webhookStateSchema = z.object({
  event_id: z.string(),
  event_type: z.string(),
  status: z.enum(['pending', 'delivered', 'failed', 'gone']),
  attempts: z.array(webhookAttemptSchema),
});
export type WebhookState = z.infer<typeof webhookStateSchema>;

export const metadataSchema = z.record(z.string(), z.unknown());

export const jobRecordSchema = z.object({
  id: z.string(),
  /** the API client (key) the job belongs to; another client's job answers 404 */
  client_id: z.string(),
  /** the API request that created the job (`X-Request-Id`): logged with the job id by every process */
  req_id: z.string().nullable(),
  /** W3C traceparent of that request's span (tracing on): every process continues the job's trace from it */
  trace_parent: z.string().nullable(),
  batch_id: z.string().nullable(),
  /** `interactive`: its stages go ahead of batch work in every queue (null: batch) */
  mode: z.enum(JOB_MODES).nullable(),
  /** the reply streams: chat streamed, each sentence spoken as it ends, reply.mp3 joined from the pieces */
  stream_reply: z.boolean().nullable(),
  /** times the job was re-opened after it failed or was canceled (POST /v1/jobs/:id/retry); run = retries + 1 */
  retries: z.number().int().nullable(),
  /** BullMQ priority of its stage jobs (fair queuing: the client's n-th job in flight gets n) */
  priority: z.number().int().nullable(),
  status: z.enum(JOB_STATUSES),
  stage: z.enum(STAGES).nullable(),
  pipeline: z.enum(PIPELINE_NAMES),
  input_kind: z.enum(['audio', 'text']),
  input_type: z.string().nullable(),
  input_bytes: z.number().int().nullable(),
  /** audio_url given instead of an upload: fetched into storage by the transcribe worker */
  source_url: z.string().nullable(),
  voice: z.string().nullable(),
  instructions: z.string().nullable(),
  metadata: metadataSchema.nullable(),
  webhook_url: z.string().nullable(),
  webhook: webhookStateSchema.nullable(),
  conversation_id: z.string().nullable(),
  transcript: z.string().nullable(),
  reply_text: z.string().nullable(),
  audio_key: z.string().nullable(),
  /** ISO-639-1 hint the client gave for transcription */
  language_hint: z.string().nullable(),
  /** the transcript's language (ISO-639-1 when known): detected by the provider, else the hint */
  language: z.string().nullable(),
  /** seconds of input audio */
  duration_seconds: z.number().nullable(),
  /** stored outputs shown on the job as presigned URLs (minted on every read) */
  artifacts: z.array(z.enum(ARTIFACT_NAMES)).nullable(),
  /** the voicemail pipeline's structured summary */
  summary: voicemailSummarySchema.nullable(),
  /** word times, speakers, channels, redaction, keyterms asked for (null: none) */
  transcript_options: transcriptOptionsSchema.nullable(),
  /** the model the audio was transcribed with, and why that one (null: not transcribed, or text input) */
  transcription_model: transcriptionModelSchema.nullable(),
  /** what the job could not do as asked (e.g. a model without word times), one sentence each */
  warnings: z.array(z.string()).nullable(),
  /** diarized or split-channel transcripts: each speaker and their talk time */
  speakers: z.array(speakerSchema).nullable(),
  /** what was redacted where (never the values) */
  redactions: z.array(redactionSchema).nullable(),
  /** 'true' once the input was found to hold no speech (no provider call was made) */
  no_speech: z.boolean().nullable(),
  /** when a person marked the voicemail handled (the inbox); null while unhandled */
  handled_at: z.string().nullable(),
  error: jobErrorSchema.nullable(),
  provider: z.enum(['openai', 'simulator']),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: z.string().nullable(),
  deleted_at: z.string().nullable(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

const JSON_FIELDS = new Set([
  'metadata',
  'error',
  'webhook',
  'artifacts',
  'summary',
  'transcript_options',
  'transcription_model',
  'warnings',
  'speakers',
  'redactions',
]);
const BOOLEAN_FIELDS = new Set(['no_speech', 'stream_reply']);
const NUMBER_FIELDS = new Set(['input_bytes', 'priority', 'duration_seconds', 'retries']);

/** Record → Redis hash fields (null fields are simply absent). */
export function toHash(patch: Partial<JobRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined) continue;
    out[k] = JSON_FIELDS.has(k) ? JSON.stringify(v) : String(v);
  }
  return out;
}

const RECORD_FIELDS = Object.keys(jobRecordSchema.shape) as Array<keyof JobRecord>;

/**
 * Redis hash fields → record; absent fields become null. Only this service writes the hash (through the
 * lifecycle module, from validated values), so it is decoded, not re-validated, on every read.
 */
export function fromHash(hash: Record<string, string>): JobRecord {
  const raw: Record<string, unknown> = {};
  for (const key of RECORD_FIELDS) {
    const v = hash[key];
    if (v === undefined) raw[key] = null;
    else if (JSON_FIELDS.has(key)) raw[key] = JSON.parse(v);
    else if (NUMBER_FIELDS.has(key)) raw[key] = Number(v);
    else if (BOOLEAN_FIELDS.has(key)) raw[key] = v === 'true';
    else raw[key] = v;
  }
  return raw as JobRecord;
}

/** The flat `[field, value, …]` reply of HGETALL inside a script → record. */
export function fromHashFields(flat: string[]): JobRecord {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
  return fromHash(hash);
}
