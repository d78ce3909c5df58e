import { toFile } from 'openai';
import { extensionFor } from '../../shared/audio-types.ts';
import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/stages.ts';
import { checkpointText, type StageFn } from './stage.ts';

/** Audio in storage → transcript text (`transcript.txt`). */
export const transcribe: StageFn = async ({ record, storage, providers, signal }) => {
  const transcript = await checkpointText(storage, keys.transcript(record.id), signal, async () => {
    const audio = await storage.get(keys.input(record.id), signal);
    const file = await toFile(audio, `input.${extensionFor(record.input_type)}`, {
      type: record.input_type ?? 'application/octet-stream',
    });
    const { client, model } = providers.transcribe;
    const result = await client.audio.transcriptions.create({ file, model }, { signal });
    const text = result.text.trim();
    if (!text) throw new PermanentError('no_speech', 'No speech was found in the audio.');
    return text;
  });
  return { transcript };
};
