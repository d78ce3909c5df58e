import type { Config } from '../config.ts';
import { LocalStorage } from './local-storage.ts';
import { S3Storage } from './s3-storage.ts';
import type { Storage } from './storage.ts';

export { LocalStorage } from './local-storage.ts';
export { S3Storage } from './s3-storage.ts';
export type { PutOptions, Storage } from './storage.ts';
export { readAll, StorageNotFoundError } from './storage.ts';

/** S3 when `S3_BUCKET` is set, else the local directory (the embedded default). */
export async function createStorage(config: Config): Promise<Storage> {
  const { s3, dataDir, signingSecret } = config.storage;
  if (s3) return new S3Storage(s3);
  return LocalStorage.open(dataDir, config.publicUrl, signingSecret);
}
