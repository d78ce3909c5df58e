/**
 * Pipelines: which stages a job runs, in which order, for which input; and the modes a job is queued in. The
 * stages themselves are queues (queue-registry.ts).
 */
import type { Stage } from './queue-registry.ts';

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
