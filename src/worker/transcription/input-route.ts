/**
 * The input's route to the provider. It is downloaded (or read in place), probed, and measured for speech;
 * then it is either blank (no provider call), sent as it is (a format the provider takes, within its limits),
 * split into its channels (`channels: "split"`), or transcoded (and, if still too long, cut into chunks).
 * A small input (most voicemail) is read once: probed, measured and sent from memory. Larger ones stream.
 */

import { readFile, stat } from 'node:fs/promises';
import { providerExtension } from '../../shared/audio-types.ts';
import { PermanentError } from '../../shared/errors.ts';
import { keys } from '../../shared/job-files.ts';
import type { StageContext } from '../stages/stage.ts';
import { MediaError, measureDuration, probe } from './media.ts';
import { mediaFailure } from './media-failure.ts';
import { type TranscribeRequest, transcribeFile } from './provider.ts';
import { QUICK_INPUT_BYTES, quickProbe } from './quick-probe.ts';
import { measureSpeech } from './speech-presence.ts';
import { type TranscriptDoc, toDoc } from './transcript.ts';
import { localFile, type WorkDir } from './workdir.ts';

export interface Input {
  path: string;
  /** its bytes, when small enough to be read once */
  data: Buffer | undefined;
  bytes: number;
  /** the extension the provider takes it under (undefined: a format it does not take) */
  ext: string | undefined;
}

/** `duration`: seconds when measured; null when the provider will say (an unprobed small input). */
export type Route =
  | { kind: 'blank'; duration: number | null }
  | { kind: 'as-is'; duration: number | null }
  | { kind: 'split'; duration: number }
  | { kind: 'transcode'; duration: number };

export async function routeInput(ctx: StageContext, dir: WorkDir): Promise<{ input: Input; route: Route }> {
  const { record, storage, config, signal, log } = ctx;
  const limits = config.transcription;
  const split = record.transcript_options?.channels === 'split';
  const path = await localFile(storage, keys.input(record.id), dir, 'input', signal);
  const bytes = record.input_bytes ?? (await stat(path)).size;
  const data = bytes <= QUICK_INPUT_BYTES ? await readFile(path, { signal }) : undefined;
  const input: Input = { path, data, bytes, ext: providerExtension(record.input_type) };
  const takes = input.ext !== undefined && bytes <= limits.maxUploadBytes;
  const quick = takes ? await quickProbe(path, record.input_type, bytes, data) : undefined;
  const info =
    quick ??
    (await probe(limits.tools, path, signal).catch((err: unknown) => {
      // Without ffprobe, small audio in a format the provider takes still goes through as it is.
      if (err instanceof MediaError && err.missing && takes) return undefined;
      return mediaFailure(err, 'probe the input');
    }));
  /** Unprobed (its duration comes from the provider), after the blank-recording check. */
  const asIs = async (): Promise<Route> =>
    (await isBlank(ctx, input, undefined))
      ? { kind: 'blank', duration: null }
      : { kind: 'as-is', duration: null };
  if (!info) {
    log.warn({ err: `${limits.tools.ffprobe} is not installed` }, 'audio not probed: sent as it is');
    if (split)
      throw new PermanentError('transcoder_unavailable', 'channels: "split" needs ffprobe and ffmpeg.');
    return { input, route: await asIs() };
  }
  if (!info.hasAudio) throw new PermanentError('unreadable_audio', 'The file holds no audio stream.');
  // Small, in a format the provider takes: too short to need chunking; the provider reports its duration.
  if (quick && quick.duration === undefined && !split) return { input, route: await asIs() };
  const duration =
    info.duration ??
    (await measureDuration(limits.tools, path, signal).catch((err) =>
      mediaFailure(err, 'measure the input'),
    ));
  if (duration > limits.maxAudioSeconds)
    throw new PermanentError(
      'audio_too_long',
      `The audio is ${Math.round(duration)} s long; at most ${limits.maxAudioSeconds} s (MAX_AUDIO_SECONDS) can be transcribed.`,
    );
  if (await isBlank(ctx, input, duration)) return { input, route: { kind: 'blank', duration } };
  if (split) return { input, route: { kind: 'split', duration } };
  if (takes && duration <= limits.chunkSeconds) return { input, route: { kind: 'as-is', duration } };
  // A format the provider does not take, too many bytes, or too long for one request.
  return { input, route: { kind: 'transcode', duration } };
}

/**
 * Blank recordings end here, before any provider call. Not measurable (no ffmpeg, or it cannot decode what
 * the provider may still take): sent as before, the provider decides.
 */
async function isBlank(ctx: StageContext, input: Input, duration: number | undefined): Promise<boolean> {
  const { config, signal, log } = ctx;
  const presence = await measureSpeech(
    config.transcription.tools,
    input.path,
    duration,
    signal,
    input.data,
  ).catch((err: unknown) => {
    if (signal.aborted) throw err;
    if (!(err instanceof MediaError && err.missing)) log.warn({ err }, 'speech not measured: sent as it is');
    return undefined;
  });
  if (presence && !presence.speech) log.info({ ...presence }, 'no speech in the input: not transcribed');
  return presence !== undefined && !presence.speech;
}

/** The transcript of a recording without speech (nothing was sent). */
export const blankDoc = (ctx: StageContext, duration: number | null): TranscriptDoc => ({
  text: '',
  language: ctx.record.language_hint,
  duration,
  segments: [],
  no_speech: true,
});

/** The input itself, to the provider (a format it takes, within its upload limit). */
export async function sendInput(
  ctx: StageContext,
  input: Input,
  duration: number | null,
  request: TranscribeRequest,
): Promise<TranscriptDoc> {
  const { record, signal } = ctx;
  const file = {
    path: input.path,
    name: `input.${input.ext}`,
    mime: record.input_type ?? 'application/octet-stream',
    data: input.data,
  };
  return toDoc(
    await transcribeFile(ctx.providers.transcribe, file, { language: record.language_hint, signal, request }),
    duration,
  );
}
