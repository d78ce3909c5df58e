/**
 * The queue registry: stage names, pipelines, the payload every stage queue carries, and the storage keys
 * each stage reads and writes. API and worker both import this module; nothing else names a queue.
 */
import { z } from 'zod';

export const STAGES = ['transcribe', 'chat', 'speak', 'summarize'] as const;
export type Stage = (typeof STAGES)[number];

/** The delivery queue (webhooks) is not a pipeline stage: it runs after a job ends. */
export const DELIVER_QUEUE = 'deliver';
/** Housekeeping (retention sweeps), driven by a BullMQ job scheduler. */
export const MAINTENANCE_QUEUE = 'maintenance';
/** Chunks of long audio, transcribed in parallel as children of the job's transcribe stage (a BullMQ flow). */
export const CHUNK_QUEUE = 'transcribe-chunk';

export const PIPELINES = {
  /** voice in → transcript → reply → spoken reply (the default) */
  voicebot: ['transcribe', 'chat', 'speak'],
  /** voice in → transcript only */
  transcribe: ['transcribe'],
  /** text in → spoken text */
  speak: ['speak'],
  /** voice in → transcript (timestamps, subtitles) → structured summary; no speech */
  voicemail: ['transcribe', 'summarize'],
} as const satisfies Record<string, readonly Stage[]>;
export type Pipeline = keyof typeof PIPELINES;
export const PIPELINE_NAMES = Object.keys(PIPELINES) as [Pipeline, ...Pipeline[]];

/**
 * How a job is queued at every stage: `batch` in order (with the client's fair-queuing rank), `interactive` (a
 * person waits for it: talk turns) ahead of all batch work — unprioritized and LIFO, so BullMQ takes it before
 * any waiting or prioritized batch job.
 */
export const JOB_MODES = ['batch', 'interactive'] as const;
export type JobMode = (typeof JOB_MODES)[number];

/** BullMQ options that place a stage job of a job in `mode` (the fair rank applies to batch jobs only). */
export const stageQueueOptions = (
  mode: JobMode | null,
  priority: number | null,
): { lifo?: true; priority?: number } =>
  mode === 'interactive' ? { lifo: true } : priority ? { priority } : {};

/** Which stage runs first: text input skips transcription. */
export function firstStage(pipeline: Pipeline, input: 'audio' | 'text'): Stage {
  const stages: readonly Stage[] = PIPELINES[pipeline];
  const first = input === 'text' ? stages.find((s) => s !== 'transcribe') : stages[0];
  if (!first) throw new Error(`pipeline ${pipeline} has no stage for ${input} input`);
  return first;
}

/** The stage after `stage` in `pipeline`, or undefined when the job is done. */
export function nextStage(pipeline: Pipeline, stage: Stage): Stage | undefined {
  const stages: readonly Stage[] = PIPELINES[pipeline];
  const i = stages.indexOf(stage);
  return i >= 0 ? stages[i + 1] : undefined;
}

/** Which input kinds a pipeline accepts. */
export function acceptsInput(pipeline: Pipeline, input: 'audio' | 'text'): boolean {
  const stages: readonly Stage[] = PIPELINES[pipeline];
  return input === 'audio' ? stages[0] === 'transcribe' : stages.some((s) => s !== 'transcribe');
}

/** What a stage queue's job carries: an id, never audio or secrets. Everything else is in the job record. */
export const stagePayloadSchema = z.object({
  jobId: z.uuid(),
  /** times this stage job was sent back because the provider rate limited it (capped: no endless loop) */
  rateLimitWaits: z.number().int().min(0).optional(),
  /** the job's run this stage job belongs to (absent: 1); a retry (POST /v1/jobs/:id/retry) starts run n + 1 */
  run: z.number().int().min(2).optional(),
});
export type StagePayload = z.infer<typeof stagePayloadSchema>;

/**
 * BullMQ job id of one stage of one job's run: deterministic, so a repeated hand-off is ignored by BullMQ. A
 * retried job's later runs get their own ids (`_r<run>`): the earlier run's stage job stays as it ended.
 */
export const stageJobId = (jobId: string, stage: Stage, run = 1) =>
  `${jobId}_${stage}${run > 1 ? `_r${run}` : ''}`;

/** A job's run: 1, then one more per retry. */
export const runOf = (record: { retries: number | null }) => (record.retries ?? 0) + 1;

/** Storage keys of a job: each stage writes its output under a deterministic key (its checkpoint). */
export const keys = {
  prefix: (jobId: string) => `jobs/${jobId}/`,
  input: (jobId: string) => `jobs/${jobId}/input`,
  transcript: (jobId: string) => `jobs/${jobId}/transcript.txt`,
  reply: (jobId: string) => `jobs/${jobId}/reply.txt`,
  speech: (jobId: string, ext: string) => `jobs/${jobId}/reply.${ext}`,
  transcriptJson: (jobId: string) => `jobs/${jobId}/transcript.json`,
  transcriptSrt: (jobId: string) => `jobs/${jobId}/transcript.srt`,
  transcriptVtt: (jobId: string) => `jobs/${jobId}/transcript.vtt`,
  summary: (jobId: string) => `jobs/${jobId}/summary.json`,
  /** a streamed reply: sentence i spoken (the hash of its text in the name: a retry that words it otherwise pays anew) */
  speechSegment: (jobId: string, index: number, textHash: string, ext: string) =>
    `jobs/${jobId}/speech/${index}-${textHash}.${ext}`,
  /** `redact_audio`: the input with every redacted span silenced (MP3; the input itself is then deleted) */
  redactedAudio: (jobId: string) => `jobs/${jobId}/redacted-audio.mp3`,
  /** long audio: the chunk plan, each chunk's audio and each chunk's transcript (a retry skips done chunks) */
  chunks: (jobId: string) => `jobs/${jobId}/chunks/`,
  chunkPlan: (jobId: string) => `jobs/${jobId}/chunks/plan.json`,
  chunkAudio: (jobId: string, i: number, ext: string) => `jobs/${jobId}/chunks/${i}.${ext}`,
  chunkTranscript: (jobId: string, i: number) => `jobs/${jobId}/chunks/${i}.json`,
};

/** Stored files a job exposes as presigned URLs (`artifacts` on the job), by name. */
export const ARTIFACTS = {
  transcript_txt: keys.transcript,
  transcript_json: keys.transcriptJson,
  transcript_srt: keys.transcriptSrt,
  transcript_vtt: keys.transcriptVtt,
  summary_json: keys.summary,
  redacted_audio: keys.redactedAudio,
} as const;
export type ArtifactName = keyof typeof ARTIFACTS;
export const ARTIFACT_NAMES = Object.keys(ARTIFACTS) as [ArtifactName, ...ArtifactName[]];

/** BullMQ job id of one chunk of one job's transcription (in one run of the job, like stageJobId). */
export const chunkJobId = (jobId: string, index: number, run = 1) =>
  `${jobId}_chunk_${index}${run > 1 ? `_r${run}` : ''}`;

export const TERMINAL_STATUSES = ['succeeded', 'failed', 'canceled'] as const;
export const JOB_STATUSES = ['queued', 'running', ...TERMINAL_STATUSES] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const isTerminal = (s: JobStatus) => (TERMINAL_STATUSES as readonly string[]).includes(s);
