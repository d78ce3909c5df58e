import type { RequestHandler } from 'express';
import type { ApiDeps } from '../deps.ts';

/** GET /healthz — the process is up. */
export const healthz: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  ]);

/** GET /readyz — Redis and storage answer; 503 naming what does not. */
export function readyz(deps: ApiDeps): RequestHandler {
  return async (_req, res) => {
    const checks = await Promise.allSettled([
      within(deps.redis.ping(), 2000),
      within(deps.storage.ping(), 2000),
    ]);
    const [redis, storage] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unavailable'));
    const ok = redis === 'ok' && storage === 'ok';
    res
      .status(ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ok ? 'ok' : 'unavailable', checks: { redis, storage } });
  };
}
