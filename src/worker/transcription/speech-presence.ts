/**
 * Blank recordings: before any provider call, the input's sound is measured — 16-bit PCM WAV here, frame by
 * frame (20 ms RMS against the threshold), anything else by one ffmpeg pass (silencedetect and volumedetect) —
 * to learn how much of it is louder than a whisper. A recording that is silent throughout (or holds less
 * than MIN_SPEECH_SECONDS of sound) has no speech: the job ends with `no_speech: true` and nothing is paid.
 * This is an energy measure, not a voice detector: steady noise louder than SILENCE_NOISE counts as sound.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { readWavHeader, WAV_EXTENSIBLE, WAV_PCM } from '../../shared/wav-header.ts';
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
  /** the file's bytes when they are already in memory (nothing is read again) */
  data?: Buffer,
): Promise<SpeechPresence> {
  // Short 16-bit PCM WAV (most voicemail): measured here, without a process spawn per job.
  const pcm = data ? measurePcm(data) : await measurePcmWav(path, signal);
  if (pcm) return pcm;
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

/** 20 ms frames louder than the silence threshold, like silencedetect's; undefined when not 16-bit PCM WAV. */
const FRAME_SECONDS = 0.02;
const JS_MAX_SECONDS = 120;
const SILENCE_DB = -45;

/** A 16-bit PCM WAV in memory. */
function measurePcm(data: Buffer): SpeechPresence | undefined {
  const format = pcmFormat(data.subarray(0, 4096), data.length);
  if (!format || format.dataBytes / (format.rate * format.channels * 2) > JS_MAX_SECONDS) return undefined;
  const meter = new LoudnessMeter(format);
  meter.add(data.subarray(format.dataAt, format.dataAt + format.dataBytes));
  return meter.result();
}

async function measurePcmWav(path: string, signal?: AbortSignal): Promise<SpeechPresence | undefined> {
  const fh = await open(path, 'r');
  let format: PcmLayout | undefined;
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    format = pcmFormat(head.subarray(0, bytesRead), (await fh.stat()).size);
  } finally {
    await fh.close();
  }
  if (!format) return undefined;
  const { channels, rate, dataAt, dataBytes } = format;
  // Longer audio: ffmpeg's C loop beats this one, and its spawn no longer matters.
  if (dataBytes / (rate * channels * 2) > JS_MAX_SECONDS) return undefined;
  const meter = new LoudnessMeter(format);
  const stream = createReadStream(path, { start: dataAt, end: dataAt + dataBytes - 1, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) meter.add(chunk);
  return meter.result();
}

/**
 * The first `count` little-endian 16-bit samples of `buf` as an Int16Array over the same memory (copied once when
 * the bytes sit at an odd offset); undefined on a big-endian host, which reads them one by one instead.
 */
function samplesOf(buf: Buffer, count: number): Int16Array | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  if (buf.byteOffset % 2 === 0) return new Int16Array(buf.buffer, buf.byteOffset, count);
  return new Int16Array(Uint8Array.prototype.slice.call(buf, 0, count * 2).buffer);
}
const LITTLE_ENDIAN = endianness() === 'LE';

/** Peak and 20 ms RMS frames of 16-bit PCM, fed in chunks of any length. */
class LoudnessMeter {
  readonly #frameSamples: number;
  readonly #threshold = 10 ** (SILENCE_DB / 20) * 32768;
  #peak = 0;
  #sumSquares = 0;
  #inFrame = 0;
  #loudFrames = 0;
  #carry: Buffer | undefined;

  constructor(format: { rate: number; channels: number }) {
    this.#frameSamples = Math.max(1, Math.round(format.rate * FRAME_SECONDS)) * format.channels;
  }

  add(chunk: Buffer): void {
    const buf = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const count = buf.length >> 1;
    this.#carry = buf.length % 2 ? buf.subarray(count * 2) : undefined;
    const samples = samplesOf(buf, count);
    const frame = this.#frameSamples;
    const threshold = this.#threshold;
    let peak = this.#peak;
    let sumSquares = this.#sumSquares;
    let inFrame = this.#inFrame;
    let loudFrames = this.#loudFrames;
    for (let i = 0; i < count; i++) {
      const v = samples ? (samples[i] as number) : buf.readInt16LE(i * 2);
      const a = v < 0 ? -v : v;
      if (a > peak) peak = a;
      sumSquares += v * v;
      if (++inFrame === frame) {
        if (Math.sqrt(sumSquares / inFrame) > threshold) loudFrames++;
        sumSquares = 0;
        inFrame = 0;
      }
    }
    this.#peak = peak;
    this.#sumSquares = sumSquares;
    this.#inFrame = inFrame;
    this.#loudFrames = loudFrames;
  }

  result(): SpeechPresence {
    const soundSeconds = this.#loudFrames * FRAME_SECONDS;
    const maxVolumeDb = this.#peak === 0 ? Number.NEGATIVE_INFINITY : 20 * Math.log10(this.#peak / 32768);
    return {
      speech: maxVolumeDb > MAX_VOLUME_SILENT_DB && soundSeconds >= MIN_SPEECH_SECONDS,
      soundSeconds,
      maxVolumeDb,
    };
  }
}

/** A 16-bit PCM WAV's layout from its header (a streamed WAV's bogus data size is capped by the file). */
function pcmFormat(head: Buffer, fileSize: number): PcmLayout | undefined {
  const wav = readWavHeader(head, fileSize);
  // PCM, or WAVE_FORMAT_EXTENSIBLE without a subformat (16-bit files are PCM in practice)
  const pcm16 = wav?.bitsPerSample === 16 && (wav.format === WAV_PCM || wav.format === WAV_EXTENSIBLE);
  if (!pcm16 || wav.channels < 1) return undefined;
  return { channels: wav.channels, rate: wav.sampleRate, dataAt: wav.dataOffset, dataBytes: wav.dataBytes };
}

interface PcmLayout {
  channels: number;
  rate: number;
  dataAt: number;
  dataBytes: number;
}
