/**
 * The voicemail summary: what the summarize stage asks the chat model for (a JSON Schema derived from this
 * zod schema, sent as a strict `json_schema` response format) and what it accepts back (validated by it).
 */
import { z } from 'zod';

export const URGENCIES = ['low', 'normal', 'high'] as const;

/** Non-empty text. A refinement, not minLength: strict structured outputs accept only a subset of keywords. */
const text = () => z.string().refine((s) => s.trim() !== '', 'must not be empty');

export const voicemailSummarySchema = z.object({
  summary: text().describe('Two or three sentences: who called, why, and what they want.'),
  caller_name: text().nullable().describe('The name the caller gave, as spoken; null when they gave none.'),
  callback_number: text()
    .nullable()
    .describe('The number the caller asked to be called back on, digits as spoken; null when none.'),
  urgency: z.enum(URGENCIES).describe('high: an emergency or time-critical; low: no action needed soon.'),
  intent: text().describe('Why the caller called, in a few words (e.g. "reschedule appointment").'),
  action_items: z.array(text()).describe('What the recipient should do, one short imperative each.'),
});
export type VoicemailSummary = z.infer<typeof voicemailSummarySchema>;

/** The JSON Schema sent with `strict: true`: every property required, no additional properties. */
export function summaryJsonSchema(): Record<string, unknown> {
  const { $schema: _drop, ...schema } = z.toJSONSchema(voicemailSummarySchema) as Record<string, unknown>;
  return schema;
}
