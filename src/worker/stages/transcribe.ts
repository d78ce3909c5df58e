import type { Queue } from 'bullmq';
import type { ChunkPayload } from '../transcription/chunk-worker.ts';
import { transcribeAudio } from '../transcription/transcribe-audio.ts';
import type { StageFn } from './stage.ts';

/**
 * Audio in storage → `transcript.json` (text, language, duration, timestamped segments) and, from it,
 * `transcript.txt`, `transcript.srt` and `transcript.vtt`. Long audio is chunked into child jobs on
 * `chunkQueue` (see ../transcription/transcribe-audio.ts).
 */
export const createTranscribe =
  (chunkQueue: Queue<ChunkPayload>): StageFn =>
  (ctx) =>
    transcribeAudio(ctx, chunkQueue);
