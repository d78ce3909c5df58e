/**
 * Request parts several operations share in the OpenAPI document: the job id parameter, the
 * Idempotency-Key header, and a job submission's bodies (JSON, multipart with an audio file, a urlencoded
 * form) — for POST /v1/jobs, POST /v1/batches and the original /api/voicebot contract.
 */
import { z } from 'zod';
import type { Config } from '../shared/config.ts';
import { PIPELINE_NAMES } from '../shared/pipelines.ts';
import { createJobSchema } from './job-schemas.ts';
import type { ErrorStatus } from './openapi-responses.ts';

export const jobIdParams = z.object({ id: z.uuid().describe('The job id') });

export const idempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('Same key and client within 24 h → the original answer (a different body → 409)'),
});

/** Multipart fields of a job: the options travel as strings (metadata as a JSON string). */
export const multipartOptions = {
  pipeline: z.enum(PIPELINE_NAMES).optional(),
  voice: z.string().optional(),
  instructions: z.string().optional(),
  metadata: z.string().optional().describe('A JSON object, as text'),
  conversation_id: z.string().optional(),
  language: z.string().optional(),
  webhook_url: z.url().optional(),
};

export const audioFile = z
  .string()
  .meta({ format: 'binary', description: 'The audio file (its type is read from the bytes)' });

/** One job's submission: JSON, multipart (an audio file or text) or a urlencoded form; Idempotency-Key. */
export const jobSubmission = (config: Config) => ({
  body: {
    required: true,
    content: {
      'application/json': { schema: createJobSchema(config.limits.textChars) },
      'multipart/form-data': {
        schema: z.object({ audio: audioFile.optional(), text: z.string().optional(), ...multipartOptions }),
      },
      'application/x-www-form-urlencoded': {
        schema: z.object({ text: z.string(), ...multipartOptions }),
      },
    },
  },
  headers: idempotencyHeader,
});

/** What a submission can be refused with, besides the client guard's statuses. */
export const SUBMIT_ERRORS: ErrorStatus[] = [409, 413, 415, 422];
