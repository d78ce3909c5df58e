/** WAV (RIFF, PCM) without external tools: duration from a header, a header for new audio, a tone. */
import { open } from 'node:fs/promises';

export interface WavFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

/** Duration in seconds from a WAV file's header, or undefined when it is not a WAV file. */
export async function wavDuration(path: string): Promise<number | undefined> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    return wavDurationFrom(head, size);
  } finally {
    await fh.close();
  }
}

/** Walks the RIFF chunks of `head` (the first bytes of a file of `fileSize` bytes). */
export function wavDurationFrom(head: Buffer, fileSize: number): number | undefined {
  if (
    head.length < 12 ||
    head.toString('ascii', 0, 4) !== 'RIFF' ||
    head.toString('ascii', 8, 12) !== 'WAVE'
  ) {
    return undefined;
  }
  let byteRate = 0;
  for (let at = 12; at + 8 <= head.length; ) {
    const id = head.toString('ascii', at, at + 4);
    const size = head.readUInt32LE(at + 4);
    if (id === 'fmt ' && at + 16 <= head.length) byteRate = head.readUInt32LE(at + 16);
    if (id === 'data') {
      if (byteRate === 0) return undefined;
      // Streamed WAVs carry a placeholder size: trust the file size then.
      const dataBytes = Math.min(size, fileSize - (at + 8));
      return dataBytes / byteRate;
    }
    at += 8 + size + (size % 2);
  }
  return undefined;
}

/** A 44-byte PCM WAV header for `dataBytes` bytes of samples. */
export function wavHeader(dataBytes: number, f: WavFormat): Buffer {
  const h = Buffer.alloc(44);
  const blockAlign = (f.channels * f.bitsPerSample) / 8;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(36 + dataBytes, 0xffffffff), 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(f.channels, 22);
  h.writeUInt32LE(f.sampleRate, 24);
  h.writeUInt32LE(f.sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(f.bitsPerSample, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(dataBytes, 0xffffffff), 40);
  return h;
}

/** Rewrites the RIFF and data sizes of a complete in-memory WAV whose header came from a stream. */
export function fixWavSizes(wav: Buffer): Buffer {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF') return wav;
  wav.writeUInt32LE(wav.length - 8, 4);
  for (let at = 12; at + 8 <= wav.length; ) {
    const id = wav.toString('ascii', at, at + 4);
    if (id === 'data') {
      wav.writeUInt32LE(wav.length - (at + 8), at + 4);
      break;
    }
    const size = wav.readUInt32LE(at + 4);
    at += 8 + size + (size % 2);
  }
  return wav;
}

/**
 * A soft two-tone beep pattern standing in for speech: about 65 ms per character of `text`
 * (at least half a second, at most ten minutes), 24 kHz mono 16-bit.
 */
export function toneWav(text: string, sampleRate = 24_000): Buffer {
  const seconds = Math.min(600, Math.max(0.5, text.length * 0.065));
  const n = Math.round(seconds * sampleRate);
  const pcm = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const word = Math.floor(t / 0.4);
    const freq = 220 + ((text.charCodeAt(word % Math.max(1, text.length)) || 0) % 12) * 30;
    const gap = t % 0.4 > 0.34 ? 0 : 1; // short pauses, like between words
    const v = Math.sin(2 * Math.PI * freq * t) * 0.3 * gap;
    pcm.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  return Buffer.concat([wavHeader(pcm.length, { sampleRate, channels: 1, bitsPerSample: 16 }), pcm]);
}
