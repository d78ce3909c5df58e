/** A private temp directory per stage run, removed afterwards whatever happens. */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Storage } from '../../shared/storage/index.ts';

export async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'voicebot-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Streams an object from storage into a file (constant memory, whatever its size). */
export async function download(storage: Storage, key: string, path: string, signal: AbortSignal) {
  const body = await storage.get(key, signal);
  await pipeline(body, createWriteStream(path), { signal });
}
