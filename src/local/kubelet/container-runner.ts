// One container of a pod through its life: plan the process, start it through its monitor (shim.ts:
// its own process group, its output into the log, its exit status recorded, all surviving the
// kubelet), probe readiness, restart it with back-off after a crash, stop it on deletion; or adopt a
// container a previous kubelet started, whose monitor still runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RestartBackoff, type BackoffConfig } from './backoff.js';
import type { Clock, TimerHandle } from '../../clock.js';
import { rfc3339 } from '../../k8s/time-format.js';
import type { ContainerLog } from './container-log.js';
import { containerEnv, expandVars } from './container-env.js';
import type { EventRecorder, EventType } from './events.js';
import { nodeLoaderArgs, planContainer } from './launch-plan.js';
import type { Container, ContainerState, ContainerStatus, Pod, RestartPolicy } from './pod-types.js';
import { probeTiming, ReadinessState, runProbe } from './probe.js';
import { processRunning } from '../../os/proc.js';
import { killGroup, type ProcessRegistry } from './process-registry.js';
import { readShimState, type ShimMessage, type ShimSpec, type ShimState } from './shim-protocol.js';
import { POD_UID_MARKER } from './container-env.js';
import { POD_HOSTS_FILE_ENV } from '../../dns/pod-files.js';
import { inContainerOf, inPodNamespaces, type PodDnsFiles, type UserNamespaceTools } from './pod-dns.js';
import { inPodNetwork, runProbeInNetns } from './pod-netns.js';

const SHIM_ENTRY = fileURLToPath(new URL(`./shim${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
/** How often an adopted container's monitor (not our child: no exit event) is checked. */
const ADOPTED_POLL_MS = 250;

/** A running container a previous kubelet started, as its monitor recorded it. */
export interface Adoptable {
  shimPid: number;
  pgid: number;
  startedMs: number;
}

/** What a container needs from its pod and node. */
export interface ContainerContext {
  pod: Pod;
  podIp: string;
  hostIp: string;
  bindIp: string;
  workDir: string;
  kubeletPath: string;
  serviceAccountKubeconfig: string | undefined;
  serviceAccountDir: string | undefined;
  restartPolicy: RestartPolicy;
  clock: Clock;
  backoff: BackoffConfig;
  registry: ProcessRegistry;
  events: EventRecorder;
  log: (line: string) => void;
  /** Something in this container's status changed. */
  onChange: () => void;
  /**
   * The pod's DNS files: an app container runs in its own user + mount namespace with them over
   * /etc/hosts and /etc/resolv.conf (`inNamespaces`); the sidecar is told where the hosts file is.
   */
  podDns?: { tools: UserNamespaceTools; files: PodDnsFiles; inNamespaces: boolean };
  /**
   * The pod's own network namespace (pod-netns.ts): the container runs in it as `user` (root when
   * absent), with the pod's hosts file and resolv.conf from /etc/netns/<name>/.
   */
  netns?: { name: string; user?: { uid: number; gid: number }; hostsFile: string };
}

type Terminated = Extract<ContainerState, { terminated: unknown }>['terminated'];

interface Instance {
  shimPid: number;
  /** The container's process group, once its monitor has started it. */
  pgid: number | undefined;
  stateFile: string;
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
    this.crashBackoff = new RestartBackoff(ctx.backoff, true);
    this.pullBackoff = new RestartBackoff(ctx.backoff);
    this.finished = new Promise((resolve) => (this.finishedResolve = resolve));
  }

  get name(): string {
    return this.container.name;
  }

  get running(): boolean {
    return this.instance !== undefined && 'running' in this.state;
  }

  /** The pid of the container's main process (its process group), while it runs. */
  get mainPid(): number | undefined {
    return this.running ? this.instance?.pgid : undefined;
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

  /**
   * Takes over a running container a previous kubelet started (its monitor still runs): no restart,
   * the same process, its readiness as last reported until a probe says otherwise.
   */
  adopt(running: Adoptable, previous: ContainerStatus): void {
    this.prepareEnv();
    const plan = this.plan();
    if (plan.kind === 'process') this.imageID = plan.imageID;
    this.restartCount = previous.restartCount;
    this.lastState = previous.lastState;
    this.logFile.resumeInstance();
    const stateFile = this.stateFile();
    let settle!: () => void;
    const inst: Instance = { shimPid: running.shimPid, pgid: running.pgid, stateFile, exited: new Promise((r) => (settle = r)) };
    this.instance = inst;
    this.containerID = `meshwork://${running.pgid}`;
    this.state = { running: { startedAt: rfc3339(running.startedMs) } };
    const poll = setInterval(() => {
      if (processRunning(running.shimPid)) return;
      clearInterval(poll);
      this.monitorGone(inst, running.startedMs);
      settle();
    }, ADOPTED_POLL_MS);
    this.ctx.onChange();
    this.markStarted(previous.ready);
  }

  /** A container that finished before the kubelet restarted (an adopted pod's init container) reports as it did. */
  restoreStatus(previous: ContainerStatus): void {
    this.state = previous.state;
    this.lastState = previous.lastState;
    this.restartCount = previous.restartCount;
    this.imageID = previous.imageID;
    this.containerID = previous.containerID;
    this.finishedResolve?.();
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
    // The monitor passes SIGTERM on to the container's group (it may not have told us the group yet).
    killGroup(inst.shimPid, 'SIGTERM');
    const killTimer = this.ctx.clock.setTimer(() => {
      this.ctx.log(`container ${this.owner()} did not stop within ${graceMs} ms of SIGTERM: SIGKILL`);
      if (inst.pgid !== undefined) killGroup(inst.pgid, 'SIGKILL');
      else killGroup(inst.shimPid, 'SIGKILL');
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

  private stateFile(): string {
    return join(this.ctx.workDir, '.containers', `${this.kind}-${this.name}.json`);
  }

  private plan(): ReturnType<typeof planContainer> {
    const env = this.env;
    const container = { ...this.container, command: this.container.command?.map((c) => expandVars(c, env)), args: this.container.args?.map((a) => expandVars(a, env)) };
    return planContainer(container, env, this.ctx.workDir);
  }

  /** The container's environment (exec uses it too); warnings are events, once per container. */
  private prepareEnv(): Record<string, string> {
    const { env, warnings } = containerEnv({
      pod: this.ctx.pod,
      container: this.container,
      podIp: this.ctx.podIp,
      hostIp: this.ctx.hostIp,
      bindIp: this.ctx.bindIp,
      path: this.ctx.kubeletPath,
      serviceAccountKubeconfig: this.ctx.serviceAccountKubeconfig,
      serviceAccountDir: this.ctx.serviceAccountDir,
      workDir: this.ctx.workDir,
    });
    if (this.ctx.podDns && !this.ctx.podDns.inNamespaces) env[POD_HOSTS_FILE_ENV] = this.ctx.podDns.files.hostsFile;
    if (this.ctx.netns) env[POD_HOSTS_FILE_ENV] = this.ctx.netns.hostsFile;
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
    return env;
  }

  private launch(): void {
    if (this.stopping) return;
    const env = this.prepareEnv();
    const plan = this.plan();
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
    const stateFile = this.stateFile();
    mkdirSync(dirname(stateFile), { recursive: true, mode: 0o700 });
    const specFile = stateFile.replace(/\.json$/, '.spec.json');
    const m = this.ctx.pod.metadata;
    const dns = this.ctx.podDns;
    const spec: ShimSpec = {
      argv: this.ctx.netns
        ? inPodNetwork(this.ctx.netns.name, this.ctx.netns.user, plan.argv)
        : dns?.inNamespaces ? inPodNamespaces(dns.tools, dns.files, plan.argv) : plan.argv,
      // Built-in apps exit when their stdin closes: the monitor holds it, so they end with the monitor, not the kubelet.
      env: plan.exitWithKubelet ? { ...env, MESHWORK_EXIT_WITH_STDIN: '1' } : env,
      cwd: this.ctx.workDir,
      stdin: plan.exitWithKubelet,
      log: { dir: dirname(this.logFile.current), namespace: m.namespace ?? 'default', pod: m.name, container: this.name, rotation: this.logFile.rotation },
      stateFile,
    };
    writeFileSync(specFile, JSON.stringify(spec), { mode: 0o600 }); // the container's environment: tokens, kubeconfig paths
    let shim: ChildProcess;
    const shimLog = openSync(stateFile.replace(/\.json$/, '.monitor.log'), 'a');
    try {
      // A session of its own: neither the kubelet's death nor its terminal's signals reach the container.
      shim = spawn(process.execPath, [...nodeLoaderArgs(), SHIM_ENTRY, specFile], {
        cwd: this.ctx.workDir,
        env: { PATH: env.PATH ?? '', [POD_UID_MARKER]: m.uid },
        detached: true,
        stdio: ['ignore', 'ignore', shimLog, 'ipc'],
      });
    } catch (err) {
      this.startFailed((err as Error).message);
      return;
    } finally {
      closeSync(shimLog);
    }
    const shimPid = shim.pid;
    if (shimPid === undefined) {
      shim.on('error', (err) => this.startFailed(err.message));
      return;
    }
    this.ctx.registry.add({ pgid: shimPid, podUid: m.uid, owner: `${this.owner()}/monitor`, container: this.name, stateFile });
    let settle!: () => void;
    const inst: Instance = { shimPid, pgid: undefined, stateFile, exited: new Promise((r) => (settle = r)) };
    this.instance = inst;
    const launchedMs = this.ctx.clock.now();
    shim.on('message', (msg: ShimMessage) => {
      if (msg.type !== 'started' || this.instance !== inst) return;
      inst.pgid = msg.pgid;
      this.ctx.registry.add({ pgid: msg.pgid, podUid: m.uid, owner: this.owner() });
      this.containerID = `meshwork://${msg.pgid}`;
      this.state = { running: { startedAt: rfc3339(msg.startedMs) } };
      this.event('Normal', 'Started', `Started container ${this.name}`);
      this.ctx.onChange();
      if (plan.readyPort !== undefined) void this.waitForPort(plan.readyPort, inst);
      else this.markStarted();
    });
    shim.on('error', (err) => this.ctx.log(`container ${this.owner()}: monitor process error: ${err.message}`));
    shim.on('exit', () => {
      this.monitorGone(inst, launchedMs);
      settle();
    });
  }

  /** The container's monitor has exited: its state file says how the container ended. */
  private monitorGone(inst: Instance, startedMs: number): void {
    let state: ShimState | undefined;
    try {
      state = readShimState(inst.stateFile);
    } catch (err) {
      this.ctx.log(`container ${this.owner()}: ${(err as Error).message}`);
    }
    const pgid = state?.pgid ?? inst.pgid;
    this.ctx.registry.remove(inst.shimPid);
    if (pgid !== undefined) {
      // A monitor that died before its container (kill -9): nothing would report on the container, so it ends too.
      if (!state?.exit) killGroup(pgid, 'SIGKILL');
      this.ctx.registry.remove(pgid);
    }
    if (this.instance !== inst) return;
    this.logFile.endInstance();
    if (state?.error !== undefined) {
      this.startFailed(state.error, false);
      return;
    }
    if (state?.exit) {
      this.exitedWith(state.exit.code, state.exit.signal, state.startedMs ?? startedMs);
      return;
    }
    this.logFile.note(`[kubelet] the container's monitor (pid ${inst.shimPid}) exited without recording the container's exit: the container was killed`);
    this.exitedWith(137, 'SIGKILL', state?.startedMs ?? startedMs, { reason: 'Error', message: 'the container monitor died' });
  }

  private startFailed(message: string, note = true): void {
    if (note) this.logFile.note(`[kubelet] cannot start container: ${message}`);
    this.logFile.endInstance();
    this.event('Warning', 'Failed', `Error: failed to start container "${this.name}": ${message}`);
    const now = this.ctx.clock.now();
    this.exitedWith(128, null, now, { reason: 'StartError', message });
  }

  /** Built-in servers are started once their port accepts connections (or the process is gone). */
  private async waitForPort(port: number, inst: Instance): Promise<void> {
    const host = this.ctx.bindIp;
    const netns = this.ctx.netns?.name;
    while (this.instance === inst) {
      // In its own network namespace the port is reached from inside it (from the host, the capture would answer for the app).
      const ok = netns
        ? (await runProbeInNetns(netns, { tcpSocket: { port } }, host, this.container, 1000)).ok
        : await new Promise<boolean>((resolve) => {
            const socket = connect({ host, port });
            socket.on('connect', () => {
              socket.destroy();
              resolve(true);
            });
            socket.on('error', () => resolve(false)); // not listening yet: try again shortly
          });
      if (ok) {
        if (this.instance === inst) this.markStarted();
        return;
      }
      await new Promise((r) => setTimeout(r, netns ? 200 : 25));
    }
  }

  /** `adoptedReady`: an adopted container keeps the readiness last reported, probed again from the next period. */
  private markStarted(adoptedReady?: boolean): void {
    this.started = true;
    const probe = this.kind === 'container' ? this.container.readinessProbe : undefined;
    if (!probe) {
      this.ready = true;
      this.ctx.onChange();
      return;
    }
    const timing = probeTiming(probe);
    const readiness = new ReadinessState(timing, adoptedReady ?? false);
    this.ready = readiness.ready;
    this.ctx.onChange();
    const inst = this.instance;
    const tick = (): void => {
      if (this.instance !== inst || this.stopping) return;
      const dns = this.ctx.podDns;
      const pid = this.mainPid;
      const netns = this.ctx.netns;
      const inContainer = netns
        ? (argv: string[]) => inPodNetwork(netns.name, netns.user, argv)
        : dns?.inNamespaces && pid !== undefined ? (argv: string[]) => inContainerOf(dns.tools, pid, argv) : undefined;
      const run = netns && !probe.exec
        ? runProbeInNetns(netns.name, probe, this.ctx.bindIp, this.container, timing.timeoutMs)
        : runProbe(probe, { host: this.ctx.bindIp, container: this.container, env: this.env, cwd: this.ctx.workDir, ...(inContainer ? { inContainer } : {}) }, timing.timeoutMs);
      void run.then((result) => {
        if (this.instance !== inst || this.stopping) return;
        if (!result.ok) this.event('Warning', 'Unhealthy', `Readiness probe failed: ${result.message}`);
        if (readiness.record(result.ok)) {
          this.ready = readiness.ready;
          this.ctx.onChange();
        }
        this.pendingTimer = this.ctx.clock.setTimer(tick, timing.periodMs);
      });
    };
    this.pendingTimer = this.ctx.clock.setTimer(tick, adoptedReady === undefined ? timing.initialDelayMs : timing.periodMs);
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
    if (delay === 0) {
      // A first crash: restarted at once, no back-off state (as the kubelet does).
      this.launch();
      return;
    }
    this.event('Warning', 'BackOff', `Back-off restarting failed container ${this.name} in pod ${podRef}`);
    this.setState({ waiting: { reason: 'CrashLoopBackOff', message: `back-off ${formatDelay(delay)} restarting failed container=${this.name} pod=${podRef}` } });
    this.pendingTimer = this.ctx.clock.setTimer(() => this.launch(), delay);
  }
}

function formatDelay(ms: number): string {
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return ms >= 1000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`;
}
