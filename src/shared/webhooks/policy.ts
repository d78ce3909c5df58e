import type { ApiKeys } from '../api-keys.ts';
import type { Config } from '../config.ts';
import { HttpError } from '../errors.ts';

/**
 * A job (or batch) with a webhook_url must be signable: by WEBHOOK_SECRET or by the client's own secret (made
 * with its API key). Otherwise it is refused — in production, unless ALLOW_UNSIGNED_WEBHOOKS=true — since
 * receivers could not tell our webhooks from forgeries.
 */
export async function assertWebhookSignable(
  deps: { config: Pick<Config, 'webhooks'>; keys: ApiKeys },
  clientId: string,
): Promise<void> {
  const { webhooks } = deps.config;
  if (webhooks.allowUnsigned || webhooks.secrets.length > 0) return;
  if ((await deps.keys.client(clientId))?.webhook_secret) return;
  throw new HttpError(
    400,
    'webhook_secret_missing',
    'webhook_url refused: no webhook signing secret applies to your client, and unsigned webhooks are off. ' +
      "The operator sets WEBHOOK_SECRET, or gives you an API key of your own (`voicebot keys create`: it comes with your client's webhook secret).",
  );
}
