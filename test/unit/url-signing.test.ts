import { describe, expect, it } from 'vitest';
import { isSafeKey, signUrl, verifySignature } from '../../src/shared/storage/url-signing.ts';

describe('local signed URLs', () => {
  const secret = 's3cret';
  const key = 'jobs/5b0c1d7e-1f1e-4c1a-9a43-0d6f2b0f0a11/reply.mp3';

  it('round-trips a signature until it expires', () => {
    const expires = Math.floor(Date.now() / 1000) + 60;
    const url = new URL(signUrl('http://h', secret, key, expires));
    const sig = url.searchParams.get('sig') ?? '';
    expect(verifySignature(secret, key, expires, sig)).toBe('ok');
    expect(verifySignature(secret, key, expires, sig, (expires + 1) * 1000)).toBe('expired');
  });

  it('refuses a tampered key, expiry or signature', () => {
    const expires = Math.floor(Date.now() / 1000) + 60;
    const sig = new URL(signUrl('http://h', secret, key, expires)).searchParams.get('sig') ?? '';
    expect(verifySignature(secret, key.replace('reply', 'input'), expires, sig)).toBe('bad_signature');
    expect(verifySignature(secret, key, expires + 3600, sig)).toBe('bad_signature');
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    expect(verifySignature(secret, key, expires, flipped)).toBe('bad_signature');
    expect(verifySignature('other', key, expires, sig)).toBe('bad_signature');
  });

  it('accepts only our key shapes', () => {
    expect(isSafeKey(key)).toBe(true);
    for (const bad of [
      '../etc/passwd',
      'jobs/../../x',
      'jobs//x',
      '/abs',
      'jobs/a/..',
      'jobs/%2e%2e/x',
      'a\\b',
      '',
    ]) {
      expect(isSafeKey(bad)).toBe(false);
    }
  });
});
