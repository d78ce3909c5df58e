/**
 * The transcribe stage's work, as an orchestrator of its rooms:
 * - input-route.ts: the input downloaded, probed and measured for speech, and its route decided;
 * - sent as it is, in one request (a format the provider takes, within its limits);
 * - transcoded to compact mono MP3 (AMR, raw AAC …, or over the byte limit) and, still longer than
 *   `TRANSCRIBE_CHUNK_SECONDS` (or over the byte limit), cut at silences into stored chunks (chunk-storage.ts)
 *   transcribed in parallel as child jobs and stitched onto one timeline (chunk-fanout.ts);
 * - `channels: "split"`: each channel on its own, then merged (split-channels.ts).
 * The result is `transcript.json`: the checkpoint and the one stored transcript (the API renders its .txt,
 * .srt and .vtt on request), after speaker names and redaction (transcript-features.ts).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { extensionFor } from '../../shared/audio-types.ts';
import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/job-files.ts';
import type { StageContext, StageOutput } from '../stages/stage.ts';
import { transcribeChunks } from './chunk-fanout.ts';
import { type ChunkPlanDoc, firstChunkSpeakers, readPlan, storeChunks, writePlan } from './chunk-storage.ts';
import type { ChunkPayload } from './chunk-worker.ts';
import { blankDoc, type Input, routeInput, sendInput } from './input-route.ts';
import { COMPACT, transcodeCompact } from './media.ts';
import { mediaFailure } from './media-failure.ts';
import { type TranscribeRequest, transcribeFile } from './provider.ts';
import { ensureRedactedAudio } from './redact-audio.ts';
import { requestPlanFor } from './request-plan.ts';
import { splitChannels } from './split-channels.ts';
import { type TranscriptDoc, toDoc, transcriptDocSchema } from './transcript.ts';
import { finishDoc } from './transcript-features.ts';
import { recordFields } from './transcript-output.ts';
import { type WorkDir, withWorkDir } from './workdir.ts';

export async function transcribeAudio(
  ctx: StageContext,
  chunkQueue: Queue<ChunkPayload>,
): Promise<StageOutput> {
  const { record, storage, signal } = ctx;
  const options = record.transcript_options;
  // A first run has no checkpoint to find: transcript.json (done) or the chunk plan (waiting on chunks).
  const stored = ctx.fresh ? undefined : await storage.getText(keys.transcriptJson(record.id), signal);
  if (stored !== undefined) {
    const doc = transcriptDocSchema.parse(JSON.parse(stored));
    if (options?.redact_audio && !doc.no_speech) await ensureRedactedAudio(ctx, doc.redactions ?? []);
    return recordFields(ctx, doc);
  }
  const plan = await readPlan(ctx);
  const transcribed = plan
    ? await transcribeChunks(ctx, chunkQueue, plan)
    : await withWorkDir((dir) => transcribeInput(ctx, chunkQueue, dir));
  if (!transcribed.text && !transcribed.no_speech)
    throw new PermanentError('no_speech', 'No speech was found in the audio.');
  // Speaker names and redaction, before anything of the transcript is stored.
  const doc = await finishDoc(ctx, transcribed, options);
  await storage.put(keys.transcriptJson(record.id), JSON.stringify(doc), {
    contentType: 'application/json',
    signal,
  });
  if (options?.redact_audio && !doc.no_speech) await ensureRedactedAudio(ctx, doc.redactions ?? []);
  const output = await recordFields(ctx, doc);
  // The chunks' audio and transcripts are in transcript.json now; a failed delete is only clutter.
  if (plan)
    await storage
      .deletePrefix(keys.chunks(record.id))
      .catch((err) => ctx.log.warn({ err }, 'chunk cleanup failed'));
  return output;
}

/** A first run: the input on its route (input-route.ts) to one transcript. */
async function transcribeInput(ctx: StageContext, chunkQueue: Queue<ChunkPayload>, dir: WorkDir) {
  const { input, route } = await routeInput(ctx, dir);
  const { request } = requestPlanFor(ctx);
  switch (route.kind) {
    case 'blank':
      return blankDoc(ctx, route.duration);
    case 'as-is':
      return sendInput(ctx, input, route.duration, request);
    case 'split':
      return splitChannels(ctx, chunkQueue, await dir(), {
        path: input.path,
        duration: route.duration,
        request,
      });
    case 'transcode':
      return transcode(ctx, chunkQueue, { input, work: await dir(), duration: route.duration, request });
  }
}

/** Compact mono MP3, sent in one request when it fits, else stored as chunks and fanned out. */
async function transcode(
  ctx: StageContext,
  chunkQueue: Queue<ChunkPayload>,
  {
    input,
    work,
    duration,
    request,
  }: { input: Input; work: string; duration: number; request: TranscribeRequest },
): Promise<TranscriptDoc> {
  const { record, config, signal, log } = ctx;
  const limits = config.transcription;
  const path = join(work, `compact.${COMPACT.ext}`);
  const long = duration > limits.chunkSeconds;
  const started = Date.now();
  const silences = await transcodeCompact(limits.tools, input.path, path, {
    detectSilence: long,
    duration,
    signal,
  }).catch((err) => mediaFailure(err, `transcode ${extensionFor(record.input_type)} audio`));
  const compactBytes = (await stat(path)).size;
  const seconds = duration;
  log.info(
    {
      from: record.input_type,
      bytes: input.bytes,
      compact_bytes: compactBytes,
      seconds,
      ms: Date.now() - started,
    },
    'audio transcoded',
  );
  if (!long && compactBytes <= limits.maxUploadBytes) {
    const file = { path, name: `input.${COMPACT.ext}`, mime: COMPACT.mime };
    const opts = { language: record.language_hint, signal, request };
    return toDoc(await transcribeFile(ctx.providers.transcribe, file, opts), duration);
  }
  const plan: ChunkPlanDoc = { duration, chunks: await storeChunks(ctx, { path, work, duration, silences }) };
  if (request.diarize && plan.chunks.length > 1) plan.speakers = await firstChunkSpeakers(ctx, work, request);
  await writePlan(ctx, plan);
  const speakers = plan.speakers?.length;
  log.info(
    { chunks: plan.chunks.length, silences: silences.length, seconds, speakers },
    'audio split into chunks',
  );
  return transcribeChunks(ctx, chunkQueue, plan);
}
