/**
 * `redact`: the transcript document is redacted before anything of it is stored — its text, every
 * segment, every word — so transcript.txt/json/srt/vtt, the record, events, webhooks and the later stages
 * (chat, summary) only ever see `[PHONE_NUMBER]`-style placeholders. Patterned types are found by the
 * deterministic detectors (src/shared/redaction/detect.ts); person names and addresses by one structured
 * call to the chat model, then looked for in the tokens. `redactions` lists each redacted span's type and
 * time (from word times where known, else the segment's) — never the value.
 */
import type OpenAI from 'openai';
import { RetryableError } from '../../shared/errors.ts';
import { detect, disjoint, findNames, findPhrases, type Span } from '../../shared/redaction/detect.ts';
import { placeholder, type RedactType } from '../../shared/transcript-options.ts';

const ENTITY_PROMPT = [
  'You find personal data in a transcript of speech (it comes from speech recognition: names may be lower-case).',
  'List every name of a person (first names, last names, full names, as written in the transcript) and every postal address (street address, as written).',
  'Copy them exactly as they appear. Leave out company names, product names and placeholders in square brackets.',
].join('\n');

const ENTITY_SCHEMA = {
  type: 'object',
  properties: {
    person_names: { type: 'array', items: { type: 'string' } },
    addresses: { type: 'array', items: { type: 'string' } },
  },
  required: ['person_names', 'addresses'],
  additionalProperties: false,
} as const;

export interface Entities {
  person_names: string[];
  addresses: string[];
}

/** One structured chat call: the names and addresses in `text` (already redacted of patterned data). */
export async function findEntities(
  provider: { client: OpenAI; model: string },
  text: string,
  signal: AbortSignal,
): Promise<Entities> {
  const completion = await provider.client.chat.completions.create(
    {
      model: provider.model,
      messages: [
        { role: 'system', content: ENTITY_PROMPT },
        { role: 'user', content: `Transcript:\n\n${text}` },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'personal_data', schema: ENTITY_SCHEMA, strict: true },
      },
    },
    { signal },
  );
  const content = completion.choices[0]?.message.content ?? '';
  try {
    const value = JSON.parse(content) as Partial<Entities>;
    const strings = (v: unknown) =>
      Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    return { person_names: strings(value.person_names), addresses: strings(value.addresses) };
  } catch {
    // Nothing may be stored unredacted: a bad answer is retried, never skipped.
    throw new RetryableError('invalid_redaction', 'The chat model did not return the personal data as JSON.');
  }
}

export const tokensOf = (text: string) => text.split(/\s+/).filter(Boolean);

/** The spans of `types` in `tokens`: detectors, plus the model's names and addresses. */
export function spansIn(
  tokens: string[],
  types: ReadonlySet<RedactType>,
  entities: Entities | undefined,
): Span[] {
  const spans = detect(tokens, types);
  if (entities && types.has('person_name')) spans.push(...findNames(tokens, entities.person_names));
  if (entities && types.has('address')) spans.push(...findPhrases(tokens, entities.addresses, 'address'));
  return disjoint(spans);
}

/** Trailing punctuation of a token ("eight." → "."), kept after a placeholder. */
export const trailing = (t: string) => /[^\p{L}\p{N}\]]+$/u.exec(t)?.[0] ?? '';

/** Tokens with spans replaced by their placeholders. */
export function replace(tokens: string[], spans: Span[]): string[] {
  const out: string[] = [];
  let i = 0;
  for (const s of spans) {
    out.push(...tokens.slice(i, s.from));
    out.push(`${placeholder(s.type)}${trailing(tokens[s.to - 1] ?? '')}`);
    i = s.to;
  }
  out.push(...tokens.slice(i));
  return out;
}

export const redactText = (text: string, types: ReadonlySet<RedactType>, entities?: Entities) => {
  const tokens = tokensOf(text);
  return replace(tokens, spansIn(tokens, types, entities)).join(' ');
};
