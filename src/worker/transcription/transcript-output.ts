/** What a stored transcript gives the job record: its fields, artifacts, and a blank voicemail's summary. */
import { type ArtifactName, keys } from '../../shared/job-files.ts';
import type { StageContext, StageOutput } from '../stages/stage.ts';
import { requestPlanFor } from './request-plan.ts';
import type { TranscriptDoc } from './transcript.ts';
import { NO_SPEECH_SUMMARY, optionFields } from './transcript-features.ts';

export const TRANSCRIPT_ARTIFACTS: ArtifactName[] = [
  'transcript_txt',
  'transcript_json',
  'transcript_srt',
  'transcript_vtt',
];

/**
 * The record fields of a stored transcript (and a blank voicemail's summary). Its text forms (.txt, .srt,
 * .vtt) are listed but not stored: the API renders them from transcript.json when asked.
 */
export async function recordFields(ctx: StageContext, doc: TranscriptDoc): Promise<StageOutput> {
  const { record, storage, signal } = ctx;
  const artifacts: ArtifactName[] = [...(record.artifacts ?? []), ...TRANSCRIPT_ARTIFACTS];
  if (record.transcript_options?.redact_audio && !doc.no_speech) artifacts.push('redacted_audio');
  // A blank voicemail still gets its summary (saying so); the pipeline ends here (see stage-runner).
  const blankSummary = doc.no_speech && record.pipeline === 'voicemail' ? NO_SPEECH_SUMMARY : undefined;
  if (blankSummary) {
    artifacts.push('summary_json');
    const summary = JSON.stringify(blankSummary, null, 2);
    await storage.put(keys.summary(record.id), summary, { contentType: 'application/json', signal });
  }
  const plan = requestPlanFor(ctx);
  return {
    transcript: doc.text,
    language: doc.language ?? record.language_hint,
    duration_seconds: doc.duration,
    artifacts: [...new Set(artifacts)],
    ...(blankSummary ? { summary: blankSummary } : {}),
    ...optionFields(record, doc, plan.options, plan.warnings),
    // nothing was sent for a recording without speech
    transcription_model: doc.no_speech ? null : plan.model,
  };
}
