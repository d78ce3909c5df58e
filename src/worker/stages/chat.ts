import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/stages.ts';
import { checkpointText, type StageFn } from './stage.ts';

/** Transcript → reply text (`reply.txt`), with the job's instructions or the configured system prompt. */
export const chat: StageFn = async ({ record, storage, providers, config, signal }) => {
  const transcript = await storage.getText(keys.transcript(record.id), signal);
  if (transcript === undefined)
    throw new PermanentError('missing_input', 'The transcript to answer is missing.');
  const reply = await checkpointText(storage, keys.reply(record.id), signal, async () => {
    const { client, model } = providers.chat;
    const completion = await client.chat.completions.create(
      {
        model,
        messages: [
          { role: 'system', content: record.instructions ?? config.chat.systemPrompt },
          { role: 'user', content: transcript },
        ],
      },
      { signal },
    );
    const content = completion.choices[0]?.message.content?.trim();
    if (!content) throw new PermanentError('empty_reply', 'The chat model returned no reply.');
    return content;
  });
  return { transcript, reply_text: reply };
};
