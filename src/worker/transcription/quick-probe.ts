/**
 * A quick probe: what ffprobe would say, without spawning it, for small inputs (a process spawn per job is
 * most of a short job's cost).
 */
import { open } from 'node:fs/promises';
import { isWavType } from '../../shared/audio-types.ts';
import { readWavHeader } from '../../shared/wav-header.ts';
import type { Probe } from './media.ts';

/** Inputs at most this large, in a format the provider takes, go as they are without ffprobe. */
export const QUICK_INPUT_BYTES = 1024 * 1024;

/**
 * What ffprobe would say, without spawning it, for inputs that cannot need chunking: a WAV's duration from
 * its header; any other small file the provider takes is sent as it is (its duration then comes from the
 * provider). A process spawn per job is most of a short job's cost. Undefined → ask ffprobe.
 * `data`: the file's bytes when they are already in memory (nothing is read again).
 */
export async function quickProbe(
  path: string,
  mime: string | null,
  bytes: number,
  data?: Buffer,
): Promise<Probe | undefined> {
  if (isWavType(mime)) {
    const duration = await wavSeconds(path, bytes, data);
    if (duration !== undefined) return { duration, hasAudio: true };
  }
  return bytes <= QUICK_INPUT_BYTES ? { duration: undefined, hasAudio: true } : undefined;
}

/** Duration of a PCM WAV from its fmt and data chunks (a streamed WAV's bogus data size is capped by the file). */
async function wavSeconds(path: string, bytes: number, data?: Buffer): Promise<number | undefined> {
  if (data) return readWavHeader(data.subarray(0, 4096), bytes)?.duration;
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(bytes, 4096));
    await file.read(head, 0, head.length, 0);
    return readWavHeader(head, bytes)?.duration;
  } finally {
    await file.close();
  }
}
