import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  readWavFormat,
  readWavHeader,
  WAV_EXTENSIBLE,
  WAV_FLOAT,
  WAV_PCM,
} from '../../src/shared/wav-header.ts';

interface Layout {
  format?: number;
  channels: number;
  sampleRate: number;
  bits: number;
  /** a WAVE_FORMAT_EXTENSIBLE fmt chunk (40 bytes) whose subformat is `format` */
  extensible?: boolean;
  /** chunks between fmt and data, as [id, body size] */
  before?: Array<[string, number]>;
  dataBytes: number;
  /** the data chunk's size field, when it differs from the bytes that follow (a streamed WAV) */
  dataSizeField?: number;
}

const chunk = (id: string, body: Buffer): Buffer => {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'ascii');
  h.writeUInt32LE(body.length, 4);
  // RIFF chunks are padded to an even size; the size field does not count the pad byte.
  return Buffer.concat([h, body, Buffer.alloc(body.length % 2)]);
};

/** A WAV file built chunk by chunk, independently of the reader under test. */
function wav(l: Layout): Buffer {
  const fmt = Buffer.alloc(l.extensible ? 40 : 16);
  const blockAlign = (l.channels * l.bits) / 8;
  fmt.writeUInt16LE(l.extensible ? WAV_EXTENSIBLE : (l.format ?? WAV_PCM), 0);
  fmt.writeUInt16LE(l.channels, 2);
  fmt.writeUInt32LE(l.sampleRate, 4);
  fmt.writeUInt32LE(l.sampleRate * blockAlign, 8);
  fmt.writeUInt16LE(blockAlign, 12);
  fmt.writeUInt16LE(l.bits, 14);
  if (l.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(l.bits, 18);
    fmt.writeUInt16LE(l.format ?? WAV_PCM, 24);
  }
  const others = (l.before ?? []).map(([id, size]) => chunk(id, Buffer.alloc(size, 0x41)));
  const data = chunk('data', Buffer.alloc(l.dataBytes));
  if (l.dataSizeField !== undefined) data.writeUInt32LE(l.dataSizeField, 4);
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), ...others, data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const layout: fc.Arbitrary<Layout> = fc.record({
  channels: fc.integer({ min: 1, max: 8 }),
  sampleRate: fc.constantFrom(8000, 16_000, 22_050, 44_100, 48_000),
  bits: fc.constantFrom(8, 16, 24, 32),
  extensible: fc.boolean(),
  before: fc.array(
    fc.tuple(fc.constantFrom('LIST', 'fact', 'JUNK', 'bext'), fc.integer({ min: 0, max: 301 })),
    {
      maxLength: 4,
    },
  ),
  dataBytes: fc.integer({ min: 0, max: 5000 }),
});

describe('the WAV header reader', () => {
  it('reads format, channels, rate, bits, the data chunk and the duration of any well-formed header', () => {
    fc.assert(
      fc.property(layout, (l) => {
        const file = wav(l);
        const h = readWavHeader(file);
        expect(h).toBeDefined();
        expect(h?.format).toBe(WAV_PCM);
        expect(h?.channels).toBe(l.channels);
        expect(h?.sampleRate).toBe(l.sampleRate);
        expect(h?.bitsPerSample).toBe(l.bits);
        expect(h?.dataOffset).toBe(file.length - l.dataBytes - (l.dataBytes % 2));
        expect(h?.dataBytes).toBe(l.dataBytes);
        expect(h?.duration).toBeCloseTo(l.dataBytes / ((l.sampleRate * l.channels * l.bits) / 8), 9);
        expect(readWavFormat(file)?.channels).toBe(l.channels);
      }),
    );
  });

  it('skips odd-sized chunks with their pad byte', () => {
    const file = wav({ channels: 2, sampleRate: 16_000, bits: 16, before: [['LIST', 27]], dataBytes: 64 });
    // RIFF header 12 + fmt 8+16 + LIST 8+27+1 pad + data header 8
    expect(readWavHeader(file)?.dataOffset).toBe(12 + 24 + 36 + 8);
    expect(readWavHeader(file)?.dataBytes).toBe(64);
  });

  it('finds the data chunk behind a LIST chunk', () => {
    const file = wav({ channels: 1, sampleRate: 8000, bits: 16, before: [['LIST', 200]], dataBytes: 16_000 });
    expect(readWavHeader(file)).toMatchObject({ channels: 1, dataOffset: 12 + 24 + 208 + 8, duration: 1 });
  });

  it('reads WAVE_FORMAT_EXTENSIBLE as its subformat', () => {
    const pcm = wav({ extensible: true, channels: 2, sampleRate: 48_000, bits: 24, dataBytes: 12 });
    expect(readWavHeader(pcm)?.format).toBe(WAV_PCM);
    const float = wav({
      extensible: true,
      format: WAV_FLOAT,
      channels: 1,
      sampleRate: 48_000,
      bits: 32,
      dataBytes: 12,
    });
    expect(readWavHeader(float)?.format).toBe(WAV_FLOAT);
    // a 16-byte fmt chunk tagged extensible carries no subformat: the tag is all there is
    const short = wav({ channels: 1, sampleRate: 8000, bits: 16, dataBytes: 2, format: WAV_EXTENSIBLE });
    expect(readWavHeader(short)?.format).toBe(WAV_EXTENSIBLE);
  });

  it('caps a streamed WAV’s placeholder data size by the file, and by the bytes a head stands for', () => {
    const file = wav({ channels: 1, sampleRate: 8000, bits: 16, dataBytes: 8000, dataSizeField: 0xffffffff });
    expect(readWavHeader(file)?.dataBytes).toBe(8000);
    expect(readWavHeader(file)?.duration).toBe(0.5);
    // only the first 4 KiB in hand, the file's size known
    expect(readWavHeader(file.subarray(0, 4096), file.length)?.duration).toBe(0.5);
  });

  it('gives undefined for anything that is not a whole WAV header', () => {
    const file = wav({ channels: 2, sampleRate: 16_000, bits: 16, dataBytes: 100 });
    const dataAt = readWavHeader(file)?.dataOffset ?? 0;
    expect(readWavHeader(Buffer.alloc(0))).toBeUndefined();
    expect(readWavHeader(Buffer.from('RIFF'))).toBeUndefined();
    expect(readWavHeader(Buffer.from('not a wav file at all'))).toBeUndefined();
    const notWave = Buffer.from(file);
    notWave.write('AVI ', 8, 'ascii');
    expect(readWavHeader(notWave)).toBeUndefined();
    // every cut that ends before the data chunk's header is whole
    for (let n = 0; n < dataAt; n++) expect(readWavHeader(file.subarray(0, n))).toBeUndefined();
    // a fmt chunk shorter than PCM's 16 bytes
    const shortFmt = Buffer.from(file);
    shortFmt.writeUInt32LE(12, 16);
    expect(readWavHeader(shortFmt)).toBeUndefined();
    // data before any fmt chunk
    const noFmt = Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE'), chunk('data', Buffer.alloc(4))]);
    expect(readWavHeader(noFmt)).toBeUndefined();
    expect(readWavFormat(noFmt)).toBeUndefined();
  });

  it('never throws on arbitrary bytes, with or without a RIFF WAVE start', () => {
    const start = Buffer.from('RIFF\0\0\0\0WAVE');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, riff) => {
        const head = riff ? Buffer.concat([start, bytes]) : Buffer.from(bytes);
        expect(() => readWavHeader(head, head.length)).not.toThrow();
        expect(() => readWavFormat(head)).not.toThrow();
      }),
    );
  });

  it('reads the fmt chunk alone when the data chunk lies beyond the head', () => {
    const file = wav({ channels: 2, sampleRate: 16_000, bits: 16, before: [['LIST', 6000]], dataBytes: 10 });
    const head = file.subarray(0, 4096);
    expect(readWavHeader(head, file.length)).toBeUndefined();
    expect(readWavFormat(head)).toMatchObject({ format: WAV_PCM, channels: 2, sampleRate: 16_000 });
  });
});
