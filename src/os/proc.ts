// What /proc tells about a process, for code that watches processes it did not start (or that
// outlived their parent): a killed orphan stays a zombie until init reaps it, and process.kill(pid, 0)
// says yes to zombies.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether `pid` exists and is not a zombie. */
export function processRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ...": comm may contain spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // no such process (any more)
  }
}

/** SIGTERM to a child of ours, SIGKILL after graceMs; resolves once it has exited (at once if it has). */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
