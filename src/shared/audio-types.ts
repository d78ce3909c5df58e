/**
 * Audio types: the one table of MIME types and file extensions. Accepted formats are decided from the bytes
 * (magic numbers) — never from the client's filename or content-type — and named by one of these types.
 */

interface AudioType {
  /** the extension a file of this type is stored and sent under */
  ext: string;
  /** OpenAI takes it as it is (keys are the canonical types recorded on a job); anything else is transcoded */
  provider: boolean;
}

const AUDIO_TYPES: Readonly<Record<string, AudioType>> = {
  'audio/wav': { ext: 'wav', provider: true },
  'audio/vnd.wave': { ext: 'wav', provider: true },
  'audio/x-wav': { ext: 'wav', provider: true },
  'audio/mpeg': { ext: 'mp3', provider: true },
  'audio/mp4': { ext: 'm4a', provider: true },
  'audio/x-m4a': { ext: 'm4a', provider: true },
  'audio/aac': { ext: 'aac', provider: false },
  'audio/ogg': { ext: 'ogg', provider: true },
  'audio/ogg; codecs=opus': { ext: 'ogg', provider: true },
  'audio/opus': { ext: 'ogg', provider: true },
  'audio/webm': { ext: 'webm', provider: true },
  // containers recorded as their audio type (canonicalAudioType), so never sent under these names
  'video/webm': { ext: 'webm', provider: false },
  'video/mp4': { ext: 'mp4', provider: false },
  'audio/flac': { ext: 'flac', provider: true },
  'audio/x-flac': { ext: 'flac', provider: true },
  'audio/amr': { ext: 'amr', provider: false },
};

/** Audio formats the service accepts: detected type → the file extension providers expect. */
export const ACCEPTED_AUDIO: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(AUDIO_TYPES).map(([mime, t]) => [mime, t.ext]),
);

export const extensionFor = (mime: string | null | undefined): string =>
  (mime && ACCEPTED_AUDIO[mime]) || 'bin';

/** The file extension to send `mime` to the provider under, or undefined when it must be transcoded first. */
export const providerExtension = (mime: string | null | undefined): string | undefined => {
  const type = mime ? AUDIO_TYPES[mime] : undefined;
  return type?.provider ? type.ext : undefined;
};

/** A WAV, under any of its names. */
export const isWavType = (mime: string | null | undefined): boolean => extensionFor(mime) === 'wav';

/** Spoken-reply formats (TTS `response_format`, also their file extension) → the content type they are stored under. */
export const SPEECH_CONTENT_TYPES: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
};

/** The type recorded for a job: containers that hold audio are named as audio (a browser's webm is audio/webm). */
export const canonicalAudioType = (mime: string): string =>
  mime === 'video/webm' ? 'audio/webm' : mime === 'video/mp4' ? 'audio/mp4' : mime;
