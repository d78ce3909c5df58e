import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type PutOptions, type Storage, StorageNotFoundError } from './storage.ts';
import { isSafeKey, signUrl } from './url-signing.ts';

/**
 * The embedded default: objects are files under `<dataDir>/objects`. Writes go to a temp file and are renamed
 * into place, so a reader never sees half an object and a failed write leaves nothing behind.
 */
export class LocalStorage implements Storage {
  readonly kind = 'local' as const;
  readonly root: string;
  readonly secret: string;
  readonly baseUrl: string;

  private constructor(root: string, secret: string, baseUrl: string) {
    this.root = root;
    this.secret = secret;
    this.baseUrl = baseUrl;
  }

  /** The signing secret comes from config, else from `<dataDir>/.url-signing-key` (created once). */
  static async open(dataDir: string, baseUrl: string, secret?: string): Promise<LocalStorage> {
    const root = resolve(dataDir);
    await mkdir(join(root, 'objects'), { recursive: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    return new LocalStorage(root, secret ?? (await loadOrCreateSecret(root)), baseUrl);
  }

  path(key: string): string {
    if (!isSafeKey(key)) throw new Error(`unsafe storage key: ${key}`);
    return join(this.root, 'objects', key);
  }

  async put(key: string, body: Readable | Buffer | string, opts: PutOptions): Promise<{ bytes: number }> {
    const target = this.path(key);
    const tmp = join(this.root, 'tmp', randomUUID());
    if (Buffer.isBuffer(body) || typeof body === 'string') {
      // Small outputs (texts, JSON): one write, no stream machinery.
      const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
      try {
        await writeFile(tmp, data, { signal: opts.signal });
        await this.moveIntoPlace(tmp, target);
        return { bytes: data.length };
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    }
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    const file = createWriteStream(tmp);
    // A stream is most often a new job's upload, whose folder does not exist yet: made while the bytes arrive
    // (a rename into a missing folder would fail first, and cost as much again).
    const folder = mkdir(dirname(target), { recursive: true }).catch(() => undefined);
    try {
      await pipeline(body, count, file, { signal: opts.signal });
      await folder;
      await this.moveIntoPlace(tmp, target);
      return { bytes };
    } catch (err) {
      // A stream destroyed before its file opened still opens (then closes) it: remove after that.
      if (!file.closed) await once(file, 'close').catch(() => {});
      await rm(tmp, { force: true });
      // A folder made for this write alone goes too (rmdir leaves one that holds anything).
      if (await folder) await rmdir(dirname(target)).catch(() => {});
      throw err;
    }
  }

  /** Renames a finished temp file to its key; the key's folder is made only when it is missing. */
  private async moveIntoPlace(tmp: string, target: string): Promise<void> {
    try {
      await rename(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
    }
  }

  /** The object's file, for a reader on this host (no copy); undefined when it does not exist. */
  async localPath(key: string): Promise<string | undefined> {
    const file = this.path(key);
    return (await stat(file).catch(() => undefined))?.isFile() ? file : undefined;
  }

  /**
   * Opens the file, then streams from the open handle: a delete (a DELETE, the retention sweep) before the
   * open is a StorageNotFoundError, one after it no longer matters (the open file stays readable). Checking
   * first and opening later would leave a gap in which the stream fails after the answer has begun.
   */
  async get(key: string): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (err) {
      if (isMissing(err)) throw new StorageNotFoundError(key);
      throw err;
    }
    try {
      // A key naming a folder (the prefix of other keys) is no object.
      if (!(await handle.stat()).isFile()) throw new StorageNotFoundError(key);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle.createReadStream();
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch {
      return false;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const clean = prefix.replace(/\/$/, '');
    if (!isSafeKey(clean)) throw new Error(`unsafe storage prefix: ${prefix}`);
    await rm(join(this.root, 'objects', clean), { recursive: true, force: true });
  }

  async signedUrl(key: string, expiresInSeconds: number, opts?: { baseUrl?: string }): Promise<string> {
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    return signUrl(opts?.baseUrl ?? this.baseUrl, this.secret, key, expires);
  }

  fileLink(key: string, expiresInSeconds: number, opts?: { baseUrl?: string }): Promise<string> {
    return this.signedUrl(key, expiresInSeconds, opts);
  }

  async linkSecret(): Promise<string> {
    return this.secret;
  }

  async ping(): Promise<void> {
    await stat(join(this.root, 'objects'));
  }
}

/** The file (or a folder on its path) does not exist, or a path component is a file. */
const isMissing = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

async function loadOrCreateSecret(root: string): Promise<string> {
  const file = join(root, '.url-signing-key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    await writeFile(file, secret, { mode: 0o600, flag: 'wx' }).catch(() => {});
    return (await readFile(file, 'utf8')).trim();
  }
}
