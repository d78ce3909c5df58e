import type { Logger } from './logger.ts';

/**
 * One graceful-shutdown path for every process: on SIGTERM/SIGINT run the closers in order, once, within
 * `deadlineMs`; exit 0 when they finished, 1 when the deadline cut them short.
 */
export function onShutdown(
  log: Logger,
  deadlineMs: number,
  closers: Array<[string, () => Promise<unknown>]>,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const shutdown = () => {
    running ??= (async () => {
      log.info({ deadline_ms: deadlineMs }, 'shutting down');
      const timer = setTimeout(() => {
        log.error('shutdown deadline passed; exiting with work unfinished');
        process.exit(1);
      }, deadlineMs + 1_000);
      timer.unref();
      for (const [name, close] of closers) {
        try {
          await close();
          log.info({ part: name }, 'closed');
        } catch (err) {
          log.error({ err, part: name }, 'close failed');
        }
      }
      clearTimeout(timer);
    })();
    return running;
  };
  const exit = () => void shutdown().then(() => process.exit(0));
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
  return shutdown;
}
