// Finding the external programs a benchmark compares against, with an install hint when one is missing.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT = 'apt-get update && apt-get install -y wrk nginx-light haproxy   (as root, Debian/Ubuntu)';

/** The absolute path of `name` on PATH (plus /usr/sbin, where Debian puts nginx and haproxy), or undefined. */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder: try the next one
    }
  }
  return undefined;
}

/** Paths of every program in `names`; exits with a message naming the missing ones and how to install them. */
export function requirePrograms<const N extends string>(names: readonly N[], why: string): Record<N, string> {
  const found = {} as Record<N, string>;
  const missing: string[] = [];
  for (const n of names) {
    const p = findProgram(n);
    if (p) found[n] = p;
    else missing.push(n);
  }
  if (missing.length > 0) {
    process.stderr.write(`${why}: missing ${missing.join(', ')} on PATH.\nInstall with: ${INSTALL_HINT}\n`);
    process.exit(2);
  }
  return found;
}

/** `taskset -c CPU` in front of a command when taskset exists and the CPU is online; the bare command otherwise. */
export function pinned(cpu: number | undefined, command: string, args: string[]): { command: string; args: string[] } {
  const taskset = findProgram('taskset');
  if (cpu === undefined || !taskset) return { command, args };
  const online = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  if (cpu >= online) return { command, args };
  return { command: taskset, args: ['-c', String(cpu), command, ...args] };
}
