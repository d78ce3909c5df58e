#!/usr/bin/env node
/**
 * `voicebot` — the command line for the voicebot API.
 * Exit codes: 0 all succeeded, 1 some failed, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { VoicebotError } from '../../packages/sdk/src/client.ts';
import { batchCommand } from './commands/batch.ts';
import { clientsCommand, keysCommand } from './commands/keys.ts';
import { retryCommand } from './commands/retry.ts';
import { statusCommand } from './commands/status.ts';
import { submitCommand } from './commands/submit.ts';
import { EXIT } from './context.ts';

const program = new Command()
  .name('voicebot')
  .description('Talk to a voicebot service: submit voice or text, follow jobs, run batches, manage keys.')
  .option(
    '--url <url>',
    'API base URL (env VOICEBOT_URL)',
    process.env.VOICEBOT_URL ?? 'http://localhost:3000',
  )
  .option('--api-key <key>', 'API key (env VOICEBOT_API_KEY)', process.env.VOICEBOT_API_KEY)
  .option('--json', 'machine-readable output, one JSON value per line')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

submitCommand(program);
batchCommand(program);
statusCommand(program);
retryCommand(program);
keysCommand(program);
clientsCommand(program);
program.addHelpText(
  'after',
  `
Examples:
  voicebot submit question.wav --wait --out results/
  voicebot submit --text "Are you open on Sunday?" --wait
  voicebot batch ./voicemails --pipeline voicemail --concurrency 16
  voicebot watch 6f0c…          follow a job live
  voicebot retry --status failed --code provider_server_error   resume jobs an outage failed
  voicebot keys create --name "call centre A"
`,
);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode =
      err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
  } else if (err instanceof VoicebotError) {
    process.stderr.write(`error: ${err.message} (${err.status} ${err.code})\n`);
    process.exitCode = err.status >= 400 && err.status < 500 ? EXIT.usage : EXIT.someFailed;
  } else {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = EXIT.someFailed;
  }
}
