/**
 * Child processes of a benchmark run, never leaked: every child is killed when the run ends, whether it
 * ends normally, on an uncaught error, on SIGINT/SIGTERM, or (through a tiny `/bin/sh` watchdog per child)
 * when the benchmark process itself is SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process';

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** The last lines the process printed (stdout and stderr), for error messages. */
  readonly output: string[];
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves with the first output line matching `re` (rejects if the process exits first). */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
}

const live = new Map<ChildProcess, ChildProcess>();
let hooked = false;

/** SIGKILLs every live child at once (a benchmark that overran its time). */
export function killAllNow(): void {
  for (const [child, watchdog] of live) {
    child.kill('SIGKILL');
    watchdog.kill('SIGKILL');
  }
  live.clear();
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllNow();
      process.exit(130);
    });
  }
}

const KEEP_LINES = 200;

/**
 * Starts `node <script>` (relative to the repository root) with only PATH, HOME and `env` set. With
 * BENCH_CPU_PROF=<dir> in the benchmark's environment, the service's processes (src/…) write a V8 CPU
 * profile there when they exit (read one with `node bench/lib/cpuprofile.ts <file>`).
 */
export function spawnNode(name: string, script: string, env: Record<string, string>, args: string[] = []) {
  const prof = process.env.BENCH_CPU_PROF;
  const flags =
    prof && script.startsWith('src/')
      ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${name}-\${pid}.cpuprofile`]
      : [];
  // BENCH_SERVICE_ROOT=<another checkout>: measure that tree's API and workers (same harness, baselines
  // and simulator), e.g. to compare two commits.
  const service = /^src\/(api|worker)\//.test(script);
  const cwd = service ? (process.env.BENCH_SERVICE_ROOT ?? ROOT) : ROOT;
  return spawnChild(name, process.execPath, [...flags, script, ...args], env, cwd);
}

export function spawnChild(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
): Child {
  installHooks();
  const proc = spawn(cmd, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`cannot start ${name} (${cmd})`);
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do kill -0 ${proc.pid} 2>/dev/null || exit 0; sleep 1; done; ` +
    `kill -9 ${proc.pid} 2>/dev/null`;
  const watchdog = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  live.set(proc, watchdog);

  const output: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  let partial = '';
  const collect = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l) continue;
      output.push(l);
      if (output.length > KEEP_LINES) output.shift();
      for (const w of waiters) {
        if (w.re.test(l)) {
          waiters.delete(w);
          w.resolve(l);
        }
      }
    }
  };
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  proc.stdin?.on('error', () => undefined);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      watchdog.kill('SIGKILL');
      resolve(code ?? signal ?? -1);
    });
  });
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  return {
    name,
    pid: proc.pid,
    proc,
    output,
    exited,
    async stop(graceMs = 5000) {
      if (gone()) return;
      proc.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done && !gone()) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
    line(re, timeoutMs = 20_000) {
      const seen = output.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const w = { re, resolve: (l: string) => finish(() => resolve(l)) };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${name}: no output matching ${re} within ${timeoutMs} ms`))),
          timeoutMs,
        );
        const onExit = () =>
          finish(() => reject(new Error(`${name} exited before printing ${re}:\n${tail(output)}`)));
        const finish = (then: () => void) => {
          clearTimeout(timer);
          waiters.delete(w);
          proc.off('exit', onExit);
          then();
        };
        waiters.add(w);
        proc.once('exit', onExit);
      });
    },
  };
}

/** Stops children in order (e.g. API before workers), tolerating ones already gone. */
export async function stopAll(children: (Child | undefined)[]): Promise<void> {
  for (const c of children) await c?.stop();
}

export const tail = (lines: string[], n = 15) => lines.slice(-n).join('\n');

/** Throws with the process output if `child` has exited (e.g. crashed during a measurement). */
export function assertAlive(child: Child): void {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
    throw new Error(`${child.name} exited unexpectedly:\n${tail(child.output)}`);
  }
}
