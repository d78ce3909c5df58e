import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureSpeech } from '../../src/worker/transcription/speech-presence.ts';
import { FIXTURES } from '../support/http.ts';

/** 16-bit PCM mono WAV: `silence` seconds of zeros, then `tone` seconds of 440 Hz at `dbfs`. */
function wav(rate: number, silence: number, tone: number, dbfs = -20): Buffer {
  const n = Math.round(rate * (silence + tone));
  const data = Buffer.alloc(n * 2);
  const amplitude = 32767 * 10 ** (dbfs / 20);
  for (let i = Math.round(rate * silence); i < n; i++)
    data.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(36 + data.length, 4);
  head.write('WAVEfmt ', 8, 'ascii');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * 2, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36, 'ascii');
  head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

// ffmpeg is not needed for 16-bit PCM WAV: a missing binary proves it is never spawned.
const tools = { ffmpeg: '/nonexistent/ffmpeg', ffprobe: '/nonexistent/ffprobe' };

describe('speech presence of a 16-bit PCM WAV, measured in process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vb-presence-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const both = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    const streamed = await measureSpeech(tools, path, undefined);
    const inMemory = await measureSpeech(tools, path, undefined, undefined, bytes);
    // The in-memory path (a small input read once) and the streamed one (larger files) agree exactly.
    expect(inMemory).toEqual(streamed);
    return inMemory;
  };

  it('a second of silence then a second of tone: one second of sound, speech', async () => {
    const r = await both('tone.wav', wav(16_000, 1, 1));
    expect(r.speech).toBe(true);
    expect(r.soundSeconds).toBeCloseTo(1, 1);
    expect(r.maxVolumeDb).toBeCloseTo(-20, 0);
  });

  it('all silence, or a whisper below the threshold: no speech', async () => {
    const silent = await both('silent.wav', wav(8_000, 3, 0));
    expect(silent).toMatchObject({ speech: false, soundSeconds: 0, maxVolumeDb: Number.NEGATIVE_INFINITY });
    const whisper = await both('whisper.wav', wav(8_000, 0, 2, -60));
    expect(whisper.speech).toBe(false);
    expect(whisper.soundSeconds).toBe(0);
  });

  it('real speech (the question fixture) is speech for most of its length', async () => {
    const bytes = await readFile(join(FIXTURES, 'question.wav'));
    const r = await both('question.wav', bytes);
    expect(r.speech).toBe(true);
    expect(r.soundSeconds).toBeGreaterThan(1);
  });

  it('samples at an odd byte offset in memory are read the same', async () => {
    const bytes = wav(16_000, 0.5, 0.5);
    const shifted = Buffer.alloc(bytes.length + 1);
    bytes.copy(shifted, 1);
    const odd = shifted.subarray(1);
    expect(odd.byteOffset % 2).toBe(1);
    const path = join(dir, 'odd.wav');
    await writeFile(path, bytes);
    expect(await measureSpeech(tools, path, undefined, undefined, odd)).toEqual(
      await measureSpeech(tools, path, undefined),
    );
  });
});
