import type { Queue } from 'bullmq';
import { keys } from '../../shared/job-files.ts';
import { fetchAudioInto } from '../fetch-audio.ts';
import type { ChunkPayload } from '../transcription/chunk-worker.ts';
import { transcribeAudio } from '../transcription/transcribe-audio.ts';
import type { StageFn, StageHooks } from './stage.ts';

/**
 * Audio in storage → `transcript.json` (text, language, duration, timestamped segments; its .txt/.srt/.vtt
 * are rendered by the API). Long audio is chunked into child jobs on `chunkQueue` (see
 * ../transcription/transcribe-audio.ts).
 */
export const createTranscribe = (chunkQueue: Queue<ChunkPayload>): StageFn =>
  Object.assign((ctx: Parameters<StageFn>[0]) => transcribeAudio(ctx, chunkQueue), transcribeHooks);

export const transcribeHooks: StageHooks = {
  /** Audio given by URL is fetched into storage first (once: a stored input is a checkpoint). */
  async prepareInput(record, { storage, config, signal, fresh, patch }) {
    if (!record.source_url) return record;
    if (!fresh && (await storage.exists(keys.input(record.id), signal))) return record;
    const { mime, bytes } = await fetchAudioInto(storage, keys.input(record.id), record.source_url, {
      maxBytes: config.limits.uploadBytes,
      timeoutMs: config.limits.audioFetchTimeoutMs,
      allowPrivate: config.webhooks.allowPrivateNetworks,
      signal,
    });
    await patch({ input_type: mime, input_bytes: bytes });
    return { ...record, input_type: mime, input_bytes: bytes };
  },
  /** Seconds of audio, billed on the model the job was sent to (diarize and word times route past TRANSCRIBE_MODEL). */
  usage(output) {
    if (!output.duration_seconds || !output.transcription_model) return undefined;
    return {
      model: output.transcription_model.model,
      usage: { audioSeconds: output.duration_seconds },
      attributes: { 'voicebot.audio_seconds': output.duration_seconds },
    };
  },
};
