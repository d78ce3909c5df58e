/**
 * Blank recordings: before any provider call, one ffmpeg pass (silencedetect and volumedetect) measures
 * how much of the input is louder than a whisper. A recording that is silent throughout (or holds less
 * than MIN_SPEECH_SECONDS of sound) has no speech: the job ends with `no_speech: true` and nothing is paid.
 * This is an energy measure, not a voice detector: steady noise louder than SILENCE_NOISE counts as sound.
 */
import { SilenceParser } from './chunk-plan.ts';
import { type MediaTools, progressSeconds, run } from './media.ts';

/** Quieter than this is silence (speech is typically -30…-10 dBFS; room tone below -50). */
const SILENCE_NOISE = '-45dB';
const SILENCE_MIN_SECONDS = 0.3;
/** Less sound than this in the whole recording is no speech. */
const MIN_SPEECH_SECONDS = 0.3;
/** A recording whose loudest sample is below this is silent, whatever silencedetect says. */
const MAX_VOLUME_SILENT_DB = -50;

export interface SpeechPresence {
  speech: boolean;
  /** seconds louder than the silence threshold */
  soundSeconds: number;
  maxVolumeDb: number;
}

export async function measureSpeech(
  tools: MediaTools,
  path: string,
  duration: number | undefined,
  signal?: AbortSignal,
): Promise<SpeechPresence> {
  const parser = new SilenceParser();
  let maxVolumeDb = Number.NEGATIVE_INFINITY;
  let decoded = 0;
  await run(
    tools.ffmpeg,
    [
      '-hide_banner',
      '-nostdin',
      '-i',
      path,
      '-vn',
      '-af',
      `silencedetect=noise=${SILENCE_NOISE}:d=${SILENCE_MIN_SECONDS},volumedetect`,
      '-f',
      'null',
      '-',
    ],
    signal,
    (line) => {
      parser.line(line);
      const m = /max_volume:\s*(-?[\d.]+|-inf) dB/.exec(line);
      if (m?.[1]) maxVolumeDb = m[1] === '-inf' ? Number.NEGATIVE_INFINITY : Number(m[1]);
      const t = progressSeconds(line);
      if (t !== undefined) decoded = t;
    },
  );
  const total = duration ?? decoded;
  const silent = parser.finish(total).reduce((sum, s) => sum + (s.end - s.start), 0);
  const soundSeconds = Math.max(0, total - silent);
  return {
    speech: maxVolumeDb > MAX_VOLUME_SILENT_DB && soundSeconds >= MIN_SPEECH_SECONDS,
    soundSeconds,
    maxVolumeDb,
  };
}
