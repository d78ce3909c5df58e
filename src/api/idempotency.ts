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

/** An Idempotency-Key claim, written atomically with the job or batch it is for (Lifecycle.accept, acceptBatch). */
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
