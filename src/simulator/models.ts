/** The models the simulator accepts per endpoint, as GET /v1/models lists them. */
import { ApiError, invalid } from './http-util.ts';
import type { Endpoint } from './types.ts';

export const TRANSCRIPTION_MODELS = [
  'whisper-1',
  'gpt-4o-transcribe',
  'gpt-4o-mini-transcribe',
  'gpt-4o-transcribe-diarize',
] as const;
export const SPEECH_MODELS = ['tts-1', 'tts-1-hd', 'gpt-4o-mini-tts'] as const;
/** Listed chat models; any name of these families is accepted too (gpt-…, o1…, o3…, o4…, chatgpt-…). */
export const CHAT_MODELS = [
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-4.1-nano',
  'gpt-5',
  'gpt-5-mini',
  'gpt-5-nano',
  'gpt-5.4-mini',
  'o3',
  'o4-mini',
] as const;

const CHAT_FAMILY = /^(gpt-|o\d|chatgpt-)/;

export const VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'fable',
  'nova',
  'onyx',
  'sage',
  'shimmer',
  'verse',
  'marin',
  'cedar',
] as const;

const accepts = (endpoint: Endpoint, model: string): boolean => {
  if (endpoint === 'transcriptions') return (TRANSCRIPTION_MODELS as readonly string[]).includes(model);
  if (endpoint === 'speech') return (SPEECH_MODELS as readonly string[]).includes(model);
  return CHAT_FAMILY.test(model) && !model.includes('transcribe') && !model.includes('tts');
};

/** Throws OpenAI's 400 (missing) or 404 (unknown model) errors. */
export function checkModel(endpoint: Endpoint, model: unknown): string {
  if (typeof model !== 'string' || model === '') {
    throw invalid('you must provide a model parameter', 'model', 'missing_required_parameter');
  }
  if (!accepts(endpoint, model)) {
    throw new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, {
      code: 'model_not_found',
    });
  }
  return model;
}

/** Models of the gpt-5 and o families reject `max_tokens` and non-default sampling, as the real API does. */
export const isReasoningModel = (model: string) => /^(gpt-5|o\d)/.test(model) && !model.includes('chat');

export function modelList(): { object: 'list'; data: Array<Record<string, unknown>> } {
  const created = 1_700_000_000;
  const ids = [...CHAT_MODELS, ...TRANSCRIPTION_MODELS, ...SPEECH_MODELS];
  return { object: 'list', data: ids.map((id) => ({ id, object: 'model', created, owned_by: 'system' })) };
}
