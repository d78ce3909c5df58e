// Real services for integration tests; see README.md in this folder for the order they are tried in.
export { containerRuntimeAvailable } from './container-runtime.ts';
export { freePort } from './free-port.ts';
export { type RedisHandle, type StartRedisOptions, startRedis } from './redis.ts';
export { type S3Handle, type StartS3Options, startS3 } from './s3.ts';
export { type ServiceKind, type ServicesMode, servicesMode } from './service-kind.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
