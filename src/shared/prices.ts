/**
 * Provider prices, for the estimated-cost metrics (`voicebot_provider_cost_usd_total`). Per model: USD per
 * minute of transcribed audio, per million input / output tokens, per million characters spoken.
 * `PRICE_TABLE` (JSON, same shape) replaces or adds models; the defaults are list prices at the time of
 * writing and only an estimate — check your provider's price list.
 */
import { z } from 'zod';

export const modelPriceSchema = z.strictObject({
  usd_per_audio_minute: z.number().min(0).optional(),
  usd_per_1m_input_tokens: z.number().min(0).optional(),
  usd_per_1m_output_tokens: z.number().min(0).optional(),
  usd_per_1m_characters: z.number().min(0).optional(),
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;
export type PriceTable = Record<string, ModelPrice>;

export const DEFAULT_PRICES: PriceTable = {
  // transcription: billed by audio duration
  'gpt-4o-mini-transcribe': { usd_per_audio_minute: 0.003 },
  'gpt-4o-transcribe': { usd_per_audio_minute: 0.006 },
  'whisper-1': { usd_per_audio_minute: 0.006 },
  'gpt-4o-transcribe-diarize': { usd_per_audio_minute: 0.006 },
  // chat and the voicemail summary: billed by tokens
  'gpt-5.4-mini': { usd_per_1m_input_tokens: 0.75, usd_per_1m_output_tokens: 4.5 },
  'gpt-5-mini': { usd_per_1m_input_tokens: 0.25, usd_per_1m_output_tokens: 2 },
  'gpt-4o-mini': { usd_per_1m_input_tokens: 0.15, usd_per_1m_output_tokens: 0.6 },
  'gpt-4o': { usd_per_1m_input_tokens: 2.5, usd_per_1m_output_tokens: 10 },
  // speech: billed by characters (gpt-4o-mini-tts ≈ $0.015 per spoken minute ≈ $15 per million characters)
  'gpt-4o-mini-tts': { usd_per_1m_characters: 15 },
  'tts-1': { usd_per_1m_characters: 15 },
  'tts-1-hd': { usd_per_1m_characters: 30 },
};

const tableSchema = z.record(z.string().min(1), modelPriceSchema);

/** `PRICE_TABLE` text → the defaults with its models replaced or added. Throws a readable message. */
export function parsePriceTable(text: string | undefined): PriceTable {
  if (!text?.trim()) return { ...DEFAULT_PRICES };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('must be JSON like {"gpt-4o-mini-transcribe":{"usd_per_audio_minute":0.003}}');
  }
  const parsed = tableSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return { ...DEFAULT_PRICES, ...parsed.data };
}

/** What one provider call (or one transcription) used. */
export interface Usage {
  audioSeconds?: number;
  inputTokens?: number;
  outputTokens?: number;
  characters?: number;
}

/** Estimated USD of `usage` on `model` (0 for a model not in the table). */
export function costOf(prices: PriceTable, model: string, usage: Usage): number {
  const p = prices[model];
  if (!p) return 0;
  return (
    ((usage.audioSeconds ?? 0) / 60) * (p.usd_per_audio_minute ?? 0) +
    ((usage.inputTokens ?? 0) / 1e6) * (p.usd_per_1m_input_tokens ?? 0) +
    ((usage.outputTokens ?? 0) / 1e6) * (p.usd_per_1m_output_tokens ?? 0) +
    ((usage.characters ?? 0) / 1e6) * (p.usd_per_1m_characters ?? 0)
  );
}
