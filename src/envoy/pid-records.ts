// Envoys that outlive the process supervising them (a SIGKILL of `meshwork up`, a `down` that had to
// kill it) must not keep their VIPs and ports forever. A supervisor records each Envoy it starts as
// <dir>/<pid>.pid (the file holds the bootstrap path); the next `up` adopts the ones it can (same
// bootstrap) and kills the rest, and `down` after the host is gone kills what is recorded. A recorded pid is only killed when /proc shows that very Envoy (its command
// line names the recorded bootstrap), so a pid the system has reused is never touched.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processRunning } from '../os/proc.js';

export function recordEnvoy(dir: string, pid: number, bootstrapPath: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${pid}.pid`), `${bootstrapPath}\n`);
}

export function forgetEnvoy(dir: string, pid: number): void {
  rmSync(join(dir, `${pid}.pid`), { force: true });
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    // No such process (any more): nothing to kill.
    return undefined;
  }
}

/** The recorded Envoy started with `bootstrapPath` that still runs (verified in /proc), if any. */
export function runningRecordedEnvoy(dir: string, bootstrapPath: string): number | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.pid'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  for (const file of files) {
    const pid = Number(file.slice(0, -'.pid'.length));
    if (readFileSync(join(dir, file), 'utf8').trim() !== bootstrapPath) continue;
    const cmd = Number.isInteger(pid) && pid > 0 ? commandLine(pid) : undefined;
    if (cmd?.includes(bootstrapPath) && processRunning(pid)) return pid;
  }
  return undefined;
}

/**
 * Kills the Envoys recorded in `dir` that still run, except the pids in `keep` (adopted by this run);
 * forgets every other record (only those started with `onlyBootstrap`, when given). Returns the pids killed.
 */
export function killRecordedEnvoys(dir: string, log: (line: string) => void, keep: ReadonlySet<number> = new Set(), onlyBootstrap?: string, what = 'Envoy'): number[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.pid'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const killed: number[] = [];
  for (const file of files) {
    const pid = Number(file.slice(0, -'.pid'.length));
    if (keep.has(pid)) continue;
    const bootstrap = readFileSync(join(dir, file), 'utf8').trim();
    if (onlyBootstrap !== undefined && bootstrap !== onlyBootstrap) continue;
    const cmd = Number.isInteger(pid) && pid > 0 ? commandLine(pid) : undefined;
    if (cmd && bootstrap && cmd.includes(bootstrap)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
        log(`killed leftover ${what} ${pid} (${bootstrap}) of a previous run`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    rmSync(join(dir, file), { force: true });
  }
  return killed;
}
