import type { Request } from 'express';
import type { Config } from '../shared/config.ts';

/** A Host header as browsers and HTTP clients send it: a name or an IP literal, and an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The origin a response's local-storage links start with. With PUBLIC_URL set, that (undefined here: the
 * storage's default). Without it, the origin the request itself came in on, so a page or client that
 * reached the API as http://127.0.0.1:3000 gets links to 127.0.0.1 and one on http://localhost:3000 links
 * to localhost; the links are signed, so naming another host in the request only breaks its own links.
 */
export function linkBase(req: Request, config: Config): string | undefined {
  if (!config.publicUrlFromRequest) return undefined;
  const host = req.get('host');
  return host && HOST.test(host) ? `${req.protocol}://${host}` : undefined;
}
