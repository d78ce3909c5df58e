import type { Command } from 'commander';
import { isTerminal } from '../../shared/job-states.ts';
import { clientFor, EXIT, type GlobalOptions, print } from '../context.ts';

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('show a job')
    .argument('<id>', 'job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const job = await clientFor(g).get(id);
      const lines = [
        `${job.id}  ${job.status}${job.stage ? ` (stage: ${job.stage})` : ''}`,
        job.transcript ? `transcript: ${job.transcript}` : '',
        job.reply_text ? `reply:      ${job.reply_text}` : '',
        job.audio_url ? `audio:      ${job.audio_url}` : '',
        job.error ? `error:      ${job.error.code}: ${job.error.message}` : '',
      ].filter(Boolean);
      print(g, job, lines.join('\n'));
      if (isTerminal(job.status) && job.status !== 'succeeded') process.exitCode = EXIT.someFailed;
    });

  program
    .command('watch')
    .description('follow a job live until it ends')
    .argument('<id>', 'job id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const job = await clientFor(g).wait(id, {
        onEvent: (e) =>
          print(
            g,
            e,
            `${e.type}${e.stage ? ` ${String(e.stage)}` : ''}${e.transcript ? `: ${String(e.transcript)}` : ''}${e.reply_text ? `: ${String(e.reply_text)}` : ''}`,
          ),
      });
      if (job.status !== 'succeeded') process.exitCode = EXIT.someFailed;
    });
}
