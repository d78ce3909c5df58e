/**
 * POST /v1/chat/completions: a deterministic reply derived from the messages, so tests can assert it:
 *   You said: "<last user text>". Earlier you said: "<previous user text>". (turn <user turns>)
 * With response_format json_schema the content is a JSON object matching the schema (voicemail facts
 * extracted from the last user message fill the fields they name).
 */
import { randomBytes } from 'node:crypto';
import { invalid } from './http-util.ts';
import { checkModel, isReasoningModel } from './models.ts';
import { findAddresses, findPersonNames } from './pii-extract.ts';
import { fillSchema } from './schema-fill.ts';
import { extractVoicemail } from './voicemail-extract.ts';

export const REPLY_STYLES = ['echo', 'assistant'] as const;
export type ReplyStyle = (typeof REPLY_STYLES)[number];

/** Quoted user text is cut to this many characters, so replies stay speakable. */
const QUOTE_MAX = 300;

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; text: string }>;
  stream: boolean;
  includeUsage: boolean;
  n: number;
  maxTokens: number | undefined;
  responseFormat: Record<string, unknown> | undefined;
}

export interface ChatAnswer {
  content: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

const tokens = (chars: number) => Math.ceil(chars / 4);

/** The text of a message's content: a string, or the text parts of an array of parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (typeof p === 'object' && p !== null && typeof p.text === 'string' ? p.text : ''))
    .filter(Boolean)
    .join('\n');
}

export function parseChatRequest(body: Record<string, unknown>): ChatRequest {
  const model = checkModel('chat', body.model);
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw invalid("Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages');
  }
  const messages = body.messages.map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.role !== 'string') {
      throw invalid(`Invalid type for 'messages[${i}]': expected an object with a role.`, `messages[${i}]`);
    }
    return { role: m.role as string, text: textOf(m.content) };
  });
  if (body.max_tokens !== undefined && body.max_tokens !== null && isReasoningModel(model)) {
    throw invalid(
      "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      'max_tokens',
      'unsupported_parameter',
    );
  }
  const max = body.max_completion_tokens ?? body.max_tokens;
  const rf = body.response_format;
  const responseFormat = typeof rf === 'object' && rf !== null ? (rf as Record<string, unknown>) : undefined;
  if (responseFormat?.type === 'json_object' && !messages.some((m) => /json/i.test(m.text))) {
    throw invalid(
      "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
      'messages',
    );
  }
  if (responseFormat?.type === 'json_schema') {
    const js = responseFormat.json_schema as Record<string, unknown> | undefined;
    if (typeof js?.name !== 'string') {
      throw invalid(
        "Missing required parameter: 'response_format.json_schema.name'.",
        'response_format.json_schema.name',
      );
    }
  }
  const so = body.stream_options as Record<string, unknown> | undefined;
  return {
    model,
    messages,
    stream: body.stream === true,
    includeUsage: so?.include_usage === true,
    n: typeof body.n === 'number' && body.n >= 1 ? Math.min(8, Math.floor(body.n)) : 1,
    maxTokens: typeof max === 'number' && max > 0 ? max : undefined,
    responseFormat,
  };
}

const quote = (s: string) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTE_MAX ? `${flat.slice(0, QUOTE_MAX - 3)}...` : flat;
};

/** The plain-text reply, e.g. `You said: "hi". Earlier you said: "hello". (turn 2)`. */
export function replyText(messages: ChatRequest['messages']): string {
  const users = messages.filter((m) => m.role === 'user').map((m) => m.text);
  const last = users[users.length - 1];
  const previous = users[users.length - 2];
  if (last === undefined) return 'I have not heard anything from you yet. (turn 0)';
  let reply = `You said: "${quote(last)}".`;
  if (previous !== undefined) reply += ` Earlier you said: "${quote(previous)}".`;
  return `${reply} (turn ${users.length})`;
}

/**
 * `assistant`: the echo framed as a voice assistant's answer is shaped — a short first sentence, then a few
 * longer ones (about 55 words around the quote), so streaming and sentence-by-sentence speech are measured
 * on a reply of a realistic shape.
 */
export function assistantReply(messages: ChatRequest['messages']): string {
  const echo = replyText(messages);
  const turn = /\(turn \d+\)$/.exec(echo)?.[0] ?? '';
  return (
    `Thanks for your question. ${echo.slice(0, echo.length - turn.length).trim()} ` +
    'Let me answer that as well as I can in a few short sentences, so that you can hear the first part ' +
    'while I am still writing the rest of it. If anything is unclear, just ask me again and I will explain ' +
    `it another way. ${turn}`
  );
}

export function answer(req: ChatRequest, style: ReplyStyle = 'echo'): ChatAnswer {
  const reply = style === 'assistant' ? assistantReply(req.messages) : replyText(req.messages);
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user')?.text ?? '';
  let content = reply;
  const type = req.responseFormat?.type;
  if (type === 'json_schema') {
    const js = req.responseFormat?.json_schema as Record<string, unknown>;
    const facts = extractVoicemail(lastUser);
    const hints = {
      ...facts,
      name: facts.caller_name,
      caller: facts.caller_name,
      phone: facts.callback_number,
      phone_number: facts.callback_number,
      priority: facts.urgency,
      is_urgent: facts.urgency === 'high',
      category: facts.intent,
      next_steps: facts.action_items,
      reply,
      answer: reply,
      response: reply,
      message: reply,
      text: reply,
      content: reply,
      language: 'en',
      person_names: findPersonNames(lastUser),
      addresses: findAddresses(lastUser),
    };
    content = JSON.stringify(js.schema === undefined ? { reply } : fillSchema(js.schema, hints));
  } else if (type === 'json_object') {
    content = JSON.stringify({ reply });
  }
  const promptChars = req.messages.reduce((sum, m) => sum + m.text.length, 0);
  let finishReason: ChatAnswer['finishReason'] = 'stop';
  if (req.maxTokens !== undefined && tokens(content.length) > req.maxTokens) {
    content = content.slice(0, req.maxTokens * 4);
    finishReason = 'length';
  }
  return {
    content,
    finishReason,
    promptTokens: tokens(promptChars),
    completionTokens: tokens(content.length),
  };
}

export const completionId = () => `chatcmpl-${randomBytes(15).toString('base64url')}`;
