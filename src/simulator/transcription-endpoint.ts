/** POST /v1/audio/transcriptions: multipart in, transcript out in the requested response_format. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Toolbox } from './audio-tools.ts';
import { referencePitch } from './diarize.ts';
import { invalid } from './http-util.ts';
import { type LatencyProfile, until } from './latency-profile.ts';
import { checkModel } from './models.ts';
import { field, readMultipart } from './multipart.ts';
import type { Transcriber, Transcript } from './transcribe.ts';
import { RESPONSE_FORMATS, type Rendered, type ResponseFormat, render } from './transcript-format.ts';
import { writtenForm } from './written-form.ts';

export interface TranscriptionContext {
  tools: Toolbox;
  transcriber: Transcriber;
  recognizeMaxSeconds: number;
  /** numbers in figures and punctuation, in the text and the words (see written-form.ts) */
  writtenForm: boolean;
  /** Hosted-model latencies to answer with (none: as fast as possible), counted from `startedAt`. */
  profile: LatencyProfile | undefined;
  startedAt: number;
  signal: AbortSignal;
  headers: Record<string, string>;
  /** Tells the server which model was asked for (for the request log). */
  setModel(model: string): void;
  /** Tells the server the request's fields (all but the file), kept in the request log for tests. */
  setParams(params: Record<string, string | string[]>): void;
}

const DIARIZE_MODEL = 'gpt-4o-transcribe-diarize';
/** The diarize model needs `chunking_strategy` for inputs longer than this (seconds). */
const DIARIZE_UNCHUNKED_SECONDS = 30;

export async function handleTranscription(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: TranscriptionContext,
): Promise<void> {
  const upload = await readMultipart(req);
  ctx.setParams(
    Object.fromEntries(
      [...upload.fields].map(([k, v]) => [k, v.length === 1 ? (v[0] as string) : v] as const),
    ),
  );
  let out: Rendered;
  let readyAt = 0;
  try {
    const rawModel = field(upload, 'model');
    if (rawModel) ctx.setModel(rawModel);
    const model = checkModel('transcriptions', rawModel);
    if (!upload.file)
      throw invalid("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
    const format = (field(upload, 'response_format') ?? 'json') as ResponseFormat;
    if (!RESPONSE_FORMATS.includes(format)) {
      throw invalid(
        `Invalid value for 'response_format': expected one of ${RESPONSE_FORMATS.join(', ')}.`,
        'response_format',
        'invalid_value',
      );
    }
    const diarize = model === DIARIZE_MODEL;
    const allowed = model === 'whisper-1' ? ['json', 'text', 'srt', 'verbose_json', 'vtt'] : ['json', 'text'];
    if (diarize) allowed.push('diarized_json');
    if (!allowed.includes(format)) {
      throw invalid(
        `response_format '${format}' is not compatible with model '${model}'. Use ${allowed.map((f) => `'${f}'`).join(' or ')} instead.`,
        'response_format',
        'unsupported_value',
      );
    }
    if (diarize && field(upload, 'prompt') !== undefined) {
      throw invalid(`Prompt is not supported for model '${model}'.`, 'prompt', 'unsupported_parameter');
    }
    const names = upload.fields.get('known_speaker_names[]') ?? [];
    const references = upload.fields.get('known_speaker_references[]') ?? [];
    if (names.length !== references.length || names.length > 4) {
      throw invalid(
        'known_speaker_names[] and known_speaker_references[] must have the same length (at most 4).',
        names.length > 4 ? 'known_speaker_names' : 'known_speaker_references',
        'invalid_value',
      );
    }
    if (field(upload, 'stream') === 'true') {
      throw invalid(
        'Streaming transcriptions are not supported by the simulator.',
        'stream',
        'unsupported_value',
      );
    }
    const heard = await ctx.transcriber.transcribe(
      { ...upload.file, dir: upload.dir },
      ctx.tools,
      ctx.recognizeMaxSeconds,
      { diarize: diarize && format === 'diarized_json' },
    );
    const transcript = ctx.writtenForm ? writtenForm(heard) : heard;
    const timing = ctx.profile?.transcription;
    if (timing) readyAt = ctx.startedAt + timing.baseMs + timing.perAudioSecondMs * transcript.duration;
    const knownSpeakers = await Promise.all(
      names.map(async (name, i) => ({
        name,
        pitch: await referencePitch(references[i] ?? '', upload.dir, i),
      })),
    );
    if (diarize && transcript.duration > DIARIZE_UNCHUNKED_SECONDS && !field(upload, 'chunking_strategy')) {
      throw invalid(
        `chunking_strategy is required for diarization models when the input is longer than ${DIARIZE_UNCHUNKED_SECONDS} seconds.`,
        'chunking_strategy',
        'missing_required_parameter',
      );
    }
    const granularities = [
      ...(upload.fields.get('timestamp_granularities[]') ?? []),
      ...(upload.fields.get('timestamp_granularities') ?? []),
    ];
    out = render(transcript, {
      format,
      language: field(upload, 'language'),
      granularities,
      knownSpeakers,
      usage: usageFor(model, transcript, field(upload, 'prompt') ?? ''),
    });
  } finally {
    await upload.cleanup();
  }
  await until(readyAt, ctx.signal);
  if (ctx.signal.aborted) return;
  res.writeHead(200, {
    'content-type': out.contentType,
    'content-length': Buffer.byteLength(out.body),
    ...ctx.headers,
  });
  res.end(out.body);
}

/** whisper-1 bills by duration (whole seconds); the gpt-4o transcribe models by tokens. */
function usageFor(model: string, t: Transcript, prompt: string): Record<string, unknown> {
  if (model === 'whisper-1') return { type: 'duration', seconds: Math.ceil(t.duration) };
  const audioTokens = Math.ceil(t.duration * 10);
  const textTokens = Math.ceil(prompt.length / 4);
  const outputTokens = Math.ceil(t.text.length / 4);
  return {
    type: 'tokens',
    input_tokens: audioTokens + textTokens,
    input_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
    output_tokens: outputTokens,
    total_tokens: audioTokens + textTokens + outputTokens,
  };
}
