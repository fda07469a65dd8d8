// `kubectl exec` on the local kubelet: the command runs as a process group with the container's
// environment and working directory, its stdio piped to the caller.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { resolveExecutable } from './launch-plan.js';
import { killGroup, type ProcessRegistry } from './process-registry.js';

export interface ExecProcessOptions {
  command: string[];
  env: Record<string, string>;
  cwd: string;
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  signal: AbortSignal;
  registry: ProcessRegistry;
  podUid: string;
  /** `<ns>/<pod>/<container>`, for the process registry and logs. */
  owner: string;
  /** Wraps the resolved command so it runs inside the container's namespaces (pod-dns.ts). */
  inContainer?: (argv: string[]) => string[];
  log: (line: string) => void;
}

/** Shell convention: 128 + signal number for a process killed by a signal. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : 1);
}

export function runExec(opts: ExecProcessOptions): Promise<{ exitCode: number }> {
  const [name, ...args] = opts.command;
  if (name === undefined) {
    opts.stderr.write('exec: no command given\n');
    return Promise.resolve({ exitCode: 126 });
  }
  const exe = resolveExecutable(name, opts.env.PATH ?? '', opts.cwd);
  if (!exe) {
    const why = name.includes('/') ? 'no such file or directory' : 'executable file not found in $PATH';
    opts.stderr.write(`exec: ${JSON.stringify(name)}: ${why}\n`);
    return Promise.resolve({ exitCode: 127 });
  }
  if (opts.signal.aborted) return Promise.resolve({ exitCode: exitCodeOf(null, 'SIGKILL') });
  return new Promise((resolve) => {
    const argv = opts.inContainer ? opts.inContainer([exe, ...args]) : [exe, ...args];
    const child = spawn(argv[0], argv.slice(1), { argv0: opts.inContainer ? argv[0] : name, env: opts.env, cwd: opts.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const pgid = child.pid;
    if (pgid !== undefined) opts.registry.add({ pgid, podUid: opts.podUid, owner: `${opts.owner}/exec` });
    const onAbort = (): void => {
      if (pgid !== undefined) killGroup(pgid, 'SIGKILL');
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.pipe(opts.stdout, { end: false });
    child.stderr.pipe(opts.stderr, { end: false });
    child.stdin.on('error', (err) => {
      // The command may exit without reading all of its stdin: EPIPE is normal then.
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') opts.log(`exec ${opts.owner}: writing stdin failed: ${err.message}`);
    });
    if (opts.stdin) opts.stdin.pipe(child.stdin);
    else child.stdin.end();
    let done = false;
    const finish = (exitCode: number): void => {
      if (done) return;
      done = true;
      opts.signal.removeEventListener('abort', onAbort);
      if (opts.stdin) opts.stdin.unpipe(child.stdin);
      if (pgid !== undefined) {
        // Background processes the command left behind die with the session, so nothing lingers.
        killGroup(pgid, 'SIGKILL');
        opts.registry.remove(pgid);
      }
      resolve({ exitCode });
    };
    child.on('error', (err) => {
      opts.stderr.write(`exec: ${JSON.stringify(name)}: ${err.message}\n`);
      finish((err as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 126);
    });
    child.on('close', (code, signal) => finish(exitCodeOf(code, signal)));
  });
}
