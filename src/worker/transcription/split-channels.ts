/**
 * `channels: "split"`: each channel transcoded on its own (ffmpeg `pan`) and transcribed — in one request
 * each when short, else cut into chunks tagged with their channel (chunk-storage.ts, one index sequence for
 * both) and fanned out — then merged on one timeline.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { PermanentError } from '../../shared/errors.ts';
import type { StageContext } from '../stages/stage.ts';
import { channelLabel, mergeChannels } from './channels.ts';
import { transcribeChunks } from './chunk-fanout.ts';
import { type ChunkPlanDoc, storeChunks, writePlan } from './chunk-storage.ts';
import type { ChunkPayload } from './chunk-worker.ts';
import { audioChannels, COMPACT, transcodeCompact } from './media.ts';
import { mediaFailure } from './media-failure.ts';
import { type TranscribeRequest, transcribeFile } from './provider.ts';
import { type TranscriptDoc, toDoc } from './transcript.ts';

export async function splitChannels(
  ctx: StageContext,
  chunkQueue: Queue<ChunkPayload>,
  work: string,
  input: { path: string; duration: number; request: TranscribeRequest },
): Promise<TranscriptDoc> {
  const { record, config, signal, log } = ctx;
  const { path, duration, request } = input;
  const limits = config.transcription;
  const count = await audioChannels(limits.tools, path, signal).catch((err) =>
    mediaFailure(err, 'count channels'),
  );
  if ((count ?? 1) < 2)
    throw new PermanentError(
      'mono_input',
      `channels: "split" needs a stereo recording (one speaker per channel); this one has ${count ?? 1} channel. Use diarize: true for a mono recording of several speakers.`,
    );
  const labels = record.transcript_options?.channel_labels ?? [];
  const long = duration > limits.chunkSeconds;
  const docs: TranscriptDoc[] = [];
  const chunks: ChunkPlanDoc['chunks'] = [];
  for (const channel of [0, 1]) {
    const compact = join(work, `channel-${channel}.${COMPACT.ext}`);
    const silences = await transcodeCompact(limits.tools, path, compact, {
      detectSilence: long,
      duration,
      signal,
      channel,
    }).catch((err) => mediaFailure(err, `extract channel ${channel}`));
    if (!long && (await stat(compact)).size <= limits.maxUploadBytes) {
      const part = await transcribeFile(
        ctx.providers.transcribe,
        { path: compact, name: `channel-${channel}.${COMPACT.ext}`, mime: COMPACT.mime },
        { language: record.language_hint, signal, request },
      );
      docs.push(toDoc(part, duration));
      continue;
    }
    chunks.push(
      ...(await storeChunks(
        ctx,
        { path: compact, work, duration, silences },
        { first: chunks.length, channel },
      )),
    );
  }
  if (chunks.length === 0) return mergeChannels(docs, labels);
  if (docs.length > 0) throw new Error('a channel was transcribed whole and the other in chunks');
  const plan: ChunkPlanDoc = { duration, chunks };
  await writePlan(ctx, plan);
  log.info(
    { chunks: chunks.length, channels: [0, 1].map((c) => channelLabel(labels, c)), seconds: duration },
    'channels split into chunks',
  );
  return transcribeChunks(ctx, chunkQueue, plan);
}
