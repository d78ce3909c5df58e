/** One transcription request for one file on disk, streamed to the provider (never read into memory). */
import { createReadStream } from 'node:fs';
import type OpenAI from 'openai';
import { toFile, toStreamingFile } from 'openai';
import type { TranscriptionDiarized } from 'openai/resources/audio/transcriptions';
import { toLanguageCode } from '../../shared/languages.ts';
import { givesTimestamps } from './model-facts.ts';
import type { PartialTranscript } from './transcript.ts';

/** One transcription request: what request-plan.ts decided for a job (or one of its chunks). */
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

/**
 * Transcribes one file as `request` says (see request-plan.ts); without a request, with the provider's
 * model and its default granularity (segments from whisper-1, text only from the gpt-4o models).
 */
export async function transcribeFile(
  provider: { client: OpenAI; model: string },
  /** `data`: the file's bytes when they are in memory (a small input), sent as they are; else it is streamed */
  file: { path: string; name: string; mime: string; data?: Buffer | undefined },
  opts: { language: string | null; signal: AbortSignal; request?: TranscribeRequest },
): Promise<PartialTranscript> {
  const { client } = provider;
  const request = opts.request;
  const model = request?.model ?? provider.model;
  const upload = file.data
    ? await toFile(file.data, file.name, { type: file.mime })
    : toStreamingFile(createReadStream(file.path), file.name, { type: file.mime });
  const language = opts.language ?? undefined;
  const prompt = request?.prompt ? { prompt: request.prompt } : {};
  if (request?.diarize) {
    const r = (await client.audio.transcriptions.create(
      {
        file: upload,
        model,
        response_format: 'diarized_json',
        chunking_strategy: 'auto',
        ...(language ? { language } : {}),
        ...(request.knownSpeakers?.length
          ? {
              known_speaker_names: request.knownSpeakers.map((k) => k.name),
              known_speaker_references: request.knownSpeakers.map((k) => k.audio),
            }
          : {}),
      },
      { signal: opts.signal },
    )) as unknown as TranscriptionDiarized;
    return {
      text: r.text ?? '',
      language: opts.language,
      duration: typeof r.duration === 'number' ? r.duration : null,
      segments: (r.segments ?? []).map((s) => ({
        start: s.start,
        end: s.end,
        text: s.text,
        speaker: s.speaker,
      })),
    };
  }
  if (givesTimestamps(model)) {
    const words = request?.words === true;
    const r = await client.audio.transcriptions.create(
      {
        file: upload,
        model,
        response_format: 'verbose_json',
        timestamp_granularities: words ? ['word', 'segment'] : ['segment'],
        ...(language ? { language } : {}),
        ...prompt,
      },
      { signal: opts.signal },
    );
    return {
      text: r.text ?? '',
      language: toLanguageCode(r.language) ?? opts.language,
      duration: typeof r.duration === 'number' ? r.duration : null,
      segments: (r.segments ?? []).map((s) => ({ start: s.start, end: s.end, text: s.text })),
      ...(words
        ? { words: (r.words ?? []).map((w) => ({ start: w.start, end: w.end, word: w.word.trim() })) }
        : {}),
    };
  }
  const r = await client.audio.transcriptions.create(
    { file: upload, model, ...(language ? { language } : {}), ...prompt },
    { signal: opts.signal },
  );
  return { text: r.text ?? '', language: opts.language, duration: null, segments: [] };
}
