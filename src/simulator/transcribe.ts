/**
 * Audio file → transcript. Real recognition (ffmpeg + pocketsphinx) when both are available, else a
 * deterministic text naming the input. Results are cached by content hash: benchmarks send the same
 * sample thousands of times, and recognition costs about a sixth of real time on one core.
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { probeAudio, type Toolbox, toRecognizerWav } from './audio-tools.ts';
import { segmentPitches } from './diarize.ts';
import { ApiError } from './http-util.ts';
import { recognize, type Segment, toSegments, type Word } from './recognize.ts';
import { wavDuration } from './wav.ts';

export interface Transcript {
  text: string;
  /** Seconds of audio in the whole upload. */
  duration: number;
  segments: Segment[];
  words: Word[];
  recognized: boolean;
  /** diarize: the median pitch (Hz) of each segment, NaN where unvoiced (see diarize.ts) */
  pitches?: number[];
}

export interface AudioFile {
  path: string;
  size: number;
  sha256: string;
  /** Where intermediate files may go (removed by the caller). */
  dir: string;
}

const CACHE_SIZE = 200;

export const invalidFile = () =>
  new ApiError(
    400,
    "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
    { param: 'file', code: 'invalid_value' },
  );

export class Transcriber {
  /** Promises, so concurrent requests for the same bytes share one recognition. */
  readonly #cache = new Map<string, Promise<Transcript>>();
  cacheHits = 0;

  transcribe(
    file: AudioFile,
    tools: Toolbox,
    maxSeconds: number,
    opts: { diarize?: boolean } = {},
  ): Promise<Transcript> {
    const real = tools.has('ffmpeg') && tools.has('pocketsphinx');
    const diarize = opts.diarize === true;
    const key = `${file.sha256}:${real ? maxSeconds : 'fallback'}:${tools.has('ffprobe')}:${diarize}`;
    const cached = this.#cache.get(key);
    if (cached) {
      this.cacheHits++;
      return cached;
    }
    const result = this.#compute(file, tools, real, maxSeconds, diarize);
    this.#cache.set(key, result);
    result.catch(() => this.#cache.delete(key));
    if (this.#cache.size > CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    return result;
  }

  async #compute(
    file: AudioFile,
    tools: Toolbox,
    real: boolean,
    maxSeconds: number,
    diarize: boolean,
  ): Promise<Transcript> {
    let duration: number | undefined;
    if (tools.has('ffprobe')) {
      const probe = await probeAudio(file.path);
      if (!probe) throw invalidFile();
      duration = probe.duration;
    } else if (!real && !(await looksLikeAudio(file.path))) {
      throw invalidFile();
    }
    duration ??= await wavDuration(file.path);
    if (duration !== undefined && duration < 0.1) {
      throw new ApiError(400, 'Audio file is too short. Minimum audio length is 0.1 seconds.', {
        param: 'file',
        code: 'audio_too_short',
      });
    }
    if (!real) {
      const text = `[simulated transcript of ${file.size} bytes, sha256 ${file.sha256.slice(0, 16)}]`;
      const end = duration ?? 0;
      return {
        text,
        duration: end,
        segments: [{ start: 0, end, text, words: [] }],
        words: [],
        recognized: false,
      };
    }
    const wav = join(file.dir, 'recognizer.wav');
    // Without a known duration the whole file is decoded, so its length can be measured.
    const limit = duration === undefined ? Infinity : maxSeconds;
    try {
      await toRecognizerWav(file.path, wav, limit);
    } catch {
      throw invalidFile();
    }
    const decoded = Math.max(0, ((await stat(wav)).size - 44) / 32_000);
    duration ??= decoded;
    const { segments, words } = toSegments(await recognize(wav, decoded));
    const pitches = diarize ? await segmentPitches(wav, segments) : undefined;
    return {
      text: segments.map((s) => s.text).join(' '),
      duration,
      segments,
      words,
      recognized: true,
      ...(pitches ? { pitches } : {}),
    };
  }
}

/** Without ffmpeg/ffprobe: accept files whose first bytes are a known audio container. */
async function looksLikeAudio(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await fh.read(head, 0, 12, 0);
    if (bytesRead < 4) return false;
    const ascii = head.toString('latin1');
    return (
      ascii.startsWith('RIFF') ||
      ascii.startsWith('ID3') ||
      ascii.startsWith('OggS') ||
      ascii.startsWith('fLaC') ||
      ascii.slice(4, 8) === 'ftyp' ||
      head.readUInt32BE(0) === 0x1a45dfa3 || // EBML: WebM / Matroska
      (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0) // MPEG audio frame sync
    );
  } finally {
    await fh.close();
  }
}
