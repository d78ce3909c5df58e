import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Makes sure a spawned server never outlives the test process:
 * - an `exit` hook SIGKILLs every tracked child (and deletes its data dir) when the test process ends
 *   normally or via `process.exit` without having stopped it;
 * - a tiny `/bin/sh` watchdog per child SIGKILLs it (and deletes its data dir) when the test process dies
 *   without running hooks (a worker killed by vitest on timeout, SIGKILL, OOM). It polls once a second
 *   and exits by itself as soon as the server is gone.
 */
const live = new Map<ChildProcess, { watchdog: ChildProcess; dir: string | undefined }>();
let hookInstalled = false;

export interface Tracked {
  readonly child: ChildProcess;
  readonly watchdog: ChildProcess;
}

/** Quotes a value for `/bin/sh`. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * Tracks a spawned child. `orphanCleanupDir` is deleted by the watchdog too when the test process died
 * (normal shutdown deletes it itself).
 */
export function track(child: ChildProcess, orphanCleanupDir?: string): Tracked {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const [c, { watchdog, dir }] of live) {
        c.kill('SIGKILL');
        watchdog.kill('SIGKILL');
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });
  }
  const pid = child.pid;
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do kill -0 ${pid} 2>/dev/null || exit 0; sleep 1; done; ` +
    `kill -9 ${pid} 2>/dev/null; sleep 0.2` +
    (orphanCleanupDir ? `; rm -rf ${shellQuote(orphanCleanupDir)}` : '');
  const watchdog = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  live.set(child, { watchdog, dir: orphanCleanupDir });
  child.once('exit', () => live.delete(child));
  return { child, watchdog };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Sends `signal`, waits for the exit, escalates to SIGKILL after `graceMs`, and retires the watchdog.
 */
export async function terminate({ child, watchdog }: Tracked, signal: NodeJS.Signals, graceMs = 5000) {
  watchdog.kill('SIGKILL');
  if (hasExited(child)) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done && !hasExited(child)) {
    child.kill('SIGKILL');
    await exited;
  }
}
