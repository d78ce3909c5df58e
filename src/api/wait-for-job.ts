import type { JobRecord } from '../shared/job-record.ts';
import { isTerminal, TERMINAL_EVENTS } from '../shared/job-states.ts';
import type { ApiDeps } from './deps.ts';

/**
 * Resolves with the job record once the job has ended, or with its current record after `timeoutMs`.
 * Uses the process's one shared event reader — no Redis subscription per waiting request.
 */
export function waitForJob(
  deps: ApiDeps,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<JobRecord | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      unsubscribe();
      clearTimeout(timer);
      signal?.removeEventListener('abort', settle);
      deps.store.get(id).then(resolve, () => resolve(undefined));
    };
    let unsubscribe = () => {};
    const timer = setTimeout(settle, timeoutMs);
    signal?.addEventListener('abort', settle, { once: true });
    deps.hub
      .subscribe(id, (e) => TERMINAL_EVENTS.has(e.type) && settle())
      .then(
        (off) => {
          if (settled) off();
          else unsubscribe = off;
          // The job may have ended before the subscription took effect.
          return deps.store.get(id).then((r) => r && isTerminal(r.status) && settle());
        },
        () => {},
      );
  });
}
