import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from '../../shared/errors.ts';

const REALM = 'voicebot admin';

const sameSecret = (given: string, expected: string) =>
  timingSafeEqual(
    createHash('sha256').update(given).digest(),
    createHash('sha256').update(expected).digest(),
  );

/** The token a request presents: `Authorization: Bearer <token>`, or basic auth's password (any user). */
export function presentedToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization)?.[1];
  if (!basic) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/**
 * Operators only. With `ADMIN_TOKEN`: `Authorization: Bearer <token>`, or HTTP basic auth with any user name
 * and the token as password (so a browser can log in: a 401 carries a Basic challenge). Without it the
 * dashboard is open in development only and refused everywhere else.
 */
export function adminAuth(opts: { token: string | undefined; env: string }): RequestHandler {
  return (req, _res, next) => {
    if (!opts.token) {
      if (opts.env === 'development') return next();
      throw new HttpError(
        403,
        'admin_disabled',
        'The queue dashboard is disabled: set ADMIN_TOKEN to enable it (it is open without one only when NODE_ENV=development).',
      );
    }
    const given = presentedToken(req.get('authorization'));
    if (given === undefined || !sameSecret(given, opts.token)) {
      throw new HttpError(
        401,
        'unauthorized',
        'Operators only: log in with the admin token (basic auth password, any user) or send "Authorization: Bearer <ADMIN_TOKEN>".',
        { headers: { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` } },
      );
    }
    next();
  };
}
