import { constants } from 'node:fs';
import { access, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { BatchView, JobView } from '../../../packages/sdk/src/client.ts';
import { clientFor, EXIT, type GlobalOptions, print } from '../context.ts';
import { openReadable } from '../files.ts';
import { mapLimit, saveResults } from '../results.ts';

const AUDIO_EXTENSIONS = new Set([
  '.wav',
  '.mp3',
  '.m4a',
  '.mp4',
  '.aac',
  '.ogg',
  '.oga',
  '.opus',
  '.webm',
  '.flac',
  '.amr',
]);

interface BatchOptions {
  concurrency: string;
  out?: string;
  pipeline?: string;
  webhookUrl?: string;
  pollMs: string;
}

/** Items from a CSV with a header row naming `audio_url` and/or `text` columns (simple CSV: no quoted commas). */
async function csvItems(file: string) {
  const [header = '', ...rows] = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l) => l.trim());
  const cols = header.split(',').map((c) => c.trim());
  return rows.map((row, i) => {
    const cells = row.split(',').map((c) => c.trim());
    const get = (name: string) => cells[cols.indexOf(name)] || undefined;
    return { audio_url: get('audio_url'), text: get('text'), metadata: { row: i + 1 } };
  });
}

export function batchCommand(program: Command): void {
  program
    .command('batch')
    .description(
      'submit a folder of audio files (or a CSV of audio_url/text rows) as one batch and collect the results',
    )
    .argument('<source>', 'a directory of audio files, or a .csv with audio_url and/or text columns')
    .option('--concurrency <n>', 'result downloads at once', '8')
    .option('--out <dir>', 'results folder (default: ./voicebot-results-<batch id>)')
    .option('--pipeline <name>', 'voicebot (default), transcribe, speak, voicemail')
    .option('--webhook-url <url>', 'receives batch.completed once every item has ended')
    .option('--poll-ms <ms>', 'progress refresh interval', '500')
    .action(async (source: string, opts: BatchOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        cmd.error('--concurrency must be a positive integer', { exitCode: EXIT.usage });
      const client = clientFor(g);
      const options = { pipeline: opts.pipeline, webhook_url: opts.webhookUrl } as Parameters<
        typeof client.batch
      >[1];
      let names: string[];
      let batch: BatchView;
      const info = await stat(source).catch(() =>
        cmd.error(`no such file or directory: ${source}`, { exitCode: EXIT.usage }),
      );
      if (info.isDirectory()) {
        names = (await readdir(source)).filter((f) => AUDIO_EXTENSIONS.has(extname(f).toLowerCase())).sort();
        if (names.length === 0) cmd.error(`no audio files in ${source}`, { exitCode: EXIT.usage });
        const files: Array<{ file: Blob; filename: string }> = [];
        for (const n of names) {
          const file = await openReadable(join(source, n));
          if (!file) cmd.error(`no such file: ${join(source, n)}`, { exitCode: EXIT.usage });
          files.push({ file, filename: n });
        }
        batch = await client.batch({ files }, options);
      } else {
        await access(source, constants.R_OK).catch(() =>
          cmd.error(`no such file: ${source}`, { exitCode: EXIT.usage }),
        );
        const items = await csvItems(source);
        names = items.map((_item, i) => `row-${i + 1}`);
        batch = await client.batch({ items }, options);
      }
      if (!g.json) process.stderr.write(`batch ${batch.id}: ${batch.total} items\n`);

      // Progress: finished items out of the total, refreshed from GET /v1/batches/:id.
      const bar = new SingleBar({
        format: 'batch {bar} {value}/{total} ended | {succeeded} ok, {failed} failed | {duration_formatted}',
        noTTYOutput: true,
        notTTYSchedule: 2000,
        stream: process.stderr,
      });
      if (!g.json) bar.start(batch.total, 0, { succeeded: 0, failed: 0 });
      for (;;) {
        batch = await client.getBatch(batch.id);
        const ended = batch.counts.succeeded + batch.counts.failed + batch.counts.canceled;
        if (!g.json)
          bar.update(ended, {
            succeeded: batch.counts.succeeded,
            failed: batch.counts.failed + batch.counts.canceled,
          });
        if (ended >= batch.total) break;
        await new Promise((r) => setTimeout(r, Number(opts.pollMs)));
      }
      if (!g.json) bar.stop();

      const out = opts.out ?? `voicebot-results-${batch.id}`;
      const jobs: JobView[] = [];
      for (let cursor = 0; cursor < batch.total; cursor += 100) {
        const page = await client.getBatch(batch.id, { cursor, limit: 100 });
        for (const item of page.items) if (item.job) jobs.push(item.job);
      }
      const rows = await mapLimit(jobs, concurrency, async (job, i) => {
        const name = names[i] ?? job.id;
        await saveResults(job, join(out, `${String(i).padStart(4, '0')}-${basename(name, extname(name))}`));
        return { index: i, source: name, id: job.id, status: job.status, error: job.error?.code ?? null };
      });
      await writeFile(
        join(out, 'results.json'),
        `${JSON.stringify({ batch: batch.id, counts: batch.counts, items: rows }, null, 2)}\n`,
      );
      const failed = rows.filter((r) => r.status !== 'succeeded').length;
      print(
        g,
        { batch: batch.id, counts: batch.counts, out },
        `${rows.length - failed} succeeded, ${failed} failed → ${out}`,
      );
      process.exitCode = failed > 0 ? EXIT.someFailed : EXIT.ok;
    });
}
