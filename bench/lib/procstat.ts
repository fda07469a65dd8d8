// CPU time and memory of a process from /proc (Linux): what each proxy under test costs.
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat (getconf CLK_TCK; 100 on every Linux build in practice). */
const CLK_TCK = 100;

/** User + system CPU seconds used so far by `pid` (its threads included, children not). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`/proc/${pid}/stat: cannot read utime/stime from '${stat.slice(0, 80)}...'`);
  return (utime + stime) / CLK_TCK;
}

/** Resident set size now and its peak (VmHWM), in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${key} line`);
    return Number(m[1]);
  };
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}
