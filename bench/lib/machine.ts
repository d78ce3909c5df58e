/** The machine a benchmark ran on, for the record next to its figures. */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { ROOT } from './children.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  /** Load average (1 min) when the run started: other work on the machine skews the figures. */
  load: number;
  date: string;
  /** The commit measured, with "+ uncommitted changes" when the tree was dirty. */
  commit: string;
}

const quiet = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
};

export function describeMachine(): Machine {
  const redis = /v=(\S+)/.exec(quiet('redis-server', ['--version']))?.[1] ?? 'unknown';
  const head = quiet('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = quiet('git', ['status', '--porcelain', '--', 'src']) !== '';
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: `${process.platform} ${release()}`,
    node: process.version,
    redis,
    load: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: head ? `${head}${dirty ? ' + uncommitted changes in src/' : ''}` : 'unknown',
  };
}

export function renderMachine(m: Machine): string {
  return (
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}; Node ${m.node}, Redis ${m.redis}; ` +
    `${m.date}; commit ${m.commit}; load average at start ${m.load}`
  );
}
