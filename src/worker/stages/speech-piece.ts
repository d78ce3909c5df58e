import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SPEECH_CONTENT_TYPES } from '../../shared/audio-types.ts';
import { RetryableError } from '../../shared/errors.ts';
import type { StageContext } from './stage.ts';

/**
 * Speaks `text` with the speech provider, streamed straight into storage under `key` (all or nothing). A
 * provider answer that breaks off mid-body is the provider's failure (`provider_server_error`, retried), not
 * the object store's: the store only ever saw a source that failed.
 */
export async function speakInto(
  ctx: Pick<StageContext, 'storage' | 'providers' | 'config' | 'record' | 'signal'>,
  key: string,
  text: string,
): Promise<void> {
  const { storage, providers, config, record, signal } = ctx;
  const format = config.tts.format;
  const { client, model } = providers.speak;
  const response = await client.audio.speech.create(
    { model, input: text, voice: record.voice ?? config.tts.voice, response_format: format },
    { signal },
  );
  if (!response.body) throw new Error('speech response had no body');
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  let broken: Error | undefined;
  body.once('error', (err) => {
    broken ??= err;
  });
  try {
    await storage.put(key, body, {
      contentType: SPEECH_CONTENT_TYPES[format] ?? 'application/octet-stream',
      signal,
    });
  } catch (err) {
    if (broken && !signal.aborted) {
      throw new RetryableError(
        'provider_server_error',
        `The speak provider's answer broke off mid-stream: ${broken.message}`,
        { cause: broken },
      );
    }
    throw err;
  }
}
