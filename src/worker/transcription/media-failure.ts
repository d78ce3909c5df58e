/** A media tool's failure as the job's error: the tool missing, or the audio unreadable (both permanent). */
import { PermanentError } from '../../shared/errors.ts';
import { MediaError } from './media.ts';

export function mediaFailure(err: unknown, what: string): never {
  if (err instanceof MediaError && err.missing)
    throw new PermanentError('transcoder_unavailable', `${err.message}: it is needed to ${what}.`, {
      cause: err,
    });
  if (err instanceof MediaError)
    throw new PermanentError('unreadable_audio', `The audio could not be read (${what}): ${err.message}`, {
      cause: err,
    });
  throw err;
}
