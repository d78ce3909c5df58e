/**
 * Intake checks of the transcript options (src/shared/transcript-options.ts): how they combine, and
 * `channels: "split"` on a mono upload, refused from the WAV header before the job exists. Other containers
 * (and audio_url) are checked by the transcribe stage with ffprobe: the job then fails with `mono_input`.
 */
import { HttpError } from '../shared/errors.ts';
import { MAX_KEYTERMS, normaliseOptions, optionProblems, pickOptions } from '../shared/transcript-options.ts';
import { readWavFormat } from '../shared/wav-header.ts';
import type { ApiDeps } from './deps.ts';

const HEADER_BYTES = 4096;

export async function checkTranscriptOptions(
  deps: ApiDeps,
  body: Record<string, unknown>,
  kind: 'audio' | 'text',
  file?: Express.Multer.File,
): Promise<void> {
  const options = pickOptions(body);
  const problems = optionProblems(options, kind);
  if (problems.length > 0) throw new HttpError(400, 'invalid_options', problems.join(' '));
  if (options.channels === 'split' && file) {
    const channels = await wavChannels(deps, file.path);
    if (channels === 1)
      throw new HttpError(
        400,
        'mono_input',
        'channels: "split" needs a stereo recording (one speaker per channel); this WAV file has one channel. Use diarize: true for a mono recording of several speakers.',
      );
  }
}

/**
 * What the accept transition needs to write the record's `transcript_options`: the job's options (JSON, with a
 * placeholder where the client's default keyterms are merged in front of the job's own, inside the same step —
 * no extra round trip at intake). Text jobs have no transcript options.
 */
export function keytermMerge(body: Record<string, unknown>, kind: 'audio' | 'text') {
  if (kind !== 'audio') return undefined;
  const { keyterms: own = [], ...rest } = pickOptions(body);
  const template = normaliseOptions(rest, ['__KEYTERMS__']);
  const asked = normaliseOptions(rest) !== null || own.length > 0;
  return {
    template: JSON.stringify(template).replace('["__KEYTERMS__"]', '"__KEYTERMS__"'),
    own,
    asked,
    max: MAX_KEYTERMS,
  };
}

/** A WAV file's channel count from its fmt chunk; undefined for anything else. */
async function wavChannels(deps: ApiDeps, key: string): Promise<number | undefined> {
  const stream = await deps.storage.get(key);
  const head: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    head.push(b);
    bytes += b.length;
    if (bytes >= HEADER_BYTES) break;
  }
  stream.destroy();
  return readWavFormat(Buffer.concat(head))?.channels;
}
