import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { HttpError } from '../shared/errors.ts';
import { redisKeys } from '../shared/lifecycle/keys.ts';
import type { ApiDeps } from './deps.ts';

const TTL_SECONDS = 24 * 3600;

/** `Idempotency-Key` header, validated (1–255 visible ASCII characters), or undefined. */
function idempotencyKey(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpError(
      400,
      'invalid_idempotency_key',
      'Idempotency-Key must be 1-255 visible ASCII characters.',
    );
  }
  return key;
}

const redisKey = (deps: ApiDeps, req: Request, key: string) =>
  redisKeys(deps.config.prefix).idempotency(req.clientId, createHash('sha256').update(key).digest('hex'));

/** What makes two requests "the same": every parsed field plus the uploaded bytes' SHA-256. */
export function fingerprintOf(body: unknown, file?: { sha256?: string }): string {
  return createHash('sha256')
    .update(JSON.stringify([canonical(body), file?.sha256 ?? null]))
    .digest('hex');
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, canonical(x)]),
    );
  }
  return v;
}

/**
 * Claims the request's Idempotency-Key for `resourceId` (24 h, per client). Returns the id of the resource a
 * previous request with the same key and body created (replay it), or undefined when this request is the
 * first. The same key with a different body → 409.
 */
export async function claimIdempotency(
  deps: ApiDeps,
  req: Request,
  fingerprint: string,
  resourceId: string,
): Promise<string | undefined> {
  const key = idempotencyKey(req);
  if (!key) return undefined;
  const k = redisKey(deps, req, key);
  const claimed = await deps.redis.set(
    k,
    JSON.stringify({ fingerprint, id: resourceId }),
    'EX',
    TTL_SECONDS,
    'NX',
  );
  if (claimed === 'OK') return undefined;
  return replayedId((await deps.redis.get(k)) ?? '{}', fingerprint);
}

/** Frees the key when the request it was claimed for failed, so a retry can succeed. */
export async function releaseIdempotency(deps: ApiDeps, req: Request): Promise<void> {
  const key = idempotencyKey(req);
  if (key) await deps.redis.del(redisKey(deps, req, key)).catch(() => {});
}

/** An Idempotency-Key claim, written atomically with the job it is for (see Lifecycle.accept). */
export interface IdempotencyClaim {
  key: string;
  value: string;
  ttlSeconds: number;
  fingerprint: string;
}

/** The claim a single-job request makes with its Idempotency-Key, or undefined without one. */
export function idempotencyClaim(
  deps: ApiDeps,
  req: Request,
  fingerprint: string,
  resourceId: string,
): IdempotencyClaim | undefined {
  const key = idempotencyKey(req);
  if (!key) return undefined;
  return {
    key: redisKey(deps, req, key),
    value: JSON.stringify({ fingerprint, id: resourceId }),
    ttlSeconds: TTL_SECONDS,
    fingerprint,
  };
}

/** The resource a stored claim points at, when the request is the same; 409 when the body differs. */
export function replayedId(stored: string, fingerprint: string): string {
  const previous = JSON.parse(stored) as { fingerprint?: string; id?: string };
  if (previous.fingerprint !== fingerprint || !previous.id) {
    throw new HttpError(
      409,
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request body in the last 24 hours.',
    );
  }
  return previous.id;
}
