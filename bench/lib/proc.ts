import { readFile } from 'node:fs/promises';

/** Resident set size and its peak (VmHWM) of a process, in bytes, from /proc (Linux). */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets the peak RSS counter of a process (write 5 to clear_refs), so VmHWM measures from now on. */
export async function resetPeak(pid: number): Promise<boolean> {
  try {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat (Linux): its own,
 * and that of its ended child processes it waited for (e.g. ffprobe/ffmpeg runs).
 */
export async function cpuTimesOf(pid: number): Promise<{ own: number; children: number }> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15,
    // cutime 16, cstime 17.
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return {
      own: ((f[11] ?? 0) + (f[12] ?? 0)) / CLOCK_TICKS,
      children: ((f[13] ?? 0) + (f[14] ?? 0)) / CLOCK_TICKS,
    };
  } catch {
    return { own: Number.NaN, children: Number.NaN };
  }
}

/** Own plus waited-for children's CPU seconds of a process. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const t = await cpuTimesOf(pid);
  return t.own + t.children;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every mainstream Linux build). */
const CLOCK_TICKS = 100;

/** Busy and total CPU time of the whole machine so far, in seconds summed over cores (/proc/stat). */
async function machineCpu(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLOCK_TICKS, total: (busy + idle + iowait) / CLOCK_TICKS };
}

/**
 * CPU use of named processes over an interval: `start()` snapshots their CPU times, `stop()` returns each
 * one's share of one core (1.0 = one core busy the whole time), the whole machine's busy cores (every
 * process, ours or not: other work on the machine shows here) and the wall time.
 */
export function cpuMeter(pids: Record<string, number>) {
  let t0 = 0;
  let before: Record<string, number> = {};
  let machine0 = { busy: 0, total: 0 };
  // Each process's own CPU, and its child processes' as "<name> children" (ffprobe/ffmpeg runs).
  const snap = async () =>
    Object.fromEntries(
      (
        await Promise.all(
          Object.entries(pids).map(async ([k, pid]) => {
            const t = await cpuTimesOf(pid);
            return [
              [k, t.own],
              [`${k} children`, t.children],
            ] as const;
          }),
        )
      ).flat(),
    );
  return {
    async start() {
      before = await snap();
      machine0 = await machineCpu();
      t0 = performance.now();
    },
    async stop(): Promise<{ seconds: number; cores: Record<string, number>; machineBusy: number }> {
      const after = await snap();
      const machine = await machineCpu();
      const seconds = (performance.now() - t0) / 1000;
      const cores = Object.fromEntries(
        Object.keys(after)
          .map((k) => [k, ((after[k] ?? 0) - (before[k] ?? 0)) / seconds] as const)
          .filter(([k, v]) => !k.endsWith(' children') || v > 0),
      );
      return { seconds, cores, machineBusy: (machine.busy - machine0.busy) / seconds };
    },
  };
}

/** Pids of every live descendant of `pid` (children, grandchildren …), from /proc (Linux). */
export async function descendantsOf(pid: number): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const parent = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone already
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

/**
 * Samples the RSS of `pid` plus all its descendants every `everyMs`; `stop()` returns the largest sum seen
 * and the largest RSS of any single descendant (child processes such as ffmpeg have their own peaks).
 */
export function treeSampler(pid: number, everyMs = 100) {
  let peakTree = 0;
  let peakChild = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const kids = await descendantsOf(pid).catch(() => []);
      const own = await memoryOf(pid).catch(() => ({ rss: 0, peak: 0 }));
      let sum = own.rss;
      for (const k of kids) {
        const m = await memoryOf(k).catch(() => ({ rss: 0, peak: 0 }));
        sum += m.rss;
        peakChild = Math.max(peakChild, m.rss);
      }
      peakTree = Math.max(peakTree, sum);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peakTree, peakChild };
    },
  };
}
