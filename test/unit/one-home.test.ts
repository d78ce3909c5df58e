/**
 * Pieces that were once written in several places each have one home now (issue 23): the services both
 * processes build, the metrics-server start, the WAV-header reader, the MIME table, `byId` in the web pages,
 * and the webhook code. Each test names the one file allowed to hold the piece and fails on a second one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

const filesUnder = (dir: string): string[] =>
  (readdirSync(join(ROOT, dir), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => relative(ROOT, join(ROOT, dir, f)));

/** The files under `dirs` whose text matches `pattern`. */
const holders = (dirs: string[], pattern: RegExp): string[] =>
  dirs.flatMap(filesUnder).filter((f) => pattern.test(readFileSync(join(ROOT, f), 'utf8')));

describe('one home per piece', () => {
  it('the API and the worker build their stores, lifecycle, event hub and queues only through buildServices', () => {
    const built = /new (?:Lifecycle|JobStore|BatchStore|EventHub)\(|openQueues\(/;
    expect(holders(['src/api', 'src/worker', 'src/shared'], built)).toEqual([
      'src/shared/queue-registry.ts',
      'src/shared/services.ts',
    ]);
  });

  it('the metrics server is started by one function, from config', () => {
    expect(holders(['src'], /startMetricsServer\(/)).toEqual(['src/shared/metrics-server.ts']);
    expect(holders(['src/api', 'src/worker'], /startMetricsFor\(/).sort()).toEqual([
      'src/api/server.ts',
      'src/worker/main.ts',
    ]);
  });

  it('one reader walks WAV headers', () => {
    expect(holders(['src'], /['"]fmt ['"]/)).toEqual(['src/shared/wav-header.ts']);
  });

  it('one table maps audio MIME types to extensions', () => {
    expect(holders(['src'], /['"]audio\/x-wav['"]|['"]audio\/x-m4a['"]/)).toEqual([
      'src/shared/audio-types.ts',
    ]);
  });

  it('storage keys of a job are built only in job-files.ts', () => {
    expect(holders(['src'], /`jobs\/\$\{/)).toEqual(['src/shared/job-files.ts']);
  });

  it('one module is the queue registry, and it alone opens queues', () => {
    expect(holders(['src'], /^ \* The queue registry/m)).toEqual(['src/shared/queue-registry.ts']);
    expect(holders(['src'], /new Queue\(/)).toEqual(['src/shared/queue-registry.ts']);
  });

  it('the web pages define byId once', () => {
    expect(holders(['web/src'], /function byId\b/)).toEqual(['web/src/dom.ts']);
  });

  it('webhook signing, policy, sending and delivery live in src/shared/webhooks/', () => {
    const webhookCode =
      /standardwebhooks|webhook_secret_missing|webhook-sender|\bsendWebhook\(|startDeliverWorker = |function startDeliverWorker/;
    for (const f of holders(['src'], webhookCode))
      if (!f.startsWith('src/shared/webhooks/'))
        expect.fail(`${f} holds webhook code outside src/shared/webhooks/`);
    expect(filesUnder('src/shared/webhooks').sort()).toEqual([
      'src/shared/webhooks/delivery.ts',
      'src/shared/webhooks/policy.ts',
      'src/shared/webhooks/sender.ts',
      'src/shared/webhooks/signing.ts',
    ]);
  });
});
