// Starting the processes a benchmark needs, waiting until they listen, and stopping them by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pinned } from './peers.js';

export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last 64 KiB of stdout + stderr, for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

export function startProcess(name: string, command: string, args: string[], opts: { cpu?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): BenchProcess {
  const cmd = pinned(opts.cpu, command, args);
  const child = spawn(cmd.command, cmd.args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  let out = '';
  const keep = (b: Buffer): void => {
    out = (out + b.toString()).slice(-65536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.on('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  return {
    name,
    pid,
    child,
    output: () => out,
    async stop() {
      if (exited) return;
      process.kill(pid, 'SIGTERM');
      const killed = await Promise.race([exit.then(() => true), sleep(3000).then(() => false)]);
      if (!killed && !exited) {
        process.kill(pid, 'SIGKILL');
        await exit;
      }
    },
  };
}

/** Stops every process, newest first; reports (not throws) stop failures so the others still stop. */
export async function stopAll(procs: BenchProcess[]): Promise<void> {
  for (const p of [...procs].reverse()) {
    try {
      await p.stop();
    } catch (err) {
      process.stderr.write(`stopping ${p.name} (pid ${p.pid}) failed: ${(err as Error).message}\n`);
    }
  }
}

/** A port free on `host` right now (the kernel picks it; a short race with other programs is accepted). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once `host:port` accepts a TCP connection; throws with the process output after timeoutMs. */
export async function waitForPort(proc: BenchProcess, host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (code ${proc.child.exitCode}) before listening on ${host}:${port}:\n${proc.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${proc.name} not listening on ${host}:${port} after ${timeoutMs} ms:\n${proc.output()}`);
    await sleep(20);
  }
}
