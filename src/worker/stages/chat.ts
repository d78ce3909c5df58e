import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { PermanentError } from '../../shared/errors.ts';
import type { StageContext, StageFn } from './stage.ts';
import { streamReply, streamsReply } from './streamed-reply.ts';

/**
 * Transcript → reply text (kept in the job record), with the job's instructions or the configured system prompt, and
 * the earlier turns of the job's conversation (bounded) so the bot remembers what was said. A streamed reply
 * (streamed-reply.ts) also speaks each sentence as it ends.
 */
export const chat: StageFn = async (ctx) => {
  const { record, providers, conversations, signal } = ctx;
  const transcript = record.transcript;
  if (!transcript) throw new PermanentError('missing_input', 'The transcript to answer is missing.');
  const createdMs = Date.parse(record.created_at);
  const { client, model } = providers.chat;
  const history = await messages(ctx, transcript, createdMs);
  let reply: string | undefined;
  if (streamsReply(record, ctx.config)) reply = await streamReply(ctx, history);
  else {
    const completion = await client.chat.completions.create({ model, messages: history }, { signal });
    reply = completion.choices[0]?.message.content?.trim();
  }
  if (!reply) throw new PermanentError('empty_reply', 'The chat model returned no reply.');
  if (record.conversation_id) {
    await conversations.record(record.conversation_id, createdMs, {
      job_id: record.id,
      user: transcript,
      assistant: reply,
    });
  }
  return { reply_text: reply };
};

async function messages(
  ctx: StageContext,
  transcript: string,
  createdMs: number,
): Promise<ChatCompletionMessageParam[]> {
  const { record, config, conversations } = ctx;
  const history = record.conversation_id
    ? await conversations.history(record.conversation_id, createdMs)
    : [];
  return [
    { role: 'system', content: record.instructions ?? config.chat.systemPrompt },
    ...history.flatMap((t): ChatCompletionMessageParam[] => [
      { role: 'user', content: t.user },
      { role: 'assistant', content: t.assistant },
    ]),
    { role: 'user', content: transcript },
  ];
}
