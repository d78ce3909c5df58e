import { Readable } from 'node:stream';

/** A WAV header (PCM 16-bit, mono unless `channels`) announcing `dataBytes` of samples. */
export function wavHeader(dataBytes: number, sampleRate = 16_000, channels = 1): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2 * channels, 28);
  h.writeUInt16LE(2 * channels, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/**
 * A generated WAV of `totalBytes` (header included), produced lazily in 64 KB chunks: never in memory.
 * 16 kHz mono unless `format` says otherwise (e.g. 48 kHz stereo: 500 MB is 45 minutes instead of 4.5 hours).
 */
export function wavStream(
  totalBytes: number,
  format: { sampleRate?: number; channels?: number } = {},
): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i += 2) chunk.writeInt16LE(Math.round(Math.sin(i / 20) * 8000), i);
  let left = totalBytes - 44;
  let first = true;
  return new Readable({
    read() {
      if (first) {
        first = false;
        this.push(wavHeader(totalBytes - 44, format.sampleRate, format.channels));
        return;
      }
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}
