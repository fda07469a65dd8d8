// One container of a pod through its life: plan the process, start it as its own process group,
// capture its output, probe readiness, restart it with back-off after a crash, stop it on deletion.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { RestartBackoff, type BackoffConfig } from './backoff.js';
import type { Clock, TimerHandle } from '../../clock.js';
import { rfc3339 } from '../time-format.js';
import type { ContainerLog } from './container-log.js';
import { containerEnv, expandVars } from './container-env.js';
import type { EventRecorder, EventType } from './events.js';
import { exitCodeOf } from './exec.js';
import { planContainer } from './launch-plan.js';
import type { Container, ContainerState, ContainerStatus, Pod, RestartPolicy } from './pod-types.js';
import { probeTiming, ReadinessState, runProbe } from './probe.js';
import { killGroup, type ProcessRegistry } from './process-registry.js';

/** What a container needs from its pod and node. */
export interface ContainerContext {
  pod: Pod;
  podIp: string;
  hostIp: string;
  bindIp: string;
  workDir: string;
  kubeletPath: string;
  serviceAccountKubeconfig: string | undefined;
  restartPolicy: RestartPolicy;
  clock: Clock;
  backoff: BackoffConfig;
  registry: ProcessRegistry;
  events: EventRecorder;
  log: (line: string) => void;
  /** Something in this container's status changed. */
  onChange: () => void;
}

type Terminated = Extract<ContainerState, { terminated: unknown }>['terminated'];

interface Instance {
  child: ChildProcess;
  pgid: number;
  startedAt: string;
  startedMs: number;
  exited: Promise<void>;
}

export class ContainerRunner {
  state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  lastState: ContainerStatus['lastState'] = {};
  restartCount: number;
  started = false;
  ready = false;
  imageID = '';
  containerID: string | undefined;
  /** The environment of the current (or last) instance; exec uses it. */
  env: Record<string, string> = {};

  private instance: Instance | undefined;
  private readonly crashBackoff: RestartBackoff;
  private readonly pullBackoff: RestartBackoff;
  private pendingTimer: TimerHandle | undefined;
  private stopping = false;
  private warnedEnv = false;
  /** Resolves when the container has terminated for good (no restart coming). */
  private finishedResolve: (() => void) | undefined;
  readonly finished: Promise<void>;

  constructor(
    readonly container: Container,
    readonly kind: 'container' | 'init',
    private readonly ctx: ContainerContext,
    private readonly logFile: ContainerLog,
    /** From the pod status a previous kubelet wrote; a container that ran before counts as restarted. */
    previous: ContainerStatus | undefined,
  ) {
    const ranBefore = previous !== undefined && !('waiting' in previous.state && !previous.lastState.terminated);
    this.restartCount = (previous?.restartCount ?? 0) + (ranBefore ? 1 : 0);
    if (previous?.lastState.terminated) this.lastState = { terminated: previous.lastState.terminated };
    else if (previous && 'terminated' in previous.state) this.lastState = { terminated: previous.state.terminated };
    this.crashBackoff = new RestartBackoff(ctx.backoff);
    this.pullBackoff = new RestartBackoff(ctx.backoff);
    this.finished = new Promise((resolve) => (this.finishedResolve = resolve));
  }

  get name(): string {
    return this.container.name;
  }

  get running(): boolean {
    return this.instance !== undefined && 'running' in this.state;
  }

  get fieldPath(): string {
    return `spec.${this.kind === 'init' ? 'initContainers' : 'containers'}{${this.name}}`;
  }

  status(): ContainerStatus {
    return {
      name: this.name,
      state: this.state,
      lastState: this.lastState,
      ready: this.ready,
      restartCount: this.restartCount,
      image: this.container.image ?? '',
      imageID: this.imageID,
      ...(this.containerID ? { containerID: this.containerID } : {}),
      started: this.started,
    };
  }

  /** Starts the first instance. */
  start(): void {
    this.launch();
  }

  /** Stops the container for good: SIGTERM, then SIGKILL after graceMs; resolves when its processes are gone. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.pendingTimer?.cancel();
    this.pendingTimer = undefined;
    const inst = this.instance;
    if (!inst) {
      this.finishedResolve?.();
      return;
    }
    this.event('Normal', 'Killing', `Stopping container ${this.name}`);
    killGroup(inst.pgid, 'SIGTERM');
    const killTimer = this.ctx.clock.setTimer(() => {
      this.ctx.log(`container ${this.owner()} did not stop within ${graceMs} ms of SIGTERM: SIGKILL`);
      killGroup(inst.pgid, 'SIGKILL');
    }, graceMs);
    await inst.exited;
    killTimer.cancel();
  }

  private owner(): string {
    const m = this.ctx.pod.metadata;
    return `${m.namespace ?? 'default'}/${m.name}/${this.name}`;
  }

  private event(type: EventType, reason: string, message: string): void {
    const m = this.ctx.pod.metadata;
    this.ctx.events.record({ namespace: m.namespace ?? 'default', name: m.name, uid: m.uid, fieldPath: this.fieldPath }, type, reason, message);
  }

  private setState(state: ContainerState): void {
    this.state = state;
    this.ctx.onChange();
  }

  private launch(): void {
    if (this.stopping) return;
    const { env, warnings } = containerEnv({
      pod: this.ctx.pod,
      container: this.container,
      podIp: this.ctx.podIp,
      hostIp: this.ctx.hostIp,
      bindIp: this.ctx.bindIp,
      path: this.ctx.kubeletPath,
      serviceAccountKubeconfig: this.ctx.serviceAccountKubeconfig,
      workDir: this.ctx.workDir,
    });
    this.env = env;
    if (!this.warnedEnv) {
      this.warnedEnv = true;
      for (const w of warnings) this.event('Warning', 'UnsupportedEnvSource', w);
      for (const probe of ['livenessProbe', 'startupProbe'] as const) {
        if (this.container[probe] !== undefined) {
          this.event('Warning', 'UnsupportedProbe', `${probe} of container ${this.name} is not run by the local kubelet (only readinessProbe is)`);
        }
      }
    }
    const container = { ...this.container, command: this.container.command?.map((c) => expandVars(c, env)), args: this.container.args?.map((a) => expandVars(a, env)) };
    const plan = planContainer(container, env, this.ctx.workDir);
    const image = this.container.image ?? '';
    if (plan.kind === 'unavailable') {
      this.event('Warning', 'Failed', `Failed to pull image "${image}": ${plan.message}`);
      this.event('Warning', 'Failed', 'Error: ErrImagePull');
      this.setState({ waiting: { reason: 'ErrImagePull', message: plan.message } });
      const delay = this.pullBackoff.next(0);
      this.pendingTimer = this.ctx.clock.setTimer(() => {
        this.event('Normal', 'BackOff', `Back-off pulling image "${image}"`);
        this.event('Warning', 'Failed', 'Error: ImagePullBackOff');
        this.setState({ waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ${plan.message}` } });
        this.pendingTimer = this.ctx.clock.setTimer(() => this.launch(), this.pullBackoff.next(0));
      }, delay);
      return;
    }
    this.imageID = plan.imageID;
    this.event('Normal', 'Pulled', `Container image "${image}" already present on machine`);
    this.event('Normal', 'Created', `Created container ${this.name}`);
    this.logFile.startInstance();
    const childEnv = plan.exitWithKubelet ? { ...env, MESHWORK_EXIT_WITH_STDIN: '1' } : env;
    let child: ChildProcess;
    try {
      child = spawn(plan.argv[0], plan.argv.slice(1), {
        cwd: this.ctx.workDir,
        env: childEnv,
        detached: true,
        stdio: [plan.exitWithKubelet ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.startFailed((err as Error).message);
      return;
    }
    const pgid = child.pid;
    if (pgid === undefined) {
      // spawn reports the reason on 'error' right after.
      child.on('error', (err) => this.startFailed(err.message));
      return;
    }
    child.stdin?.on('error', (err) => this.ctx.log(`container ${this.owner()}: stdin pipe: ${err.message}`));
    this.ctx.registry.add({ pgid, podUid: this.ctx.pod.metadata.uid, owner: this.owner() });
    const startedMs = this.ctx.clock.now();
    const captured = Promise.all([this.logFile.capture(child.stdout!, 'stdout'), this.logFile.capture(child.stderr!, 'stderr')]);
    const exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        // The main process is gone: like a container runtime, end whatever else is in its group.
        killGroup(pgid, 'SIGKILL');
        this.ctx.registry.remove(pgid);
        void captured.then(() => {
          this.logFile.endInstance();
          this.exitedWith(exitCodeOf(code, signal), signal, startedMs);
          resolve();
        });
      });
    });
    child.on('error', (err) => this.ctx.log(`container ${this.owner()}: process error: ${err.message}`));
    this.instance = { child, pgid, startedAt: rfc3339(startedMs), startedMs, exited };
    this.containerID = `meshwork://${pgid}`;
    this.state = { running: { startedAt: rfc3339(startedMs) } };
    this.event('Normal', 'Started', `Started container ${this.name}`);
    this.ctx.onChange();
    if (plan.readyPort !== undefined) void this.waitForPort(plan.readyPort, child);
    else this.markStarted();
  }

  private startFailed(message: string): void {
    this.logFile.note(`[kubelet] cannot start container: ${message}`);
    this.logFile.endInstance();
    this.event('Warning', 'Failed', `Error: failed to start container "${this.name}": ${message}`);
    const now = this.ctx.clock.now();
    this.exitedWith(128, null, now, { reason: 'StartError', message });
  }

  /** Built-in servers are started once their port accepts connections (or the process is gone). */
  private async waitForPort(port: number, child: ChildProcess): Promise<void> {
    const host = this.ctx.bindIp;
    while (this.instance?.child === child && child.exitCode === null && child.signalCode === null) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = connect({ host, port });
        socket.on('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false)); // not listening yet: try again shortly
      });
      if (ok) {
        if (this.instance?.child === child) this.markStarted();
        return;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private markStarted(): void {
    this.started = true;
    const probe = this.kind === 'container' ? this.container.readinessProbe : undefined;
    if (!probe) {
      this.ready = true;
      this.ctx.onChange();
      return;
    }
    this.ctx.onChange();
    const timing = probeTiming(probe);
    const readiness = new ReadinessState(timing);
    const inst = this.instance;
    const tick = (): void => {
      if (this.instance !== inst || this.stopping) return;
      void runProbe(probe, { host: this.ctx.bindIp, container: this.container, env: this.env, cwd: this.ctx.workDir }, timing.timeoutMs).then((result) => {
        if (this.instance !== inst || this.stopping) return;
        if (!result.ok) this.event('Warning', 'Unhealthy', `Readiness probe failed: ${result.message}`);
        if (readiness.record(result.ok)) {
          this.ready = readiness.ready;
          this.ctx.onChange();
        }
        this.pendingTimer = this.ctx.clock.setTimer(tick, timing.periodMs);
      });
    };
    this.pendingTimer = this.ctx.clock.setTimer(tick, timing.initialDelayMs);
  }

  private exitedWith(exitCode: number, signal: NodeJS.Signals | null, startedMs: number, override?: { reason: string; message: string }): void {
    this.pendingTimer?.cancel();
    this.pendingTimer = undefined;
    this.instance = undefined;
    this.started = false;
    this.ready = false;
    const finishedMs = this.ctx.clock.now();
    const terminated: Terminated = {
      exitCode,
      reason: override?.reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
      ...(override ? { message: override.message } : {}),
      ...(signal ? { signal: exitCode - 128 } : {}),
      startedAt: rfc3339(startedMs),
      finishedAt: rfc3339(finishedMs),
      ...(this.containerID ? { containerID: this.containerID } : {}),
    };
    const restart =
      !this.stopping &&
      (this.kind === 'init'
        ? exitCode !== 0 && this.ctx.restartPolicy !== 'Never'
        : this.ctx.restartPolicy === 'Always' || (this.ctx.restartPolicy === 'OnFailure' && exitCode !== 0));
    if (!restart) {
      this.setState({ terminated });
      this.finishedResolve?.();
      return;
    }
    const delay = this.crashBackoff.next(finishedMs - startedMs);
    const m = this.ctx.pod.metadata;
    const podRef = `${m.name}_${m.namespace ?? 'default'}(${m.uid})`;
    this.lastState = { terminated };
    this.restartCount++;
    this.event('Warning', 'BackOff', `Back-off restarting failed container ${this.name} in pod ${podRef}`);
    this.setState({ waiting: { reason: 'CrashLoopBackOff', message: `back-off ${formatDelay(delay)} restarting failed container=${this.name} pod=${podRef}` } });
    this.pendingTimer = this.ctx.clock.setTimer(() => this.launch(), delay);
  }
}

function formatDelay(ms: number): string {
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return ms >= 1000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`;
}
