import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long. @defaultValue 5000 */
  timeoutMs?: number;
  /** Pause between checks. @defaultValue 25 */
  intervalMs?: number;
  /** Says what was awaited, in the timeout error. @defaultValue 'condition' */
  message?: string;
}

/**
 * Polls `check` until it returns true. A check that throws counts as "not yet"; the last error is kept
 * as the `cause` of the timeout error so a failing test shows why it never became true.
 */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  opts: WaitForOptions = {},
): Promise<void> {
  const { timeoutMs = 5000, intervalMs = 25, message = 'condition' } = opts;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: last check threw ${lastError.message}` : '';
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${message}${why}`, {
        cause: lastError,
      });
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}
