/**
 * What one job's transcription requests ask the provider for, from its transcript options and the
 * configured models — and what it cannot have, as warnings on the job:
 * - word times: only `whisper-1` (`verbose_json` with `timestamp_granularities: ['word', 'segment']`);
 * - diarize: the diarization model (`diarized_json`, `chunking_strategy: 'auto'`), which gives speakers on
 *   segments but no word times and takes no `prompt`;
 * - keyterms: sent as `prompt` (whisper-1 and the gpt-4o transcribe models take one).
 */
import type { Config } from '../../shared/config.ts';
import type { JobRecord } from '../../shared/job-record.ts';
import type { Storage } from '../../shared/storage/index.ts';
import type { TranscriptOptions } from '../../shared/transcript-options.ts';
import { givesTimestamps } from './provider.ts';
import { storedReferences } from './speaker-references.ts';

export interface TranscribeRequest {
  model: string;
  /** `diarized_json` from the diarization model */
  diarize: boolean;
  /** word times (`timestamp_granularities` word and segment) */
  words: boolean;
  prompt: string | undefined;
  /** diarize: `known_speaker_names[]` with their `known_speaker_references[]` (see speaker-references.ts) */
  knownSpeakers?: Array<{ name: string; audio: string }>;
}

export interface RequestPlan {
  request: TranscribeRequest;
  warnings: string[];
  /** the options as they will be honoured (word_timestamps false when no word times can be had) */
  options: TranscriptOptions | null;
}

export function planRequest(
  options: TranscriptOptions | null,
  model: string,
  diarizeModel: string,
): RequestPlan {
  if (!options)
    return { request: { model, diarize: false, words: false, prompt: undefined }, warnings: [], options };
  const warnings: string[] = [];
  const honoured = { ...options };
  const wantWords = options.word_timestamps || options.redact_audio;
  if (options.diarize) {
    if (options.keyterms.length > 0)
      warnings.push(
        `keyterms were ignored: the diarization model (${diarizeModel}) takes no prompt, so ${options.keyterms.length} keyterm(s) were not sent.`,
      );
    if (options.word_timestamps)
      warnings.push(
        `word_timestamps: the diarization model (${diarizeModel}) gives no word times; speakers are on segments only.`,
      );
    honoured.word_timestamps = false;
    if (options.redact_audio) warnings.push(coarseAudio);
    return {
      request: { model: diarizeModel, diarize: true, words: false, prompt: undefined },
      warnings,
      options: honoured,
    };
  }
  const words = wantWords && givesTimestamps(model);
  if (options.word_timestamps && !words) {
    warnings.push(
      `word_timestamps: the transcription model (${model}) gives no word times; whisper-1 does (TRANSCRIBE_MODEL).`,
    );
    honoured.word_timestamps = false;
  }
  if (options.redact_audio && !words) warnings.push(coarseAudio);
  const prompt = options.keyterms.length > 0 ? options.keyterms.join(', ') : undefined;
  return { request: { model, diarize: false, words, prompt }, warnings, options: honoured };
}

const coarseAudio =
  'redact_audio: without word times, each whole segment holding a redacted value is silenced.';

/** A chunk's request: the job's, plus the first chunk's speaker references when diarizing. */
export async function chunkRequest(
  storage: Storage,
  record: JobRecord,
  model: string,
  config: Config,
  signal: AbortSignal,
): Promise<TranscribeRequest> {
  const { request } = planRequest(record.transcript_options, model, config.transcription.diarizeModel);
  if (!request.diarize) return request;
  const knownSpeakers = await storedReferences(storage, record.id, signal);
  return knownSpeakers.length > 0 ? { ...request, knownSpeakers } : request;
}
