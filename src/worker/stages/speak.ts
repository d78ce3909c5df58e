import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SPEECH_CONTENT_TYPES } from '../../shared/audio-types.ts';
import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/stages.ts';
import type { StageFn } from './stage.ts';

/**
 * Reply text (from the record) → speech audio (`reply.<format>`), streamed from the provider into storage;
 * the stored audio is the checkpoint a retried stage finds.
 */
export const speak: StageFn = async ({ record, storage, providers, config, signal, fresh }) => {
  const format = config.tts.format;
  const audioKey = keys.speech(record.id, format);
  if (!fresh && (await storage.exists(audioKey, signal))) return { audio_key: audioKey };
  const text = record.reply_text;
  if (!text) throw new PermanentError('missing_input', 'The reply text to speak is missing.');
  const { client, model } = providers.speak;
  const response = await client.audio.speech.create(
    { model, input: text, voice: record.voice ?? config.tts.voice, response_format: format },
    { signal },
  );
  if (!response.body) throw new Error('speech response had no body');
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  await storage.put(audioKey, body, {
    contentType: SPEECH_CONTENT_TYPES[format] ?? 'application/octet-stream',
    signal,
  });
  return { audio_key: audioKey };
};
