import { PermanentError, RetryableError } from '../../shared/errors.ts';
import { keys } from '../../shared/job-files.ts';
import { toLanguageCode } from '../../shared/languages.ts';
import { summaryJsonSchema, type VoicemailSummary, voicemailSummarySchema } from '../../shared/summary.ts';
import type { StageFn } from './stage.ts';

const SYSTEM_PROMPT = [
  'You summarize voicemail messages left for a business or a person.',
  'Read the transcript (it comes from speech recognition and may contain errors) and fill every field:',
  '- summary: two or three sentences on who called, why, and what they want;',
  '- caller_name: the name the caller gave, or null;',
  '- callback_number: the number they asked to be called back on (digits as spoken), or null;',
  '- urgency: "high" for emergencies or anything time-critical, "low" when no action is needed soon, else "normal";',
  '- intent: the reason for the call in a few words;',
  '- action_items: what the recipient should do, one short imperative each (may be empty).',
  'Never invent a name or a number that is not in the transcript.',
].join('\n');

/** The model's answer, checked against the schema; anything else is `invalid_summary` (retried). */
export function parseSummary(content: string | null | undefined, refusal?: string | null): VoicemailSummary {
  if (refusal)
    throw new RetryableError('invalid_summary', `The summarize model refused: ${refusal.slice(0, 300)}`);
  let value: unknown;
  try {
    value = JSON.parse(content ?? '');
  } catch {
    throw new RetryableError(
      'invalid_summary',
      `The summarize model did not return JSON: ${JSON.stringify((content ?? '').slice(0, 200))}`,
    );
  }
  const parsed = voicemailSummarySchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new RetryableError(
      'invalid_summary',
      `The summarize model's output does not match the schema: ${issues}`,
    );
  }
  return parsed.data;
}

/**
 * Transcript → structured voicemail summary (`summary.json`) through the chat API's strict JSON-schema
 * response format; the answer is validated with the same zod schema the JSON Schema was made from.
 */
export const summarize: StageFn = async ({ record, storage, providers, signal, fresh }) => {
  const transcript = record.transcript;
  if (!transcript) throw new PermanentError('missing_input', 'The transcript to summarize is missing.');
  const stored = fresh ? undefined : await storage.getText(keys.summary(record.id), signal);
  let summary = stored === undefined ? undefined : voicemailSummarySchema.safeParse(JSON.parse(stored)).data;
  /** The transcript's language when transcription did not say (gpt-4o models): asked in the same call. */
  let language: string | null = null;
  if (!summary) {
    const askLanguage = record.language === null;
    const { client, model } = providers.summarize;
    const completion = await client.chat.completions.create(
      {
        model,
        messages: [
          {
            role: 'system',
            content: record.instructions ? `${SYSTEM_PROMPT}\n\n${record.instructions}` : SYSTEM_PROMPT,
          },
          { role: 'user', content: `Voicemail transcript:\n\n${transcript}` },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'voicemail_summary',
            schema: askLanguage ? withLanguage(summaryJsonSchema()) : summaryJsonSchema(),
            strict: true,
          },
        },
      },
      { signal },
    );
    const message = completion.choices[0]?.message;
    summary = parseSummary(message?.content, message?.refusal);
    if (askLanguage) language = languageOf(message?.content);
    await storage.put(keys.summary(record.id), JSON.stringify(summary, null, 2), {
      contentType: 'application/json',
      signal,
    });
  }
  return {
    summary,
    artifacts: [...new Set([...(record.artifacts ?? []), 'summary_json' as const])],
    ...(language ? { language } : {}),
  };
};

/** The summary's JSON Schema with a `language` property (ISO-639-1) added: it is not part of the summary. */
function withLanguage(schema: Record<string, unknown>): Record<string, unknown> {
  return {
    ...schema,
    properties: {
      ...(schema.properties as Record<string, unknown>),
      language: {
        type: 'string',
        description: 'The language of the transcript as an ISO-639-1 code, e.g. "en".',
      },
    },
    required: [...((schema.required as string[]) ?? []), 'language'],
  };
}

function languageOf(content: string | null | undefined): string | null {
  try {
    const value = JSON.parse(content ?? '') as { language?: unknown };
    return typeof value.language === 'string' ? toLanguageCode(value.language) : null;
  } catch {
    return null;
  }
}
