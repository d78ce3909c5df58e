/**
 * Audio formats the service accepts, decided from the bytes (magic numbers) — never from the client's
 * filename or content-type. Maps a detected type onto the file extension providers expect.
 */
export const ACCEPTED_AUDIO: Readonly<Record<string, string>> = {
  'audio/wav': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/x-wav': 'wav',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/aac': 'aac',
  'audio/ogg': 'ogg',
  'audio/ogg; codecs=opus': 'ogg',
  'audio/opus': 'ogg',
  'audio/webm': 'webm',
  'video/webm': 'webm',
  'video/mp4': 'mp4',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/amr': 'amr',
};

export const extensionFor = (mime: string | null | undefined): string =>
  (mime && ACCEPTED_AUDIO[mime]) || 'bin';

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
