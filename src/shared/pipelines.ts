/**
 * Stages and pipelines: the stages a job can go through, and which of them it runs, in which order, for which
 * input. Each stage is a queue of the queue registry (queue-registry.ts).
 */

export const STAGES = ['transcribe', 'chat', 'speak', 'summarize'] as const;
export type Stage = (typeof STAGES)[number];

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
