/**
 * ffprobe / ffmpeg, run as child processes on files in a temp dir (never through this process's memory).
 * Output is read line by line; only the last few lines of stderr are kept, for error messages.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Silence, SilenceParser } from './chunk-plan.ts';

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
}

/** The compact format long or unsupported audio is transcoded to: 16 kHz mono MP3, 32 kbit/s (~14 MB/h). */
export const COMPACT = { ext: 'mp3', mime: 'audio/mpeg', bitrate: '32k', sampleRate: 16000 } as const;

/** ffmpeg silencedetect: quieter than this for at least this long is a silence (a place to cut). */
const SILENCE_NOISE = '-35dB';
const SILENCE_MIN_SECONDS = 0.4;

export class MediaError extends Error {
  override name = 'MediaError';
  /** the program is not installed (ENOENT), as opposed to refusing the input */
  readonly missing: boolean;
  constructor(message: string, missing = false, cause?: unknown) {
    super(message, { cause });
    this.missing = missing;
  }
}

interface RunResult {
  stdout: string;
  stderrTail: string;
}

/** Runs a program; `onStderrLine` sees every stderr line; resolves on exit 0, rejects with MediaError. */
export function run(
  cmd: string,
  args: string[],
  signal: AbortSignal | undefined,
  onStderrLine?: (line: string) => void,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let stdout = '';
    const tail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1_000_000) stdout += d;
    });
    const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
    lines.on('line', (line) => {
      onStderrLine?.(line);
      tail.push(line);
      if (tail.length > 8) tail.shift();
    });
    const closed = new Promise<void>((r) => lines.once('close', r));
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new MediaError(`${cmd} is not installed`, true, err));
      else reject(err); // AbortError when the stage is canceled
    });
    child.once('close', async (code) => {
      await closed;
      if (code === 0) resolve({ stdout, stderrTail: tail.join('\n') });
      else if (!signal?.aborted)
        reject(new MediaError(`${cmd} exited with ${code}: ${tail.join(' | ').slice(-600)}`));
    });
  });
}

export interface Probe {
  /** seconds; undefined when the container does not say (then see `measureDuration`) */
  duration: number | undefined;
  hasAudio: boolean;
}

export async function probe(tools: MediaTools, path: string, signal?: AbortSignal): Promise<Probe> {
  const { stdout } = await run(
    tools.ffprobe,
    ['-v', 'error', '-show_entries', 'format=duration:stream=codec_type', '-of', 'json', path],
    signal,
  );
  const info = JSON.parse(stdout) as {
    format?: { duration?: string };
    streams?: Array<{ codec_type?: string }>;
  };
  const d = Number(info.format?.duration);
  return {
    duration: Number.isFinite(d) && d > 0 ? d : undefined,
    hasAudio: (info.streams ?? []).some((s) => s.codec_type === 'audio'),
  };
}

/** Channels of the first audio stream (ffprobe), undefined when it does not say. */
export async function audioChannels(
  tools: MediaTools,
  path: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const { stdout } = await run(
    tools.ffprobe,
    ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=channels', '-of', 'json', path],
    signal,
  );
  const n = Number((JSON.parse(stdout) as { streams?: Array<{ channels?: number }> }).streams?.[0]?.channels);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** "time=01:02:03.45" in ffmpeg's progress lines → seconds. */
export function progressSeconds(line: string): number | undefined {
  const m = /time=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : undefined;
}

/** Decodes the whole input to nowhere to learn its length (containers that do not state a duration). */
export async function measureDuration(
  tools: MediaTools,
  path: string,
  signal?: AbortSignal,
): Promise<number> {
  let seconds = 0;
  await run(
    tools.ffmpeg,
    ['-hide_banner', '-nostdin', '-i', path, '-vn', '-f', 'null', '-'],
    signal,
    (line) => {
      const t = progressSeconds(line);
      if (t !== undefined) seconds = t;
    },
  );
  return seconds;
}

/**
 * Transcodes the first audio stream to the compact format; with `detectSilence` the same pass runs
 * silencedetect and returns the silences (where long audio can be cut).
 */
export async function transcodeCompact(
  tools: MediaTools,
  input: string,
  output: string,
  opts: {
    detectSilence: boolean;
    duration: number | undefined;
    signal?: AbortSignal;
    /** only this channel of a multichannel input (0 = left) */
    channel?: number;
  },
): Promise<Silence[]> {
  const parser = new SilenceParser();
  const args = ['-hide_banner', '-nostdin', '-nostats', '-y', '-i', input, '-map', '0:a:0', '-vn'];
  const filters = [
    ...(opts.channel !== undefined ? [`pan=mono|c0=c${opts.channel}`] : []),
    ...(opts.detectSilence ? [`silencedetect=noise=${SILENCE_NOISE}:d=${SILENCE_MIN_SECONDS}`] : []),
  ];
  if (filters.length > 0) args.push('-af', filters.join(','));
  args.push(
    '-ac',
    '1',
    '-ar',
    String(COMPACT.sampleRate),
    '-c:a',
    'libmp3lame',
    '-b:a',
    COMPACT.bitrate,
    '-compression_level',
    '7',
    output,
  );
  await run(tools.ffmpeg, args, opts.signal, opts.detectSilence ? (l) => parser.line(l) : undefined);
  return parser.finish(opts.duration);
}

/** Copies [start, end) seconds of a compact file into its own file (no re-encoding). */
export async function cut(
  tools: MediaTools,
  input: string,
  output: string,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<void> {
  await run(
    tools.ffmpeg,
    [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-y',
      '-ss',
      start.toFixed(3),
      '-t',
      (end - start).toFixed(3),
      '-i',
      input,
      '-c',
      'copy',
      output,
    ],
    signal,
  );
}
