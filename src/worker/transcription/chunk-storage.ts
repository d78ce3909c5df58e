/**
 * Chunk storage: the one sequence that turns compact audio into stored chunks — chunk length from the limits
 * and the compact bitrate, a plan cut at silences, each chunk cut and stored — and the chunk plan
 * (`chunks/plan.json`), written once the chunks are stored: from then on a re-run only waits and stitches.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { keys } from '../../shared/job-files.ts';
import type { StageContext } from '../stages/stage.ts';
import { type ChunkPlan, planChunks, type Silence } from './chunk-plan.ts';
import { COMPACT, cut } from './media.ts';
import { mediaFailure } from './media-failure.ts';
import { type TranscribeRequest, transcribeFile } from './provider.ts';
import { type SpeakerReference, speakerReferences } from './speaker-references.ts';

/** Audio repeated on each side of a cut between chunks. */
const OVERLAP_SECONDS = 1;

export interface ChunkPlanDoc {
  duration: number;
  /** channels split: each chunk holds one channel of the input */
  chunks: Array<ChunkPlan & { channel?: number }>;
  /** diarize: clips of the first chunk's speakers, sent with every other chunk */
  speakers?: SpeakerReference[];
}

/**
 * Cuts `compact` (COMPACT audio of `duration` s, in `work`) at `silences` into chunks short enough for the
 * duration setting and, at its bitrate, for the byte limit; stores each. Indexes start at `first` (the
 * channels of a split recording share one sequence).
 */
export async function storeChunks(
  ctx: StageContext,
  compact: { path: string; work: string; duration: number; silences: Silence[] },
  opts: { first?: number; channel?: number } = {},
): Promise<ChunkPlanDoc['chunks']> {
  const { record, storage, config, signal } = ctx;
  const limits = config.transcription;
  const bytesPerSecond = (await stat(compact.path)).size / Math.max(compact.duration, 1);
  const maxSeconds = Math.min(
    limits.chunkSeconds,
    Math.floor((limits.maxUploadBytes * 0.9) / bytesPerSecond),
  );
  const planned = planChunks(compact.duration, compact.silences, {
    maxSeconds,
    overlapSeconds: OVERLAP_SECONDS,
  });
  const chunks: ChunkPlanDoc['chunks'] = [];
  for (const c of planned) {
    const index = (opts.first ?? 0) + c.index;
    const file = join(compact.work, `chunk-${index}.${COMPACT.ext}`);
    await cut(limits.tools, compact.path, file, c.audioStart, c.audioEnd, signal).catch((err) =>
      mediaFailure(err, 'cut chunks'),
    );
    await storage.put(keys.chunkAudio(record.id, index, COMPACT.ext), createReadStream(file), {
      contentType: COMPACT.mime,
      signal,
    });
    chunks.push(opts.channel === undefined ? { ...c, index } : { ...c, index, channel: opts.channel });
  }
  return chunks;
}

/**
 * Diarize: the first chunk transcribed here, now (its transcript stored as the chunk's), and clips of its
 * speakers cut, to go with every other chunk (one label per speaker across chunks).
 */
export async function firstChunkSpeakers(
  ctx: StageContext,
  work: string,
  request: TranscribeRequest,
): Promise<SpeakerReference[]> {
  const { record, storage, config, signal } = ctx;
  const first = join(work, `chunk-0.${COMPACT.ext}`);
  const part = await transcribeFile(
    ctx.providers.transcribe,
    { path: first, name: `chunk-0.${COMPACT.ext}`, mime: COMPACT.mime },
    { language: record.language_hint, signal, request },
  );
  await storage.put(keys.chunkTranscript(record.id, 0), JSON.stringify(part), {
    contentType: 'application/json',
    signal,
  });
  return speakerReferences(config.transcription.tools, first, part.segments, work, signal).catch((err) =>
    mediaFailure(err, 'cut speaker references'),
  );
}

export async function writePlan(ctx: StageContext, plan: ChunkPlanDoc): Promise<void> {
  await ctx.storage.put(keys.chunkPlan(ctx.record.id), JSON.stringify(plan), {
    contentType: 'application/json',
    signal: ctx.signal,
  });
}

/** The stored plan of an earlier run (undefined on a first start, which cannot have one). */
export async function readPlan(ctx: StageContext): Promise<ChunkPlanDoc | undefined> {
  if (ctx.fresh) return undefined;
  const text = await ctx.storage.getText(keys.chunkPlan(ctx.record.id), ctx.signal);
  return text === undefined ? undefined : (JSON.parse(text) as ChunkPlanDoc);
}
