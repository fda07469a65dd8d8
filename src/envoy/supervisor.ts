// Runs one Envoy and keeps it running, as pilot-agent does: start with the agent's bootstrap, restart
// with back-off when it dies, drain then stop on request. Envoy's own output goes to the agent's
// stderr (the pod's log), or to a file of its own (`logPath`: an Envoy meant to outlive this process
// must not write into a pipe that dies with it). An Envoy a previous supervisor left running can be
// adopted: it is watched by polling and replaced when it dies. Several Envoys on one machine never share hot-restart state
// (--disable-hot-restart), so any number of pods can run side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { Backoff, type BackoffOptions } from '../proxy/xds/backoff.js';
import { processRunning, stopChild } from '../os/proc.js';
import { forgetEnvoy, recordEnvoy } from './pid-records.js';

export interface EnvoySupervisorOptions {
  binary: string;
  bootstrapPath: string;
  /** Worker threads (--concurrency); 1 keeps a pod to one core, as on a shared 2-core machine. */
  concurrency: number;
  logLevel: string;
  /** How long Envoy drains listeners on shutdown (--drain-time-s). */
  drainTimeS: number;
  extraArgs?: readonly string[];
  clock?: Clock;
  backoff?: BackoffOptions;
  log: (line: string) => void;
  /** Records each running Envoy here (pid-records.ts), so a later run can kill it if this process dies first. */
  pidRecords?: string;
  /** Where Envoy's stdout/stderr go (default: this process's stderr). */
  output?: (chunk: Buffer) => void;
  /** Envoy writes its log to this file (--log-path) and gets no pipe from this process; `output` is unused. */
  logPath?: string;
}

const ADOPTED_POLL_MS = 500;

export class EnvoySupervisor {
  private child: ChildProcess | undefined;
  /** An Envoy this supervisor did not start (no exit event: polled). */
  private adopted: { pid: number; poll: NodeJS.Timeout } | undefined;
  private stopping = false;
  private restartTimer: TimerHandle | undefined;
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private startedAt = 0;
  /** How often Envoy exited without being asked to. */
  restarts = 0;

  constructor(private readonly opts: EnvoySupervisorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.backoff = new Backoff(opts.backoff);
  }

  args(): string[] {
    return [
      '-c', this.opts.bootstrapPath,
      '--disable-hot-restart',
      '--concurrency', String(this.opts.concurrency),
      '--log-level', this.opts.logLevel,
      '--drain-time-s', String(this.opts.drainTimeS),
      '--drain-strategy', 'immediate',
      '--local-address-ip-version', 'v4',
      ...(this.opts.logPath ? ['--log-path', this.opts.logPath] : []),
      ...(this.opts.extraArgs ?? []),
    ];
  }

  get pid(): number | undefined {
    return this.adopted?.pid ?? this.child?.pid;
  }

  running(): boolean {
    if (this.adopted) return processRunning(this.adopted.pid);
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Takes over a running Envoy (recorded by an earlier supervisor); started anew when it dies. */
  adopt(pid: number): void {
    this.startedAt = this.clock.now();
    const poll = setInterval(() => {
      if (processRunning(pid)) return;
      clearInterval(poll);
      if (this.adopted?.pid !== pid) return;
      this.adopted = undefined;
      if (this.opts.pidRecords) forgetEnvoy(this.opts.pidRecords, pid);
      if (this.stopping) return;
      this.restarts++;
      this.opts.log(`adopted envoy ${pid} exited; starting a new one (restart ${this.restarts})`);
      this.start();
    }, ADOPTED_POLL_MS);
    this.adopted = { pid, poll };
  }

  start(): void {
    if (this.stopping) return;
    const child = spawn(this.opts.binary, this.args(), { stdio: ['ignore', this.opts.logPath ? 'ignore' : 'pipe', this.opts.logPath ? 'ignore' : 'pipe'] });
    this.child = child;
    this.startedAt = this.clock.now();
    const out = this.opts.output ?? ((chunk: Buffer) => void process.stderr.write(chunk));
    child.stdout?.on('data', out);
    child.stderr?.on('data', out);
    child.once('error', (err) => this.opts.log(`envoy: cannot start ${this.opts.binary}: ${err.message}`));
    const records = this.opts.pidRecords;
    if (records && child.pid) recordEnvoy(records, child.pid, this.opts.bootstrapPath);
    child.once('exit', (code, signal) => {
      if (records && child.pid) forgetEnvoy(records, child.pid);
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      // A run that lasted a while was healthy: start the back-off over.
      if (this.clock.now() - this.startedAt > 60_000) this.backoff.reset();
      const delay = this.backoff.next();
      this.restarts++;
      this.opts.log(`envoy exited (${signal ?? `code ${code}`}); restarting in ${Math.round(delay)} ms (restart ${this.restarts})`);
      this.restartTimer = this.clock.setTimer(() => this.start(), delay);
    });
  }

  /** SIGTERM (Envoy drains for --drain-time-s, then exits); SIGKILL after graceMs. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    this.restartTimer?.cancel();
    const adopted = this.adopted;
    if (adopted) {
      clearInterval(adopted.poll);
      this.adopted = undefined;
      signal(adopted.pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (processRunning(adopted.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (processRunning(adopted.pid)) signal(adopted.pid, 'SIGKILL');
      if (this.opts.pidRecords) forgetEnvoy(this.opts.pidRecords, adopted.pid);
      return;
    }
    const child = this.child;
    if (child) await stopChild(child, graceMs);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
