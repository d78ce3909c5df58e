/** Writes a chat completion as one chat.completion object, or as server-sent chunks when streaming. */
import type { ServerResponse } from 'node:http';
import { type ChatAnswer, type ChatRequest, completionId } from './chat.ts';
import { sendJson } from './http-util.ts';
import { until } from './latency-profile.ts';

const tokens = (chars: number) => Math.ceil(chars / 4);

const FINGERPRINT = 'fp_simulator';

function usage(a: ChatAnswer) {
  return {
    prompt_tokens: a.promptTokens,
    completion_tokens: a.completionTokens,
    total_tokens: a.promptTokens + a.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

export function sendCompletion(
  res: ServerResponse,
  req: ChatRequest,
  a: ChatAnswer,
  headers: Record<string, string>,
) {
  const choices = Array.from({ length: req.n }, (_, index) => ({
    index,
    message: { role: 'assistant', content: a.content, refusal: null, annotations: [] },
    finish_reason: a.finishReason,
    logprobs: null,
  }));
  sendJson(
    res,
    200,
    {
      id: completionId(),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      choices,
      usage: usage(a),
      service_tier: 'default',
      system_fingerprint: FINGERPRINT,
    },
    headers,
  );
}

/**
 * Streams the content a few words per chunk, then finish_reason, optional usage and [DONE]. With a timing
 * (a latency profile), the role chunk goes out at `firstTokenAt` and each content chunk once the tokens
 * before it have had their time, like a model generating them.
 */
export async function streamCompletion(
  res: ServerResponse,
  req: ChatRequest,
  a: ChatAnswer,
  headers: Record<string, string>,
  timing: { firstTokenAt: number; msPerToken: number } = { firstTokenAt: 0, msPerToken: 0 },
  signal?: AbortSignal,
) {
  await until(timing.firstTokenAt, signal);
  if (signal?.aborted) return;
  const base = {
    id: completionId(),
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    service_tier: 'default',
    system_fingerprint: FINGERPRINT,
  };
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  const send = (choices: unknown[], usageValue?: unknown) => {
    const chunk: Record<string, unknown> = { ...base, choices };
    if (req.includeUsage) chunk.usage = usageValue ?? null;
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  const pieces = a.content.match(/\S+\s*|\s+/g) ?? [];
  for (let index = 0; index < req.n; index++) {
    send([
      {
        index,
        delta: { role: 'assistant', content: '', refusal: null },
        finish_reason: null,
        logprobs: null,
      },
    ]);
    let tokensSent = 0;
    for (let i = 0; i < pieces.length; i += 3) {
      const content = pieces.slice(i, i + 3).join('');
      tokensSent += tokens(content.length);
      await until(timing.firstTokenAt + tokensSent * timing.msPerToken, signal);
      if (signal?.aborted) return;
      send([{ index, delta: { content }, finish_reason: null, logprobs: null }]);
    }
    send([{ index, delta: {}, finish_reason: a.finishReason, logprobs: null }]);
  }
  if (req.includeUsage) send([], usage(a));
  res.end('data: [DONE]\n\n');
}
