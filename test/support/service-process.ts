import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { track } from './process-reaper.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  readonly pid: number;
  /** Everything the process printed (JSON log lines), for assertions. */
  readonly output: string[];
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `node src/<entry>/main.ts` as a separate process with the given environment (never leaked). */
export function spawnService(entry: 'api' | 'worker', env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [join('src', entry, 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    pid: child.pid ?? 0,
    output,
    exited,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}
