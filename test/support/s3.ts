import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import {
  containerRuntimeAvailable,
  MINIO_PASSWORD,
  MINIO_USER,
  startMinioContainer,
} from './container-runtime.ts';
import { type ServiceKind, startupEnv, uniqueSuffix } from './service-kind.ts';

export interface StartS3Options {
  /** Bucket name. @defaultValue a fresh `test-<random>` bucket per handle */
  bucket?: string;
}

export interface S3Handle {
  /** Base URL, e.g. `http://127.0.0.1:40123` (path-style addressing). */
  readonly endpoint: string;
  /** Created before `startS3()` resolves; one per handle, so test files never share objects. */
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly forcePathStyle: true;
  readonly kind: ServiceKind;
  /** `S3_BUCKET`, `S3_ENDPOINT`, `S3_REGION`, `S3_FORCE_PATH_STYLE`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`. */
  env(): Record<string, string>;
  /** A new `S3Client` for this service; the caller `destroy()`s it. */
  client(): S3Client;
  /** Local: closes s3rver and deletes its dir. Env/container: empties and deletes the bucket. Idempotent. */
  stop(): Promise<void>;
  /** True when `interrupt()` / `resume()` work: the in-process s3rver only. */
  readonly canInterrupt: boolean;
  /** Storage outage: stop answering (connections refused) but keep the data. Local only. */
  interrupt(): Promise<void>;
  /** End the outage: answer again on the same port with the same data. Local only. */
  resume(): Promise<void>;
}

interface Service {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  kind: ServiceKind;
  /** Creates the bucket unless the service already did. */
  createBucket: boolean;
  shutdown(): Promise<void>;
  interrupt?: () => Promise<void>;
  resume?: () => Promise<void>;
}

function makeClient(s: Service): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
}

async function emptyAndDelete(client: S3Client, bucket: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const objects = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (objects.length > 0) {
      await client.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
      );
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

function fromEnv(endpoint: string): Service {
  const accessKeyId = startupEnv.AWS_ACCESS_KEY_ID;
  const secretAccessKey = startupEnv.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      'S3_ENDPOINT is set: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY too (or unset S3_ENDPOINT)',
    );
  }
  const region = startupEnv.S3_REGION || startupEnv.AWS_REGION || 'us-east-1';
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    kind: 'env',
    createBucket: true,
    shutdown: async () => {},
  };
}

async function fromContainer(): Promise<Service> {
  const container = await startMinioContainer();
  return {
    endpoint: `http://${container.getHost()}:${container.getMappedPort(9000)}`,
    region: 'us-east-1',
    accessKeyId: MINIO_USER,
    secretAccessKey: MINIO_PASSWORD,
    kind: 'container',
    createBucket: true,
    shutdown: async () => {
      await container.stop();
    },
  };
}

async function fromS3rver(bucket: string): Promise<Service> {
  const directory = await mkdtemp(join(tmpdir(), 'voicebot-s3rver-'));
  // port 0: the OS picks a free port at bind time, so parallel files cannot collide.
  const make = (port: number) =>
    new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  let server = make(0);
  let running = true;
  try {
    const { port } = await server.run();
    return {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      kind: 'local',
      createBucket: false,
      shutdown: async () => {
        if (running) await server.close();
        running = false;
        await rm(directory, { recursive: true, force: true });
      },
      interrupt: async () => {
        if (!running) return;
        running = false;
        const closing = server.close();
        // Drop open keep-alive connections too: an outage refuses everyone, not only new sockets.
        (
          server as unknown as { httpServer?: { closeAllConnections(): void } }
        ).httpServer?.closeAllConnections();
        await closing;
      },
      resume: async () => {
        if (running) return;
        server = make(port);
        await server.run();
        running = true;
      },
    };
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
}

/**
 * An S3-compatible store with a fresh bucket for one test file: `S3_ENDPOINT` (+ `AWS_*` keys) from the
 * environment when set, else a Testcontainers MinIO when a container runtime answers, else an in-process
 * s3rver in a temp dir. s3rver does not verify SigV4 signatures (it does enforce presigned URL expiry).
 */
export async function startS3(opts: StartS3Options = {}): Promise<S3Handle> {
  const bucket = opts.bucket ?? `test-${uniqueSuffix()}`;
  const envEndpoint = startupEnv.S3_ENDPOINT;
  const service = envEndpoint
    ? fromEnv(envEndpoint)
    : (await containerRuntimeAvailable())
      ? await fromContainer()
      : await fromS3rver(bucket);
  if (service.createBucket) {
    const client = makeClient(service);
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      await service.shutdown();
      throw new Error(`cannot create bucket ${bucket} at ${service.endpoint}`, { cause: err });
    } finally {
      client.destroy();
    }
  }
  let stopped = false;
  return {
    endpoint: service.endpoint,
    bucket,
    region: service.region,
    accessKeyId: service.accessKeyId,
    secretAccessKey: service.secretAccessKey,
    forcePathStyle: true,
    kind: service.kind,
    env: () => ({
      S3_BUCKET: bucket,
      S3_ENDPOINT: service.endpoint,
      S3_REGION: service.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: service.accessKeyId,
      AWS_SECRET_ACCESS_KEY: service.secretAccessKey,
    }),
    client: () => makeClient(service),
    canInterrupt: service.interrupt !== undefined,
    interrupt: async () => {
      if (!service.interrupt)
        throw new Error(`interrupt() needs the local s3rver (this S3 is ${service.kind})`);
      await service.interrupt();
    },
    resume: async () => {
      if (!service.resume) throw new Error(`resume() needs the local s3rver (this S3 is ${service.kind})`);
      await service.resume();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (service.kind === 'env') {
        const client = makeClient(service);
        try {
          await emptyAndDelete(client, bucket);
        } finally {
          client.destroy();
        }
      }
      await service.shutdown();
    },
  };
}
