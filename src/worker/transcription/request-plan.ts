/**
 * What one job's transcription requests ask the provider for, from its transcript options and the
 * configured models — and what it cannot have, as warnings on the job:
 * - word times (`word_timestamps`, or needed by `redact_audio`): a model that gives them (model-facts.ts):
 *   `TRANSCRIBE_MODEL` when it does, else `TRANSCRIBE_TIMESTAMPS_MODEL` (whisper-1; same server and key);
 * - diarize: the diarization model (`diarized_json`, `chunking_strategy: 'auto'`), which gives speakers on
 *   segments but no word times and takes no `prompt`;
 * - keyterms: sent as `prompt` (whisper-1 and the gpt-4o transcribe models take one).
 * The plan names the model used and why (`transcription_model` on the job).
 */
import type { Config } from '../../shared/config.ts';
import type { JobRecord } from '../../shared/job-record.ts';
import type { Storage } from '../../shared/storage/index.ts';
import type { TranscriptionModel, TranscriptOptions } from '../../shared/transcript-options.ts';
import type { StageContext } from '../stages/stage.ts';
import { givesTimestamps } from './model-facts.ts';
import type { TranscribeRequest } from './provider.ts';
import { storedReferences } from './speaker-references.ts';

export interface RequestPlan {
  request: TranscribeRequest;
  /** the model the requests go to, and why that one */
  model: TranscriptionModel;
  warnings: string[];
  /** the options as they will be honoured (word_timestamps false when no word times can be had) */
  options: TranscriptOptions | null;
}

/** The models a job can be sent to (all on the transcription provider's server, with its key). */
export interface TranscriptionModels {
  /** TRANSCRIBE_MODEL */
  model: string;
  /** TRANSCRIBE_DIARIZE_MODEL */
  diarizeModel: string;
  /** TRANSCRIBE_TIMESTAMPS_MODEL */
  timestampsModel: string;
}

export function planRequest(options: TranscriptOptions | null, models: TranscriptionModels): RequestPlan {
  const { model, diarizeModel, timestampsModel } = models;
  const configured: TranscriptionModel = { model, reason: 'configured' };
  if (!options)
    return {
      request: { model, diarize: false, words: false, prompt: undefined },
      model: configured,
      warnings: [],
      options,
    };
  const warnings: string[] = [];
  const honoured = { ...options };
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
      model: { model: diarizeModel, reason: 'diarize' },
      warnings,
      options: honoured,
    };
  }
  const wantWords = options.word_timestamps || options.redact_audio;
  let used = configured;
  if (wantWords && !givesTimestamps(model) && givesTimestamps(timestampsModel))
    used = { model: timestampsModel, reason: options.word_timestamps ? 'word_timestamps' : 'redact_audio' };
  const words = wantWords && givesTimestamps(used.model);
  if (options.word_timestamps && !words) {
    warnings.push(
      `word_timestamps: neither the transcription model (${model}) nor TRANSCRIBE_TIMESTAMPS_MODEL (${timestampsModel}) gives word times; whisper-1 does.`,
    );
    honoured.word_timestamps = false;
  }
  if (options.redact_audio && !words) warnings.push(coarseAudio);
  const prompt = options.keyterms.length > 0 ? options.keyterms.join(', ') : undefined;
  return {
    request: { model: used.model, diarize: false, words, prompt },
    model: used,
    warnings,
    options: honoured,
  };
}

const coarseAudio =
  'redact_audio: without word times, each whole segment holding a redacted value is silenced.';

/** The models of `config` with `model` as the configured one (the transcribe provider's). */
export const modelsOf = (model: string, config: Pick<Config, 'transcription'>): TranscriptionModels => ({
  model,
  diarizeModel: config.transcription.diarizeModel,
  timestampsModel: config.transcription.timestampsModel,
});

/** The job's transcription request (model, words, diarize, prompt) and what it cannot honour. */
export const requestPlanFor = (ctx: Pick<StageContext, 'record' | 'providers' | 'config'>): RequestPlan =>
  planRequest(ctx.record.transcript_options, modelsOf(ctx.providers.transcribe.model, ctx.config));

/** A chunk's request: the job's, plus the first chunk's speaker references when diarizing. */
export async function chunkRequest(
  storage: Storage,
  record: JobRecord,
  model: string,
  config: Config,
  signal: AbortSignal,
): Promise<TranscribeRequest> {
  const { request } = planRequest(record.transcript_options, modelsOf(model, config));
  if (!request.diarize) return request;
  const knownSpeakers = await storedReferences(storage, record.id, signal);
  return knownSpeakers.length > 0 ? { ...request, knownSpeakers } : request;
}
