/** A private temp directory per stage run, removed afterwards whatever happens. */
import { createWriteStream } from 'node:fs';
import { copyFile, link, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LocalStorage, type Storage } from '../../shared/storage/index.ts';

const PREFIX = 'voicebot-work-';

export async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), PREFIX));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
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
 * Streams an object from storage into a file (constant memory, whatever its size). From the local directory
 * the file is hard-linked (nothing is copied; the work dir only reads it), or copied by the kernel when the two
 * directories are on different filesystems.
 */
export async function download(storage: Storage, key: string, path: string, signal: AbortSignal) {
  const local = storage instanceof LocalStorage ? await storage.localPath(key) : undefined;
  if (local) return link(local, path).catch(() => copyFile(local, path));
  const body = await storage.get(key, signal);
  await pipeline(body, createWriteStream(path), { signal });
}
