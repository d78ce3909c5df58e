/** A private temp directory per stage run, made when first asked for and removed afterwards whatever happens. */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LocalStorage, type Storage } from '../../shared/storage/index.ts';

const PREFIX = 'voicebot-work-';

export type WorkDir = () => Promise<string>;

export async function withWorkDir<T>(fn: (dir: WorkDir) => Promise<T>): Promise<T> {
  let made: Promise<string> | undefined;
  try {
    return await fn(() => {
      made ??= mkdtemp(join(tmpdir(), PREFIX));
      return made;
    });
  } finally {
    const dir = await made?.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes work dirs a killed worker left behind (SIGKILL skips `finally`): those older than `maxAgeMs`,
 * far longer than any stage's preparation takes, so a live worker's dir on the same host is never touched.
 */
export async function sweepStaleWorkDirs(maxAgeMs = 6 * 3600_000): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const info = await stat(dir).catch(() => undefined);
    if (!info || Date.now() - info.mtimeMs < maxAgeMs) continue;
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    removed++;
  }
  return removed;
}

/**
 * An object as a file to read: in the local directory, the object's own file (nothing is copied or linked; it
 * is only read); else streamed from storage into `name` in the work dir (constant memory, whatever its size).
 */
export async function localFile(
  storage: Storage,
  key: string,
  dir: WorkDir,
  name: string,
  signal: AbortSignal,
): Promise<string> {
  const local = storage instanceof LocalStorage ? await storage.localPath(key) : undefined;
  if (local) return local;
  const path = join(await dir(), name);
  const body = await storage.get(key, signal);
  await pipeline(body, createWriteStream(path), { signal });
  return path;
}
