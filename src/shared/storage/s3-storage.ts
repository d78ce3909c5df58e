import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type PutOptions, readAll, type Storage, StorageNotFoundError } from './storage.ts';
import { signUrl } from './url-signing.ts';

/** Where the bucket keeps the secret of the API's file links when URL_SIGNING_SECRET is not set. */
const LINK_SECRET_KEY = '.url-signing-key';

export interface S3Settings {
  bucket: string;
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
}

/** S3 or any S3-compatible store. Credentials come from the AWS default chain (env, profile, role). */
export class S3Storage implements Storage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  readonly #publicUrl: string;
  #secret: Promise<string> | undefined;

  /**
   * `publicUrl`: the API's origin, for `fileLink`s. `signingSecret` (URL_SIGNING_SECRET) signs them; unset, a
   * secret kept in the bucket (made once) does, so every API and worker process signs alike.
   */
  constructor(s: S3Settings, publicUrl = '', signingSecret?: string) {
    this.bucket = s.bucket;
    this.#publicUrl = publicUrl;
    if (signingSecret) this.#secret = Promise.resolve(signingSecret);
    this.client = new S3Client({
      region: s.region,
      endpoint: s.endpoint,
      forcePathStyle: s.forcePathStyle,
      // Retries belong to BullMQ at the stage level; one quick retry here absorbs a dropped connection.
      maxAttempts: 2,
    });
  }

  /** Streams the body as a multipart upload (5 MB parts, 2 in flight); a failed upload is aborted. */
  async put(key: string, body: Readable | Buffer | string, opts: PutOptions): Promise<{ bytes: number }> {
    let bytes = 0;
    let stream: Readable | Buffer | string = body;
    if (body instanceof Readable) {
      stream = body.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            cb(null, chunk);
          },
        }),
      );
      body.once('error', (err) => (stream as Readable).destroy(err));
    } else {
      bytes = Buffer.byteLength(body);
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: stream, ContentType: opts.contentType },
      queueSize: 2,
      partSize: 5 * 1024 * 1024,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
      return { bytes };
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: signal,
      });
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(key);
      throw err;
    }
  }

  async getText(key: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      return (await readAll(await this.get(key, signal))).toString('utf8');
    } catch (err) {
      if (err instanceof StorageNotFoundError) return undefined;
      throw err;
    }
  }

  async exists(key: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: signal,
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (objects.length > 0) {
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects } }),
        );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async signedUrl(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  async fileLink(key: string, expiresInSeconds: number, opts?: { baseUrl?: string }): Promise<string> {
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    return signUrl(opts?.baseUrl ?? this.#publicUrl, await this.linkSecret(), key, expires);
  }

  linkSecret(): Promise<string> {
    this.#secret ??= this.#loadOrCreateSecret();
    this.#secret.catch(() => {
      this.#secret = undefined;
    });
    return this.#secret;
  }

  /** The bucket's link secret; the first process to need one makes it (a race keeps whichever was stored last). */
  async #loadOrCreateSecret(): Promise<string> {
    const stored = await this.getText(LINK_SECRET_KEY);
    if (stored?.trim()) return stored.trim();
    await this.put(LINK_SECRET_KEY, randomBytes(32).toString('base64url'), { contentType: 'text/plain' });
    return ((await this.getText(LINK_SECRET_KEY)) ?? '').trim();
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
