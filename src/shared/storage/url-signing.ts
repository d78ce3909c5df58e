/**
 * HMAC-signed, expiring URLs for the local-directory storage (S3 signs its own).
 * The signature covers the key and the expiry; comparison is constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const FILES_ROUTE = '/files/';

const sign = (secret: string, key: string, expires: number) =>
  createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url');

export function signUrl(baseUrl: string, secret: string, key: string, expires: number): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl}${FILES_ROUTE}${path}?expires=${expires}&sig=${sign(secret, key, expires)}`;
}

export type VerifyResult = 'ok' | 'expired' | 'bad_signature';

export function verifySignature(
  secret: string,
  key: string,
  expires: number,
  sig: string,
  now = Date.now(),
): VerifyResult {
  const expected = Buffer.from(sign(secret, key, expires));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad_signature';
  return expires * 1000 < now ? 'expired' : 'ok';
}

/** Keys are ours (uuid + fixed names); anything else — `..`, empty parts, odd characters — is refused. */
export function isSafeKey(key: string): boolean {
  return (
    /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/.test(key) && !key.split('/').some((p) => p === '..' || p === '.')
  );
}
