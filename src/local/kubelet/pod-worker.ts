// One pod on this node: its working directory, its containers (init containers first, in order), and
// the status the kubelet reports for it.
import { SIDECAR_CONTAINER } from '../../registry/build.js';
import { chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { StatusError } from '../../k8s/status.js';
import type { ObjectStore } from '../store/store.js';
import type { BackoffConfig } from './backoff.js';
import type { Clock } from '../../clock.js';
import { rfc3339 } from '../../k8s/time-format.js';
import { ContainerLog } from './container-log.js';
import { ContainerRunner, type Adoptable, type ContainerContext } from './container-runner.js';
import { POD_TYPE, type EventRecorder } from './events.js';
import { appIpOf } from './ip-allocator.js';
import { desiredConditions, mergeConditions, podPhase } from './pod-status.js';
import { asPod, type ContainerStatus, type Pod, type PodStatus } from './pod-types.js';
import type { ProcessRegistry } from './process-registry.js';
import { PodServiceAccountToken, type PodTokenIssuer } from './pod-token.js';
import { findByKind } from '../../k8s/kinds.js';
import { dnsUnavailableMessage, podDnsFiles, writePodDnsFiles, type PodDnsFiles, type UserNamespaceSupport } from './pod-dns.js';
import { containerUser, inPodNetwork } from './pod-netns.js';

/** The container name that marks a pod as having a sidecar proxy (it owns the pod IP). */

/** Local pods get at most this long between SIGTERM and SIGKILL, whatever they ask for. */
export const MAX_GRACE_MS = 5000;

export interface NodeContext {
  store: ObjectStore;
  nodeName: string;
  hostIp: string;
  stateDir: string;
  logDir: string;
  kubeletPath: string;
  /** Issues each pod's service-account token; without it pods get no API credentials. */
  serviceAccountTokens: PodTokenIssuer | undefined;
  clock: Clock;
  backoff: BackoffConfig;
  registry: ProcessRegistry;
  events: EventRecorder;
  log: (line: string) => void;
  /** Whether pods can get their own /etc/hosts and /etc/resolv.conf (asked for pods with a sidecar only). */
  userNamespaces: () => UserNamespaceSupport;
}

const MAX_STATUS_ATTEMPTS = 5;

const SERVICE_ACCOUNT_TYPE = findByKind('', 'ServiceAccount');

/** automountServiceAccountToken: the pod's setting, else its service account's, else true. */
function wantsToken(pod: Pod, node: NodeContext): boolean {
  if (pod.spec.automountServiceAccountToken !== undefined) return pod.spec.automountServiceAccountToken;
  const decided = node.serviceAccountTokens?.wantsToken?.(pod as { spec: { volumes?: unknown[] } });
  if (decided !== undefined) return decided;
  const sa = SERVICE_ACCOUNT_TYPE && node.store.get(SERVICE_ACCOUNT_TYPE, pod.metadata.namespace ?? 'default', pod.spec.serviceAccountName || 'default');
  return (sa as { automountServiceAccountToken?: boolean } | undefined)?.automountServiceAccountToken !== false;
}

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly workDir: string;
  readonly initRunners: ContainerRunner[] = [];
  readonly runners: ContainerRunner[] = [];
  private readonly logs = new Map<string, ContainerLog>();
  private initDone: boolean;
  private startTime: string;
  private terminating = false;
  /** Set by the kubelet's stop(): processes go, the object and its status stay as they are. */
  private frozen = false;
  private writeScheduled = false;
  /** Pods with a sidecar get DNS (pod-dns.ts) where the machine allows user namespaces. */
  private readonly dns: { support: UserNamespaceSupport; files: PodDnsFiles } | undefined;
  /** The pod's own service-account token and kubeconfig, unless it opted out of them. */
  private readonly token: PodServiceAccountToken | undefined;

  /** The pod's DNS files in /etc/netns/<netns>/, when it has a network namespace of its own. */
  private readonly netnsFiles: PodDnsFiles | undefined;

  constructor(
    private pod: Pod,
    readonly podIp: string,
    private readonly node: NodeContext,
    /** The pod's own network namespace (pod-netns.ts) and the API server as it reaches it, or undefined: the host's, on loopback. */
    readonly network?: { netns: string; apiServer?: string },
  ) {
    const m = pod.metadata;
    this.uid = m.uid;
    this.namespace = m.namespace ?? 'default';
    this.name = m.name;
    this.workDir = join(node.stateDir, 'pods', `${this.namespace}_${this.name}_${this.uid}`);
    this.startTime = pod.status?.startTime ?? rfc3339(node.clock.now());
    const hasSidecar = pod.spec.containers.some((c) => c.name === SIDECAR_CONTAINER);
    // A gateway is its proxy alone: no app container to resolve names in.
    const hasApps = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].some((c) => c.name !== SIDECAR_CONTAINER);
    // In a network namespace of its own `ip netns exec` mounts the pod's files from /etc/netns/<name>/.
    this.netnsFiles = network ? { hostsFile: join('/etc/netns', network.netns, 'hosts'), resolvConf: join('/etc/netns', network.netns, 'resolv.conf') } : undefined;
    this.dns = hasSidecar && hasApps && !network ? { support: node.userNamespaces(), files: podDnsFiles(this.workDir) } : undefined;
    const dnsSupport = this.dns?.support;
    const issuer = node.serviceAccountTokens;
    // In its own network namespace the pod's kubeconfig names the API server's address on the bridge.
    const podIssuer = issuer && network?.apiServer
      ? { clusterName: issuer.clusterName, caPem: issuer.caPem, server: network.apiServer, issue: issuer.issue.bind(issuer) }
      : issuer;
    this.token = wantsToken(pod, node) && podIssuer
      ? new PodServiceAccountToken(
          this.workDir,
          { namespace: this.namespace, name: this.name, uid: this.uid, serviceAccountName: pod.spec.serviceAccountName || 'default' },
          podIssuer,
          node.clock,
          (message) => node.events.record({ namespace: this.namespace, name: this.name, uid: this.uid }, 'Warning', 'FailedMount', message),
        )
      : undefined;
    const previous = (list: ContainerStatus[] | undefined, name: string): ContainerStatus | undefined => list?.find((s) => s.name === name);
    if (this.token && network) {
      // The sidecar's agent reads the token as the proxy's user (1337).
      const proxy = pod.spec.containers.find((c) => c.name === SIDECAR_CONTAINER);
      const owner = proxy ? containerUser(pod, proxy) : undefined;
      if (owner) this.token.owner = owner;
    }
    const make = (container: Pod['spec']['containers'][number], kind: 'container' | 'init'): ContainerRunner => {
      // With a namespace of its own the app keeps the pod IP: the capture, not an address, puts the sidecar in front.
      const bindIp = hasSidecar && !network && container.name !== SIDECAR_CONTAINER && kind === 'container' ? appIpOf(podIp) : podIp;
      const ctx: ContainerContext = {
        pod,
        podIp,
        hostIp: node.hostIp,
        bindIp,
        workDir: this.workDir,
        kubeletPath: node.kubeletPath,
        serviceAccountKubeconfig: this.token?.files.kubeconfig,
        serviceAccountDir: this.token?.files.dir,
        restartPolicy: pod.spec.restartPolicy ?? 'Always',
        clock: node.clock,
        backoff: node.backoff,
        registry: node.registry,
        events: node.events,
        log: node.log,
        onChange: () => this.scheduleStatusWrite(),
        ...(this.dns && dnsSupport?.ok ? { podDns: { tools: dnsSupport.tools, files: this.dns.files, inNamespaces: container.name !== SIDECAR_CONTAINER } } : {}),
        ...(network && this.netnsFiles ? { netns: { name: network.netns, user: containerUser(pod, container), hostsFile: this.netnsFiles.hostsFile } } : {}),
      };
      const log = new ContainerLog(node.logDir, this.namespace, this.name, container.name);
      this.logs.set(container.name, log);
      const prev = previous(kind === 'init' ? pod.status?.initContainerStatuses : pod.status?.containerStatuses, container.name);
      return new ContainerRunner(container, kind, ctx, log, prev);
    };
    for (const c of pod.spec.initContainers ?? []) this.initRunners.push(make(c, 'init'));
    for (const c of pod.spec.containers) this.runners.push(make(c, 'container'));
    // A pod whose init containers all completed before a kubelet restart does not run them again.
    const prevInit = pod.status?.initContainerStatuses ?? [];
    this.initDone = this.initRunners.every((r) => prevInit.some((s) => s.name === r.name && 'terminated' in s.state && s.state.terminated.exitCode === 0));
  }

  /** Wraps a command so it runs in the pod's own network namespace as the container's user; undefined without one. */
  inOwnNetwork(container: Pod['spec']['containers'][number]): ((argv: string[]) => string[]) | undefined {
    const network = this.network;
    if (!network) return undefined;
    const user = containerUser(this.pod, container);
    return (argv) => inPodNetwork(network.netns, user, argv);
  }

  runner(name: string): ContainerRunner | undefined {
    return this.runners.find((r) => r.name === name) ?? this.initRunners.find((r) => r.name === name);
  }

  logOf(container: string): ContainerLog | undefined {
    return this.logs.get(container);
  }

  get isTerminating(): boolean {
    return this.terminating;
  }

  /** Starts the pod's processes; resolves once every container is started or waiting. */
  async start(): Promise<void> {
    mkdirSync(this.workDir, { recursive: true });
    this.prepareDns();
    await this.token?.start();
    this.scheduleStatusWrite();
    if (!this.initDone) {
      for (const init of this.initRunners) {
        if (this.terminating) return;
        init.start();
        // Init containers run one after another; only a successful one lets the next start.
        await init.finished;
        const state = init.state;
        if (!('terminated' in state) || state.terminated.exitCode !== 0) return; // pod failed (restartPolicy Never) or is terminating
      }
      this.initDone = true;
    }
    if (this.terminating) return;
    for (const r of this.runners) r.start();
    this.scheduleStatusWrite();
  }

  /** Writes the pod's hosts file and resolv.conf, or says (as an event) why its containers get none. */
  private prepareDns(): void {
    if (this.netnsFiles) {
      writePodDnsFiles(this.netnsFiles, { name: this.name, namespace: this.namespace, ip: this.podIp });
      // The sidecar's agent keeps the mesh's names in the hosts file, as the proxy's user.
      const proxy = this.pod.spec.containers.find((c) => c.name === SIDECAR_CONTAINER);
      const owner = proxy ? containerUser(this.pod, proxy) : undefined;
      if (owner) chownSync(this.netnsFiles.hostsFile, owner.uid, owner.gid);
      return;
    }
    if (!this.dns) return;
    const ref = { namespace: this.namespace, name: this.name, uid: this.uid };
    if (!this.dns.support.ok) {
      this.node.events.record(ref, 'Warning', 'DNSConfigForming', dnsUnavailableMessage(this.dns.support.reason));
      return;
    }
    writePodDnsFiles(this.dns.files, { name: this.name, namespace: this.namespace, ip: this.podIp });
  }

  /** Takes over the running containers of a previous kubelet (every container of the pod runs). */
  adopt(running: ReadonlyMap<string, Adoptable>): void {
    mkdirSync(this.workDir, { recursive: true });
    void this.token?.start(); // a fresh token: the old one's refresh went with the previous kubelet
    this.initDone = true;
    const statuses = this.pod.status?.containerStatuses ?? [];
    for (const r of this.runners) r.adopt(running.get(r.name)!, statuses.find((s) => s.name === r.name)!);
    const initStatuses = this.pod.status?.initContainerStatuses ?? [];
    for (const r of this.initRunners) {
      const previous = initStatuses.find((s) => s.name === r.name);
      if (previous) r.restoreStatus(previous);
    }
    this.scheduleStatusWrite();
  }

  /** Whether the pod has already ended (Succeeded/Failed) in the status we read at adoption. */
  static isFinished(pod: Pod): boolean {
    return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  }

  /**
   * Stops every process. `deleting`: the pod is being deleted (Killing events, logs and the working
   * directory removed); otherwise the kubelet itself is stopping and nothing about the pod changes.
   */
  async terminate(deleting: boolean): Promise<void> {
    this.terminating = true;
    this.token?.stop();
    if (!deleting) this.frozen = true;
    const requested = this.pod.spec.terminationGracePeriodSeconds ?? 30;
    const graceMs = Math.min(Math.max(0, requested) * 1000, MAX_GRACE_MS);
    await Promise.all([...this.initRunners, ...this.runners].map((r) => r.stop(graceMs)));
    if (deleting) {
      this.frozen = true;
      for (const log of this.logs.values()) log.remove();
      rmSync(this.workDir, { recursive: true, force: true });
    }
  }

  private scheduleStatusWrite(): void {
    if (this.writeScheduled || this.frozen) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      if (this.frozen) return;
      try {
        this.writeStatus();
      } catch (err) {
        this.node.log(`status of pod ${this.namespace}/${this.name} not written: ${(err as Error).message}`);
      }
    });
  }

  computeStatus(previous: PodStatus | undefined): PodStatus {
    const containerStatuses = this.runners.map((r) => r.status());
    const initContainerStatuses = this.initRunners.map((r) => r.status());
    const initFailed = initContainerStatuses.some((s) => 'terminated' in s.state && s.state.terminated.exitCode !== 0);
    const phase = podPhase({ restartPolicy: this.pod.spec.restartPolicy ?? 'Always', initDone: this.initDone, initFailed, containers: containerStatuses });
    const initPending = initContainerStatuses.filter((s) => !('terminated' in s.state && s.state.terminated.exitCode === 0)).map((s) => s.name);
    const conditions = mergeConditions(previous?.conditions, desiredConditions({ phase, initDone: this.initDone, initPending, containers: containerStatuses }), rfc3339(this.node.clock.now()));
    return {
      ...previous,
      phase,
      conditions,
      hostIP: this.node.hostIp,
      hostIPs: [{ ip: this.node.hostIp }],
      podIP: this.podIp,
      podIPs: [{ ip: this.podIp }],
      startTime: this.startTime,
      ...(initContainerStatuses.length > 0 ? { initContainerStatuses } : {}),
      containerStatuses,
      qosClass: previous?.qosClass ?? 'BestEffort',
    };
  }

  /** Read-modify-write of the pod's status, retried on Conflict. */
  private writeStatus(): void {
    for (let attempt = 1; ; attempt++) {
      const current = this.node.store.get(POD_TYPE, this.namespace, this.name);
      if (!current || current.metadata.uid !== this.uid) return; // deleted or replaced: nothing to report on
      const previous = asPod(current).status;
      const status = this.computeStatus(previous);
      if (isDeepStrictEqual(status, previous)) return;
      try {
        this.node.store.update(POD_TYPE, { ...current, status });
        return;
      } catch (err) {
        if (!(err instanceof StatusError && err.reason === 'Conflict') || attempt >= MAX_STATUS_ATTEMPTS) throw err;
      }
    }
  }
}
