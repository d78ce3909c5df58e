import type { Command } from 'commander';
import type { RetryFilter } from '../../../packages/sdk/src/client.ts';
import { RETRYABLE_STATUSES, type RetryableStatus } from '../../shared/job-states.ts';
import { clientFor, EXIT, type GlobalOptions, print } from '../context.ts';

const isRetryable = (s: string | undefined): s is RetryableStatus =>
  (RETRYABLE_STATUSES as readonly (string | undefined)[]).includes(s);

interface RetryOptions {
  status?: string;
  code?: string;
  stage?: string;
  since?: string;
  until?: string;
  limit?: string;
  client?: string;
  adminToken?: string;
}

/**
 * `voicebot retry <id>` resumes one job; `voicebot retry --status failed --code provider_server_error` every
 * matching one (your own jobs, or with --admin-token every client's). Both go through the same transition.
 */
export function retryCommand(program: Command): void {
  program
    .command('retry')
    .description('resume failed (or canceled) jobs at the stage they ended in; completed stages are kept')
    .argument('[id]', 'one job to resume (else every job matching the filters)')
    .option('--status <status>', 'failed or canceled', 'failed')
    .option('--code <code>', 'only jobs whose error.code is this (e.g. provider_server_error)')
    .option('--stage <stage>', 'only jobs that ended in this stage (transcribe, chat, speak, summarize)')
    .option('--since <time>', 'only jobs that ended at or after this ISO time')
    .option('--until <time>', 'only jobs that ended at or before this ISO time')
    .option('--limit <n>', 'resume at most this many')
    .option('--client <id>', 'operators: only this client’s jobs (with --admin-token)')
    .option('--admin-token <token>', 'operators: every client’s jobs (env VOICEBOT_ADMIN_TOKEN)')
    .action(async (id: string | undefined, o: RetryOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(g);
      if (id) {
        const job = await client.retry(id);
        print(g, job, `${job.id}  ${job.status} (stage: ${job.stage}, attempt ${job.attempt})`);
        return;
      }
      if (!isRetryable(o.status)) {
        process.stderr.write('error: --status is failed or canceled\n');
        process.exitCode = EXIT.usage;
        return;
      }
      const adminToken = o.adminToken ?? process.env.VOICEBOT_ADMIN_TOKEN;
      const filter: RetryFilter = {
        status: o.status,
        ...(o.code ? { error_code: o.code } : {}),
        ...(o.stage ? { stage: o.stage as RetryFilter['stage'] } : {}),
        ...(o.since ? { since: new Date(o.since).toISOString() } : {}),
        ...(o.until ? { until: new Date(o.until).toISOString() } : {}),
        ...(o.limit ? { limit: Number(o.limit) } : {}),
        ...(o.client ? { client: o.client } : {}),
      };
      if (o.client && !adminToken) {
        process.stderr.write('error: --client needs --admin-token (or VOICEBOT_ADMIN_TOKEN)\n');
        process.exitCode = EXIT.usage;
        return;
      }
      const summary = await client.retryMatching(filter, adminToken ? { adminToken } : {});
      print(
        g,
        summary,
        `${summary.retried} of ${summary.matched} matching jobs resumed${summary.skipped ? `, ${summary.skipped} skipped` : ''}${summary.cap_reached ? ' (stopped at the cap of jobs in flight: run again once jobs have ended)' : ''}`,
      );
      if (summary.skipped > 0) process.exitCode = EXIT.someFailed;
    });
}
