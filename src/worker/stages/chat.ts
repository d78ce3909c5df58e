import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/stages.ts';
import { checkpointText, type StageContext, type StageFn } from './stage.ts';

/**
 * Transcript → reply text (`reply.txt`), with the job's instructions or the configured system prompt, and
 * the earlier turns of the job's conversation (bounded) so the bot remembers what was said.
 */
export const chat: StageFn = async (ctx) => {
  const { record, storage, providers, conversations, signal } = ctx;
  const transcript = await storage.getText(keys.transcript(record.id), signal);
  if (transcript === undefined)
    throw new PermanentError('missing_input', 'The transcript to answer is missing.');
  const createdMs = Date.parse(record.created_at);
  const reply = await checkpointText(storage, keys.reply(record.id), signal, async () => {
    const { client, model } = providers.chat;
    const completion = await client.chat.completions.create(
      { model, messages: await messages(ctx, transcript, createdMs) },
      { signal },
    );
    const content = completion.choices[0]?.message.content?.trim();
    if (!content) throw new PermanentError('empty_reply', 'The chat model returned no reply.');
    return content;
  });
  if (record.conversation_id) {
    await conversations.record(record.conversation_id, createdMs, {
      job_id: record.id,
      user: transcript,
      assistant: reply,
    });
  }
  return { transcript, reply_text: reply };
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
