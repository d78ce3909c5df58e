/**
 * The guard on outbound requests to addresses a client gives (webhook_url, audio_url), against SSRF:
 * http(s) only, and the host must not be — or resolve to — loopback, private, link-local (cloud metadata),
 * CGNAT, multicast, unspecified or reserved addresses, in IPv4 or IPv6 form (IPv4-mapped included).
 * `guardedLookup` does the one DNS lookup, checks its answer and hands that same address to the socket: no
 * second lookup to rebind. safe-request.ts makes the requests through it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** True when the address is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d or ::ffff:7f00:1) and IPv4-compatible forms carry an IPv4 address.
  const mapped = /^(?:0*:)*:?ffff:(.+)$/.exec(lower)?.[1] ?? /^::(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (mapped) {
    if (isIP(mapped) === 4) return blocked.check(mapped, 'ipv4');
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(mapped);
    if (hex) {
      const n = (Number.parseInt(hex[1] ?? '0', 16) << 16) | Number.parseInt(hex[2] ?? '0', 16);
      return blocked.check([24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.'), 'ipv4');
    }
    return true;
  }
  return blocked.check(lower, 'ipv6');
}

export class UnsafeUrlError extends Error {
  override name = 'UnsafeUrlError';
}

/** Throws UnsafeUrlError for a URL we must not call; resolves the host name to check it. */
export async function assertPublicUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError('not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UnsafeUrlError('only http and https URLs are allowed');
  if (url.username || url.password) throw new UnsafeUrlError('URLs with credentials are not allowed');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await resolveAll(host)).map((a) => a.address);
  if (addresses.length === 0) throw new UnsafeUrlError(`${host} does not resolve`);
  const bad = addresses.find(isPrivateAddress);
  if (bad)
    throw new UnsafeUrlError(
      `${host} is a private or reserved address (${bad}); only public addresses are allowed`,
    );
  return url;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, addresses) =>
      err ? reject(new UnsafeUrlError(`${host} does not resolve`)) : resolve(addresses),
    ),
  );
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for node:http(s) requests: one DNS lookup, every answer checked, and the socket connects to the
 * checked address. (Literal IP hosts skip lookup, so check them with `assertPublicUrl` first.)
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = allowPrivate ? undefined : addresses.find((a) => isPrivateAddress(a.address));
      if (bad)
        return callback(
          Object.assign(new UnsafeUrlError(`${hostname} resolves to a private address`), {
            code: 'EPRIVATE',
          }),
          [],
        );
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}
