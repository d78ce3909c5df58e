import type { RequestHandler } from 'express';
import { type ApiKeys, OPEN_CLIENT } from '../../shared/api-keys.ts';
import { HttpError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';

declare global {
  namespace Express {
    interface Request {
      /** The API client the request acts for: the key's client, or `public` while no key exists. */
      clientId: string;
    }
  }
}

const CHECK_KEYS_EVERY_MS = 5_000;

/**
 * `Authorization: Bearer <key>` (or `?access_token=` on the event stream, which EventSource cannot send
 * headers for). With no key defined at all the API runs open — every request acts for the `public` client —
 * and says so at start-up; the first `voicebot keys create` closes it within seconds. Without `allowOpen`
 * (production, unless ALLOW_OPEN_API) it never runs open: with every key revoked, every request is refused.
 */
export function authenticate(keys: ApiKeys, log: Logger, opts: { allowOpen: boolean }): RequestHandler {
  let keysDefined: boolean | undefined;
  let checkedAt = 0;
  let warned = false;
  return async (req, _res, next) => {
    if (Date.now() - checkedAt > CHECK_KEYS_EVERY_MS) {
      keysDefined = await keys.anyDefined();
      checkedAt = Date.now();
      if (!keysDefined && opts.allowOpen && !warned) {
        warned = true;
        log.warn(
          'no API keys defined: the API is OPEN (every request acts for the "public" client). Create one with `voicebot keys create`.',
        );
      }
    }
    if (!keysDefined && opts.allowOpen) {
      req.clientId = OPEN_CLIENT;
      return next();
    }
    if (!keysDefined) {
      throw new HttpError(
        401,
        'unauthorized',
        'No API key exists: the operator creates one with `voicebot keys create` (this API does not run open in production).',
        { headers: { 'WWW-Authenticate': 'Bearer realm="voicebot"' } },
      );
    }
    const header = req.get('authorization');
    const token =
      header?.match(/^Bearer\s+(\S+)$/i)?.[1] ??
      (req.path.endsWith('/events') ? req.query.access_token : undefined);
    if (typeof token !== 'string' || token.length === 0) {
      throw new HttpError(401, 'unauthorized', 'Send your API key as "Authorization: Bearer <key>".', {
        headers: { 'WWW-Authenticate': 'Bearer realm="voicebot"' },
      });
    }
    const record = await keys.authenticate(token);
    if (!record) {
      throw new HttpError(401, 'invalid_api_key', 'This API key is not valid (revoked or mistyped).', {
        headers: { 'WWW-Authenticate': 'Bearer realm="voicebot", error="invalid_token"' },
      });
    }
    req.clientId = record.client_id;
    req.log = req.log.child({ client_id: record.client_id });
    next();
  };
}
