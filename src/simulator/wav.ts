/**
 * WAV (RIFF, PCM) without external tools: duration from a header (read by src/shared/wav-header.ts), a header
 * for new audio, a tone.
 */
import { open } from 'node:fs/promises';
import { readWavHeader, type WavFormat } from '../shared/wav-header.ts';

/** The layout of new PCM audio. */
export type PcmLayout = Pick<WavFormat, 'sampleRate' | 'channels' | 'bitsPerSample'>;

/** Duration in seconds from a WAV file's header, or undefined when it is not a WAV file. */
export async function wavDuration(path: string): Promise<number | undefined> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    return readWavHeader(head, size)?.duration;
  } finally {
    await fh.close();
  }
}

/** A 44-byte PCM WAV header for `dataBytes` bytes of samples. */
export function wavHeader(dataBytes: number, f: PcmLayout): Buffer {
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
  const header = readWavHeader(wav);
  if (header) wav.writeUInt32LE(wav.length - header.dataOffset, header.dataOffset - 4);
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
