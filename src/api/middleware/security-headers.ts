import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from '../../shared/config.ts';

/**
 * helmet on every response, with a strict Content-Security-Policy: scripts, styles and connections from
 * this origin only (no inline code), media also from blob: (recordings) and from the S3 endpoint when
 * audio is served by presigned S3 URLs.
 */
export function securityHeaders(config: Config): RequestHandler {
  const s3 = config.storage.s3;
  const s3Origin = s3 ? (s3.endpoint ? new URL(s3.endpoint).origin : 'https://*.amazonaws.com') : undefined;
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        mediaSrc: ["'self'", 'blob:', ...(s3Origin ? [s3Origin] : [])],
        // The inbox reads transcript.json through its presigned link.
        connectSrc: ["'self'", ...(s3Origin ? [s3Origin] : [])],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
}
