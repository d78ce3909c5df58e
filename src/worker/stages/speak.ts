import { Readable } from 'node:stream';
import { SPEECH_CONTENT_TYPES } from '../../shared/audio-types.ts';
import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/job-files.ts';
import { replyPieces } from './reply-sentences.ts';
import { speakInto } from './speech-piece.ts';
import type { StageContext, StageFn } from './stage.ts';
import { pieceKey, streamsReply } from './streamed-reply.ts';

/**
 * Reply text (from the record) → speech audio (`reply.<format>`), streamed from the provider into storage;
 * the stored audio is the checkpoint a retried stage finds. A streamed reply was spoken piece by piece during
 * the chat stage: the pieces are joined into reply.<format>, and only a piece missing is spoken here.
 */
export const speak: StageFn = async (ctx) => {
  const { record, storage, config, signal, fresh } = ctx;
  const format = config.tts.format;
  const audioKey = keys.speech(record.id, format);
  if (!fresh && (await storage.exists(audioKey, signal))) return { audio_key: audioKey };
  const text = record.reply_text;
  if (!text) throw new PermanentError('missing_input', 'The reply text to speak is missing.');
  if (streamsReply(record, config)) await joinPieces(ctx, text, audioKey);
  else await speakInto(ctx, audioKey, text);
  return { audio_key: audioKey };
};

/** reply.<format> from the reply's spoken pieces, in order (each spoken first if it is not stored). */
async function joinPieces(ctx: StageContext, text: string, audioKey: string): Promise<void> {
  const { record, storage, config, signal } = ctx;
  const pieces = replyPieces(text).map((piece, i) => ({ piece, key: pieceKey(record, config, i, piece) }));
  for (const { piece, key } of pieces) {
    if (!(await storage.exists(key, signal))) await speakInto(ctx, key, piece);
  }
  async function* joined() {
    for (const { key } of pieces) yield* await storage.get(key, signal);
  }
  await storage.put(audioKey, Readable.from(joined()), {
    contentType: SPEECH_CONTENT_TYPES[config.tts.format] ?? 'application/octet-stream',
    signal,
  });
}
