/**
 * Secure by default in production: the API does not start open by accident, and says at boot how it is
 * exposed. Every opening in production is an explicit opt-in (ALLOW_OPEN_API, ALLOW_PUBLIC_METRICS,
 * ALLOW_UNSIGNED_WEBHOOKS), logged as a warning. See SECURITY.md, "Production".
 */
import type { ApiKeys } from '../shared/api-keys.ts';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';

/** The API refuses to start: the message says why and what to set. The entry logs it and exits 1. */
export class BootRefused extends Error {
  override name = 'BootRefused';
}

/** What each opt-in opens, for its warning line. */
const OPT_IN_EFFECT: Record<Config['optIns'][number], string> = {
  ALLOW_OPEN_API: 'with no API key defined, anyone may submit jobs (they act for the "public" client)',
  ALLOW_PUBLIC_METRICS: '/metrics, with per-client usage and cost, is served on the public port to anyone',
  ALLOW_UNSIGNED_WEBHOOKS:
    'jobs may ask for webhooks that are sent unsigned (receivers cannot tell forgeries)',
};

/**
 * Registers INITIAL_API_KEY when no key exists yet, then refuses to start in production with no API key unless
 * ALLOW_OPEN_API is set. Returns how requests are authenticated right now (for the posture line). Keys
 * created later are picked up by the auth middleware within seconds, as always.
 */
export async function checkApiKeys(config: Config, keys: ApiKeys, log: Logger): Promise<string> {
  if (config.auth.initialKey && (await keys.registerInitial(config.auth.initialKey)))
    log.info('no API key existed: registered INITIAL_API_KEY (client "default")');
  if (await keys.anyDefined()) return 'api keys';
  if (!config.auth.allowOpen)
    throw new BootRefused(
      'Refusing to start: NODE_ENV=production and no API key exists, so anyone could submit jobs on your provider account. ' +
        'Create a key with `voicebot keys create --name <client>` (or set INITIAL_API_KEY from your secret store), ' +
        'or set ALLOW_OPEN_API=true to run open on purpose.',
    );
  return config.env === 'production'
    ? 'open: no API key (ALLOW_OPEN_API=true)'
    : `open until the first API key exists (${config.env})`;
}

/** The security posture at a glance: one field per exposure an operator must know about. */
export function securityPosture(config: Config, auth: string): Record<string, string> {
  const { metrics, webhooks, admin } = config;
  const publicMetrics = {
    open: 'open on the public port',
    token: 'METRICS_TOKEN on the public port',
    internal: 'not on the public port',
  }[metrics.publicPort];
  const internalMetrics = metrics.apiServesPort
    ? `; port ${metrics.port}${metrics.token ? ' (METRICS_TOKEN)' : ''}`
    : '';
  const signing =
    webhooks.secrets.length > 0
      ? `signed (WEBHOOK_SECRET${webhooks.secrets.length > 1 ? `, ${webhooks.secrets.length} while rotating` : ''}; a client's own secret first)`
      : webhooks.allowUnsigned
        ? `signed with the client's own secret, else unsigned (${config.env === 'production' ? 'ALLOW_UNSIGNED_WEBHOOKS=true' : config.env})`
        : "signed with the client's own secret; webhook_url refused for a client without one (no WEBHOOK_SECRET)";
  return {
    auth,
    metrics: `${publicMetrics}${internalMetrics}${metrics.clientLabels ? '' : '; no client labels'}`,
    webhooks: signing,
    cors: config.corsOrigins.length > 0 ? config.corsOrigins.join(', ') : 'none (same origin only)',
    admin: admin.token
      ? `ADMIN_TOKEN${admin.readOnly ? ', read-only' : ''}`
      : config.env === 'development'
        ? 'open (development, no ADMIN_TOKEN)'
        : 'disabled (no ADMIN_TOKEN)',
  };
}

/** One `security posture` line, and a warning for each production opt-in that is set. */
export function logSecurityPosture(config: Config, auth: string, log: Logger): void {
  for (const name of config.optIns)
    log.warn({ opt_in: name }, `${name}=true: ${OPT_IN_EFFECT[name]} (explicit opt-in)`);
  const posture = securityPosture(config, auth);
  const line = Object.entries(posture)
    .map(([k, v]) => `${k}: ${v}`)
    .join(' | ');
  log.info({ security: posture, env: config.env }, `security posture — ${line}`);
}

/** For the entries' `startApi(…).catch(…)`: a refused boot is one fatal line and exit 1; anything else rethrows. */
export function exitIfRefused(log: Logger): (err: unknown) => never {
  return (err) => {
    if (!(err instanceof BootRefused)) throw err;
    log.fatal(err.message);
    process.exit(1);
  };
}
