/** Generated speech for tests and benchmarks: espeak-ng, resampled, looped and re-encoded with sox/ffmpeg. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const VOICEMAIL_TEXT =
  'Hello, this is Maria Lopez, please call me back at 555 013 2447. ' +
  'I am calling about my appointment next week. Thank you, bye.';

/** Speaks `text` into a 16-bit mono WAV at `rate` Hz; returns its path. */
export async function speechWav(
  dir: string,
  name: string,
  text = VOICEMAIL_TEXT,
  rate = 16000,
): Promise<string> {
  const raw = join(dir, `${name}.raw.wav`);
  const out = join(dir, `${name}.wav`);
  await run('espeak-ng', ['-s', '150', '-w', raw, text]);
  await run('sox', [raw, '-r', String(rate), '-b', '16', '-c', '1', out]);
  return out;
}

/**
 * Repeats `wav` (with `pauseSeconds` of silence after each repetition) until it lasts exactly `seconds`:
 * sox streams it, so an hour of audio costs no memory.
 */
export async function loopWav(
  wav: string,
  out: string,
  seconds: number,
  pauseSeconds = 1.5,
): Promise<string> {
  const { stdout } = await run('soxi', ['-D', wav]);
  const each = Number(stdout.trim()) + pauseSeconds;
  const repeats = Math.max(0, Math.ceil(seconds / each) - 1);
  await run('sox', [
    wav,
    out,
    'pad',
    '0',
    String(pauseSeconds),
    'repeat',
    String(repeats),
    'trim',
    '0',
    String(seconds),
  ]);
  return out;
}

/** AMR-NB (phone voicemail), 8 kHz mono; sox encodes it (this ffmpeg build has no AMR encoder). */
export async function toAmr(wav: string, out: string): Promise<string> {
  await run('sox', [wav, '-r', '8000', '-c', '1', '-t', 'amr-nb', out]);
  return out;
}

/** Seconds of audio in a file, by ffprobe. */
export async function probeSeconds(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    path,
  ]);
  return Number(stdout.trim());
}
