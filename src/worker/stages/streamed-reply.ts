/**
 * The streamed reply (a job with `stream_reply`): the chat model streams; its words go out as `reply.delta`
 * events, and each sentence is spoken as soon as it ends — while the model goes on writing — into its own
 * checkpoint (jobs/<id>/speech/<i>-<hash>.<ext>), announced by a `speech.segment` event with a signed link. The
 * pieces are spoken one after another, in order; a retried stage finds the pieces already stored and does not
 * pay for them again. The speak stage then joins the pieces into the one reply.<ext> the job keeps.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { SPEECH_CONTENT_TYPES } from '../../shared/audio-types.ts';
import type { Config } from '../../shared/config.ts';
import { keys } from '../../shared/job-files.ts';
import type { JobRecord } from '../../shared/job-record.ts';
import { pieceHash, replyPieces, splitSentences } from './reply-sentences.ts';
import { speakInto } from './speech-piece.ts';
import type { StageContext } from './stage.ts';

/** Formats whose files can be joined by appending them (frame streams); others take the whole-stage path. */
const JOINABLE_FORMATS = new Set(['mp3', 'aac']);
/** reply.delta events go out at most this often (and at every sentence end): a bounded event stream. */
const DELTA_INTERVAL_MS = 100;

/** Does this job's reply stream (asked for, and the configured speech format can be joined from pieces)? */
export const streamsReply = (record: JobRecord, config: Config) =>
  record.stream_reply === true && JOINABLE_FORMATS.has(config.tts.format);

/** The checkpoint of spoken piece `index` of a reply. */
export const pieceKey = (record: JobRecord, config: Config, index: number, text: string) =>
  keys.speechSegment(record.id, index, pieceHash(text), config.tts.format);

/** Streams the reply, speaking each sentence as it ends; resolves with the whole reply once every piece is stored. */
export async function streamReply(
  ctx: StageContext,
  messages: ChatCompletionMessageParam[],
): Promise<string> {
  const { providers, signal } = ctx;
  const emit = ctx.emit ?? (async () => {});
  const stream = await providers.chat.client.chat.completions.create(
    { model: providers.chat.model, messages, stream: true },
    { signal },
  );
  let text = '';
  let delta = '';
  let seq = 0;
  let lastDeltaAt = 0;
  let started = 0; // pieces handed to the speaker
  let speaking: Promise<void> = Promise.resolve();
  let failure: unknown;
  const speak = (index: number, piece: string) => {
    speaking = speaking.then(async () => {
      if (failure === undefined) await speakPiece(ctx, index, piece, emit);
    });
    speaking = speaking.catch((err: unknown) => {
      failure ??= err;
    });
  };
  const flush = async () => {
    if (!delta) return;
    const out = delta;
    delta = '';
    lastDeltaAt = Date.now();
    await emit('reply.delta', { seq: seq++, text: out });
  };
  try {
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta?.content ?? '';
      if (!piece) continue;
      text += piece;
      delta += piece;
      const { sentences } = splitSentences(text);
      const ended = started < sentences.length;
      for (; started < sentences.length; started++) speak(started, sentences[started] as string);
      if (ended || Date.now() - lastDeltaAt >= DELTA_INTERVAL_MS) await flush();
      if (failure !== undefined) throw failure;
    }
    await flush();
    const pieces = replyPieces(text);
    for (; started < pieces.length; started++) speak(started, pieces[started] as string);
  } finally {
    // Never leave a piece being written behind a failed stage: its write ends (stored or aborted) first.
    await speaking;
  }
  if (failure !== undefined) throw failure;
  return text.trim();
}

/** Speaks piece `index` into its checkpoint unless it is there already, then announces it. */
async function speakPiece(
  ctx: StageContext,
  index: number,
  text: string,
  emit: NonNullable<StageContext['emit']>,
): Promise<void> {
  const { record, config, storage, signal } = ctx;
  const key = pieceKey(record, config, index, text);
  // A first start of the stage cannot find a piece an earlier run stored.
  if (ctx.fresh || !(await storage.exists(key, signal))) await speakInto(ctx, key, text);
  const ttl = config.storage.urlTtlSeconds;
  await emit('speech.segment', {
    index,
    text,
    url: await storage.signedUrl(key, ttl),
    url_expires_at: new Date(Date.now() + ttl * 1000).toISOString(),
    content_type: SPEECH_CONTENT_TYPES[config.tts.format] ?? 'application/octet-stream',
  });
}
