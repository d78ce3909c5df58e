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
