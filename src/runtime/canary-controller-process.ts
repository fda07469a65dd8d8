// The Canary controller of `meshwork up`: `meshwork canary controller` as a process of its own, kept
// running as a Deployment would keep its pod (restarted with back-off when it dies), recorded by pid in
// the state folder (`controller-pids/<pid>.pid`, as the edge Envoys are in `edge-pids/`) so a `down` or
// the next `up` after a killed host stops it, and stopped by `down`. It holds no state of its own (its
// progress is in each Canary's status), so a leftover one is simply replaced.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Backoff, type BackoffOptions } from '../proxy/xds/backoff.js';
import { forgetEnvoy as forgetPid, killRecordedEnvoys as killRecordedPids, recordEnvoy as recordPid } from '../envoy/pid-records.js';
import { stopChild } from '../os/proc.js';
import { REPO_ROOT } from '../repo.js';
import type { StatePaths } from './state.js';

/** A run longer than this was healthy: the next death starts the back-off over. */
const HEALTHY_RUN_MS = 30_000;
const CONTROLLER_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: 0.2 };

export interface ControllerProcessOptions {
  /** The kubeconfig with a context per local cluster. */
  kubeconfig: string;
  /** The config cluster holding the Canaries. */
  context: string;
  auditLog: string;
  /** The controller's stdout and stderr (a file: the controller must not write into a pipe that dies with `up`). */
  logFile: string;
  /** Where the running controller's pid is recorded. */
  pidRecords: string;
  log: (line: string) => void;
  /** The command to run (tests); default this checkout's CLI: `node bin/meshwork.js canary controller ...`. */
  command?: { file: string; args: string[] };
  backoff?: BackoffOptions;
}

export function controllerArgs(o: Pick<ControllerProcessOptions, 'kubeconfig' | 'context' | 'auditLog'>): string[] {
  return ['canary', 'controller', '--kubeconfig', o.kubeconfig, '--context', o.context, '--audit-log', o.auditLog];
}

/** What `up` passes for its state folder: the controller against cluster-1, its audit log and log beside the kubeconfig. */
export function controllerProcessPaths(paths: StatePaths): Pick<ControllerProcessOptions, 'kubeconfig' | 'auditLog' | 'logFile' | 'pidRecords'> {
  return {
    kubeconfig: paths.kubeconfig,
    auditLog: join(paths.dir, 'canary-audit.log'),
    logFile: join(paths.dir, 'canary-controller.log'),
    pidRecords: join(paths.dir, 'controller-pids'),
  };
}

export class ControllerProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private startedAt = 0;
  /** How often the controller died without being asked to. */
  restarts = 0;

  constructor(private readonly opts: ControllerProcessOptions) {
    this.backoff = new Backoff(opts.backoff ?? CONTROLLER_BACKOFF);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private command(): { file: string; args: string[] } {
    return this.opts.command ?? { file: process.execPath, args: [join(REPO_ROOT, 'bin', 'meshwork.js'), ...controllerArgs(this.opts)] };
  }

  /** The audit log path marks the recorded pid as this state folder's controller (checked in /proc before a kill). */
  private get marker(): string {
    return this.opts.auditLog;
  }

  start(): void {
    // A controller a killed earlier host left running would drive the same Canaries twice.
    killRecordedPids(this.opts.pidRecords, this.opts.log, new Set(), undefined, 'canary controller');
    this.spawnOnce();
  }

  private spawnOnce(): void {
    if (this.stopping) return;
    const { file, args } = this.command();
    const out = openSync(this.opts.logFile, 'a');
    // Its own process group: a Ctrl-C of a foreground `up` reaches `up`, which then stops it in order.
    const child = spawn(file, args, { detached: true, stdio: ['ignore', out, out], env: process.env });
    closeSync(out);
    this.child = child;
    this.startedAt = Date.now();
    child.once('error', (err) => this.opts.log(`canary controller: cannot start ${file}: ${err.message}`));
    const pid = child.pid;
    if (pid) {
      recordPid(this.opts.pidRecords, pid, this.marker);
      this.opts.log(`canary controller running (pid ${pid}; log ${this.opts.logFile})`);
    }
    child.once('exit', (code, signal) => {
      if (pid) forgetPid(this.opts.pidRecords, pid);
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      if (Date.now() - this.startedAt > HEALTHY_RUN_MS) this.backoff.reset();
      const delay = this.backoff.next();
      this.restarts++;
      this.opts.log(`canary controller exited (${signal ?? `code ${code}`}); restarting in ${Math.round(delay)} ms (restart ${this.restarts})`);
      this.restartTimer = setTimeout(() => this.spawnOnce(), delay);
    });
  }

  /** SIGTERM, SIGKILL after graceMs; no restart afterwards. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child) await stopChild(child, graceMs);
  }
}

/** `down` after the host died: the controller it left is stopped (verified in /proc by its audit log path). */
export function killLeftoverController(paths: StatePaths, say: (line: string) => void): void {
  killRecordedPids(controllerProcessPaths(paths).pidRecords, say, new Set(), undefined, 'canary controller');
}
