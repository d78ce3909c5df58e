import type { Config } from '../config.ts';
import { PermanentError, RetryableError, StorageError } from '../errors.ts';
import { LocalStorage } from './local-storage.ts';
import { type Storage, StorageNotFoundError } from './storage.ts';

export { LocalStorage } from './local-storage.ts';
export type { PutOptions, Storage } from './storage.ts';
export { readAll, StorageNotFoundError } from './storage.ts';

/** S3 when `S3_BUCKET` is set, else the local directory (the embedded default). */
export async function createStorage(config: Config): Promise<Storage> {
  const { s3, dataDir, signingSecret } = config.storage;
  if (s3) {
    // Loaded only when used: the AWS SDK is a large share of a process's memory, and the local directory
    // (the embedded default) does not need it.
    const { S3Storage } = await import('./s3-storage.ts');
    return faultsTagged(new S3Storage(s3, config.publicUrl, signingSecret));
  }
  return faultsTagged(await LocalStorage.open(dataDir, config.publicUrl, signingSecret));
}

const TAGGED = ['put', 'get', 'getText', 'exists', 'deletePrefix'] as const;

/**
 * The store's faults become `StorageError`s (a missing object stays `StorageNotFoundError`), so a stage that
 * meets one reports the store, not the provider, and retries.
 */
function faultsTagged(storage: Storage): Storage {
  for (const name of TAGGED) {
    const fn = storage[name].bind(storage) as (...args: unknown[]) => Promise<unknown>;
    (storage as unknown as Record<string, unknown>)[name] = (...args: unknown[]) =>
      fn(...args).catch((err: unknown) => {
        const e = err as Error;
        // Not the store's fault: a missing object, an abort, or an error of the body being written (e.g. a
        // download found not to be audio), which keeps its own classification.
        if (
          err instanceof StorageNotFoundError ||
          err instanceof StorageError ||
          err instanceof PermanentError ||
          err instanceof RetryableError ||
          e?.name === 'AbortError'
        )
          throw err;
        throw new StorageError(name, err);
      });
  }
  return storage;
}
