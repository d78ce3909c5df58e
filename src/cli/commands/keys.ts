import type { Command } from 'commander';
import { ApiKeys } from '../../shared/api-keys.ts';
import { loadConfig } from '../../shared/config.ts';
import { createRedis } from '../../shared/redis.ts';
import { MAX_KEYTERM_CHARS, MAX_KEYTERMS } from '../../shared/transcript-options.ts';
import { EXIT, type GlobalOptions, print } from '../context.ts';

/** Admin commands: they talk to Redis directly (REDIS_URL, QUEUE_PREFIX), not to the API. */
async function withKeys<T>(fn: (keys: ApiKeys) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = createRedis(config.redis, 'blocking', 'voicebot-cli');
  try {
    return await fn(new ApiKeys(redis, config.prefix));
  } finally {
    redis.disconnect();
  }
}

export function keysCommand(program: Command): void {
  const keys = program.command('keys').description('manage API keys (admin: needs REDIS_URL)');
  keys
    .command('create')
    .description('create a key; it is shown once')
    .requiredOption('--name <name>', 'who the key is for')
    .option('--client <id>', 'add a key to an existing client (default: a new client)')
    .action(async (o: { name: string; client?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { key, record, client } = await withKeys((k) => k.create({ name: o.name, clientId: o.client }));
      print(
        g,
        { key, ...record, webhook_secret: client.webhook_secret },
        [
          `key:            ${key}   (shown once: store it now)`,
          `key id:         ${record.key_id}`,
          `client:         ${record.client_id}`,
          `webhook secret: ${client.webhook_secret}   (verify this client's webhooks with it)`,
        ].join('\n'),
      );
    });
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const list = await withKeys((k) => k.list());
      print(
        g,
        list,
        list
          .map(
            (r) =>
              `${r.key_id}  ${r.client_id}  ${r.name}  created ${r.created_at}  last used ${r.last_used_at ?? 'never'}`,
          )
          .join('\n') || 'no keys: the API runs open',
      );
    });
  keys
    .command('revoke')
    .description('revoke a key by its id')
    .argument('<key-id>', 'as shown by `voicebot keys list`')
    .action(async (keyId: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const ok = await withKeys((k) => k.revoke(keyId));
      print(g, { key_id: keyId, revoked: ok }, ok ? `revoked ${keyId}` : `no key ${keyId}`);
      if (!ok) process.exitCode = EXIT.someFailed;
    });
}

/** `voicebot clients set <id> --keyterms …`: a client's defaults, merged into each of its audio jobs. */
export function clientsCommand(program: Command): void {
  const clients = program.command('clients').description('client settings (admin: needs REDIS_URL)');
  clients
    .command('set')
    .description('set a client’s default keyterms (merged with each audio job’s own)')
    .argument('<client-id>', 'as shown by `voicebot keys list`')
    .requiredOption('--keyterms <terms>', 'comma-separated vocabulary, at most 100 terms ("" clears them)')
    .action(async (clientId: string, o: { keyterms: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const terms = [
        ...new Set(
          o.keyterms
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
        ),
      ];
      if (terms.length > MAX_KEYTERMS || terms.some((t) => t.length > MAX_KEYTERM_CHARS))
        cmd.error(`at most ${MAX_KEYTERMS} keyterms of at most ${MAX_KEYTERM_CHARS} characters`, {
          exitCode: EXIT.usage,
        });
      const ok = await withKeys((k) => k.setKeyterms(clientId, terms));
      print(
        g,
        { client_id: clientId, keyterms: terms, updated: ok },
        ok ? `${clientId}: ${terms.length} keyterms` : `no client ${clientId}`,
      );
      if (!ok) process.exitCode = EXIT.someFailed;
    });
}
