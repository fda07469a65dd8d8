// What every built-in app process shares: argument parsing and dying with the kubelet that started it.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `--key=value` pairs; anything else is an error, so a typo in the catalog fails at start. */
export function parseAppArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z][a-z0-9-]*)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(arg)} (expected --key=value)`);
    out.set(m[1], m[2]);
  }
  return out;
}

/**
 * The container's monitor (the kubelet's shim) gives built-in apps a stdin pipe and sets
 * MESHWORK_EXIT_WITH_STDIN=1: when the monitor dies, even by SIGKILL, the pipe closes and the app
 * exits instead of running on with nobody reporting on it. The kubelet's own death does not touch it.
 */
export function exitWithParent(): void {
  if (process.env.MESHWORK_EXIT_WITH_STDIN !== '1') return;
  const exit = (): void => {
    console.error('stdin closed: the container monitor is gone, exiting');
    process.exit(0);
  };
  process.stdin.on('end', exit);
  process.stdin.on('close', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();
}

/** True when this module is the process entry point (works for .ts under tsx and compiled .js). */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(entry);
  } catch (err) {
    console.error(`cannot tell whether ${moduleUrl} is the entry point: ${(err as Error).message}`);
    return false;
  }
}
