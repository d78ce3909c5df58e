import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks headers for one delivery: `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature` — one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, space-separated,
 * so receivers keep verifying while a secret is rotated (sign with the new and the old one).
 */
export function signWebhook(
  secrets: string[],
  id: string,
  timestamp: Date,
  body: string,
): Record<string, string> {
  const signatures = secrets.map((s) => new Webhook(s).sign(id, timestamp, body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
