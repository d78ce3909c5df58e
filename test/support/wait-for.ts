import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /**
   * Give up after this long WITHOUT PROGRESS: each change of `progress()` starts the budget again, so a
   * slow machine that keeps moving is waited for and only a stuck one fails. @defaultValue 30000
   */
  timeoutMs?: number;
  /**
   * What the wait watches move (a job's stage, a count of events, bytes received …), compared as JSON.
   * Without it the budget is a plain deadline: use it for whatever depends on CPU-heavy work.
   */
  progress?: () => unknown;
  /** Never wait longer than this in all, progress or not (a safety net for a loop). @defaultValue 15 min */
  maxMs?: number;
  /** Pause between checks. @defaultValue 25 */
  intervalMs?: number;
  /** When set, the pause grows by half at each check up to this (quick to see a fast result, light on a slow one). */
  maxIntervalMs?: number;
  /** Says what was awaited, in the timeout error. @defaultValue 'condition' */
  message?: string;
}

/**
 * Polls `check` until it returns true. A check that throws counts as "not yet"; the last error is kept
 * as the `cause` of the timeout error so a failing test shows why it never became true. The error also
 * names the last progress seen, and how long it had not changed.
 */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  opts: WaitForOptions = {},
): Promise<void> {
  const { timeoutMs = 30_000, message = 'condition', progress, maxMs = 15 * 60_000 } = opts;
  let intervalMs = opts.intervalMs ?? 25;
  const started = Date.now();
  let deadline = started + timeoutMs;
  let lastError: unknown;
  let seen: string | undefined;
  let movedAt = started;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (progress) {
      let now: string | undefined;
      try {
        now = JSON.stringify(await progress());
      } catch {
        now = seen; // an unreadable state is not a change
      }
      if (now !== seen) {
        seen = now;
        movedAt = Date.now();
        deadline = Math.min(movedAt + timeoutMs, started + maxMs);
      }
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: last check threw ${lastError.message}` : '';
      const where = progress
        ? ` (last progress ${seen ?? 'none'}, unchanged for ${Date.now() - movedAt} ms, ${Date.now() - started} ms in all)`
        : '';
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${message}${where}${why}`, {
        cause: lastError,
      });
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
    if (opts.maxIntervalMs) intervalMs = Math.min(opts.maxIntervalMs, Math.ceil(intervalMs * 1.5));
  }
}
