/**
 * The WAV header, read once for everyone: the RIFF chunks of a file's first bytes walked up to the `data`
 * chunk. The API reads a WAV upload's channel count, the worker a WAV's duration and sample layout, the
 * simulator a WAV's duration.
 */

/** `fmt ` format tags: PCM, IEEE float, and WAVE_FORMAT_EXTENSIBLE (the real format is its subformat). */
export const WAV_PCM = 1;
export const WAV_FLOAT = 3;
export const WAV_EXTENSIBLE = 0xfffe;

/** What the `fmt ` chunk says. */
export interface WavFormat {
  /**
   * The format tag: WAV_PCM, WAV_FLOAT, …; for WAVE_FORMAT_EXTENSIBLE its subformat's tag when the fmt chunk
   * carries one, else WAV_EXTENSIBLE.
   */
  format: number;
  channels: number;
  sampleRate: number;
  /** bytes per second of audio, as the header says */
  byteRate: number;
  bitsPerSample: number;
}

export interface WavHeader extends WavFormat {
  /** where the samples start */
  dataOffset: number;
  /**
   * the samples' size: the data chunk's, capped by the file (a streamed WAV carries a placeholder size in
   * its header, e.g. 0xffffffff)
   */
  dataBytes: number;
  /** seconds of audio (dataBytes / byteRate); undefined when the header says 0 bytes per second */
  duration: number | undefined;
}

/**
 * The header of a WAV file from `head`, its first bytes (4 KiB hold any real header), and `fileSize`, the
 * whole file's size (defaults to `head`'s: a file held in memory). Chunks before `data` (LIST, fact, …) are
 * skipped, odd-sized ones with their pad byte. Undefined for anything that is not a WAV file, or whose fmt
 * or data chunk is missing from `head` or cut short.
 */
export function readWavHeader(head: Buffer, fileSize = head.length): WavHeader | undefined {
  const found = walk(head, 'data');
  if (found?.dataAt === undefined) return undefined;
  const { fmt, dataAt, dataSize } = found;
  const dataBytes = Math.max(0, Math.min(dataSize, fileSize - dataAt));
  return {
    ...fmt,
    dataOffset: dataAt,
    dataBytes,
    duration: fmt.byteRate > 0 ? dataBytes / fmt.byteRate : undefined,
  };
}

/**
 * The fmt chunk alone: enough for a WAV whose data chunk lies beyond `head` (behind a long LIST chunk, say).
 * Undefined for anything that is not a WAV file, or whose fmt chunk is missing from `head` or cut short.
 */
export function readWavFormat(head: Buffer): WavFormat | undefined {
  return walk(head, 'fmt ')?.fmt;
}

/** Walks the RIFF chunks up to `until`; the fmt chunk must come first (as RIFF WAVE requires). */
function walk(
  head: Buffer,
  until: 'fmt ' | 'data',
): { fmt: WavFormat; dataAt?: number; dataSize: number } | undefined {
  if (head.length < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE')
    return undefined;
  let fmt: WavFormat | undefined;
  for (let at = 12; at + 8 <= head.length; ) {
    const id = head.toString('ascii', at, at + 4);
    const size = head.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      fmt = readFmt(head, at, size);
      if (fmt === undefined || until === 'fmt ') return fmt && { fmt, dataSize: 0 };
    }
    if (id === 'data') return fmt && { fmt, dataAt: at + 8, dataSize: size };
    at += 8 + size + (size % 2);
  }
  return undefined;
}

/** The fmt chunk whose 8-byte chunk header starts at `at`; undefined when shorter than PCM's 16 bytes. */
function readFmt(head: Buffer, at: number, size: number): WavFormat | undefined {
  if (size < 16 || at + 24 > head.length) return undefined;
  const tag = head.readUInt16LE(at + 8);
  // WAVE_FORMAT_EXTENSIBLE: cbSize (2), valid bits (2), channel mask (4), then the subformat GUID, whose
  // first two bytes are the format tag it stands for.
  const extended = tag === WAV_EXTENSIBLE && size >= 40 && at + 34 <= head.length;
  return {
    format: extended ? head.readUInt16LE(at + 32) : tag,
    channels: head.readUInt16LE(at + 10),
    sampleRate: head.readUInt32LE(at + 12),
    byteRate: head.readUInt32LE(at + 16),
    bitsPerSample: head.readUInt16LE(at + 22),
  };
}
