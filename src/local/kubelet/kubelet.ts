// The process kubelet of a local cluster: watches the Pods in the cluster's store, binds new ones to
// its node, gives each an IP on loopback and runs its containers as process groups; serves exec and
// logs to the API server (runtime.ts) in the same process.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { badRequest, notFound, StatusError } from '../../k8s/status.js';
import type { StoredObject } from '../../k8s/object.js';
import type { ObjectStore, WatchEvent } from '../store/store.js';
import { KUBELET_BACKOFF, type BackoffConfig } from './backoff.js';
import { systemClock, type Clock } from '../../clock.js';
import { formatLogLine, logPaths, readLog, type LogLine } from './container-log.js';
import type { ContainerRunner } from './container-runner.js';
import { EventRecorder, POD_TYPE } from './events.js';
import { runExec } from './exec.js';
import { PodIpAllocator } from './ip-allocator.js';
import { PodWorker, type NodeContext } from './pod-worker.js';
import { asPod, type Pod } from './pod-types.js';
import { ProcessRegistry, type RunningContainer } from './process-registry.js';
import { hasOwnMountNamespace, inContainerOf, userNamespaceSupport, type UserNamespaceSupport } from './pod-dns.js';
import type { Adoptable } from './container-runner.js';
import type { PodTokenIssuer } from './pod-token.js';
import type { KubeletPodNetwork } from './pod-network-host.js';
import { wantsOwnNetwork } from './pod-netns.js';
import type { ExecRequest, LogRequest, PodRuntime } from './runtime.js';

export interface KubeletOptions {
  store: ObjectStore;
  clusterName: string;
  nodeName: string;
  subnetOctet: number;
  /** Logs, pid records and pod working directories live here. */
  stateDir: string;
  clock?: Clock;
  backoff?: BackoffConfig;
  log?: (line: string) => void;
  /**
   * Issues each pod a token of its own service account (pod-token.ts): pods get a kubeconfig that
   * reads it, so in-cluster clients (the control plane, kube-proxy) reach the API server as themselves.
   */
  serviceAccountTokens?: PodTokenIssuer;
  /** Whether pods can get their own /etc/hosts and /etc/resolv.conf (pod-dns.ts); detected when not given (tests give it). */
  userNamespaces?: UserNamespaceSupport;
  /**
   * Pod network namespaces (`up --interception iptables`, root): pods the injector captured with
   * iptables run in one of their own with an address of `podNetwork.pods` (pod-netns.ts).
   */
  podNetwork?: KubeletPodNetwork;
}

export interface Kubelet extends PodRuntime {
  /** Resolves once every pod known at start has its containers started or waiting. */
  ready: Promise<void>;
  /** Kills every pod process; pod objects stay as they are (a next kubelet starts them again). */
  stop(): Promise<void>;
}

const MAX_BIND_ATTEMPTS = 5;

export function startKubelet(opts: KubeletOptions): Kubelet {
  const log = opts.log ?? ((line: string) => console.error(`[kubelet ${opts.clusterName}/${opts.nodeName}] ${line}`));
  const clock = opts.clock ?? systemClock;
  const logDir = join(opts.stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(join(opts.stateDir, 'pods'), { recursive: true });
  const allocator = new PodIpAllocator(opts.subnetOctet);
  const podNetwork = opts.podNetwork;
  const netnsAllocator = podNetwork ? new PodIpAllocator(opts.subnetOctet, podNetwork.pods) : undefined;
  /** The pod's namespace goes once its processes are gone; a failure to remove it is logged, never fatal. */
  const detachNetwork = (worker: PodWorker): void => {
    if (!worker.network || !podNetwork) return;
    try {
      podNetwork.detach(worker.network.netns);
    } catch (err) {
      log(`removing the network namespace ${worker.network.netns} of pod ${worker.namespace}/${worker.name} failed: ${(err as Error).message}`);
    }
  };
  const registry = new ProcessRegistry(join(opts.stateDir, 'pids.json'), log);
  const events = new EventRecorder(opts.store, opts.nodeName, clock, log);
  const node: NodeContext = {
    store: opts.store,
    nodeName: opts.nodeName,
    hostIp: allocator.hostIp,
    stateDir: opts.stateDir,
    logDir,
    kubeletPath: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    serviceAccountTokens: opts.serviceAccountTokens,
    clock,
    backoff: opts.backoff ?? KUBELET_BACKOFF,
    registry,
    events,
    log,
    userNamespaces: () => opts.userNamespaces ?? userNamespaceSupport(),
  };
  const workers = new Map<string, PodWorker>();
  const deletions = new Set<Promise<void>>();
  let stopped = false;
  let unwatch: (() => void) | undefined;

  const podKey = (ns: string, name: string): string => `${ns}/${name}`;
  const workerFor = (ns: string, name: string): PodWorker | undefined => {
    for (const w of workers.values()) if (w.namespace === ns && w.name === name && !w.isTerminating) return w;
    return undefined;
  };

  /** IPs that other existing pods hold, so a new pod never gets one of them. */
  function ipsHeldElsewhere(uid: string): Set<string> {
    const held = new Set<string>();
    for (const item of opts.store.list(POD_TYPE).items) {
      if (item.metadata.uid === uid) continue;
      const status = asPod(item).status;
      if (status?.phase === 'Succeeded' || status?.phase === 'Failed') continue;
      if (typeof status?.podIP === 'string') held.add(status.podIP);
    }
    return held;
  }

  /** Sets spec.nodeName (what the scheduler's binding does); returns the bound pod, or undefined if it is gone. */
  function bind(pod: Pod): Pod | undefined {
    for (let attempt = 1; ; attempt++) {
      const current = opts.store.get(POD_TYPE, pod.metadata.namespace, pod.metadata.name);
      if (!current || current.metadata.uid !== pod.metadata.uid) return undefined;
      const p = asPod(current);
      if (p.spec.nodeName) return p;
      try {
        const bound = asPod(opts.store.update(POD_TYPE, { ...p, spec: { ...p.spec, nodeName: opts.nodeName } }));
        const ns = p.metadata.namespace ?? 'default';
        events.record({ namespace: ns, name: p.metadata.name, uid: p.metadata.uid }, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${p.metadata.name} to ${opts.nodeName}`, 'default-scheduler');
        return bound;
      } catch (err) {
        if (!(err instanceof StatusError && err.reason === 'Conflict') || attempt >= MAX_BIND_ATTEMPTS) throw err;
      }
    }
  }

  /** Deletes the pod object once its processes are gone (the last step of a graceful deletion). */
  function removeObject(ns: string, name: string, uid: string): void {
    const current = opts.store.get(POD_TYPE, ns, name);
    if (!current || current.metadata.uid !== uid) return;
    if ((current.metadata.finalizers ?? []).length > 0) {
      log(`pod ${ns}/${name} has finalizers ${JSON.stringify(current.metadata.finalizers)}: left for their owners to remove`);
      return;
    }
    opts.store.delete(POD_TYPE, ns, name);
  }

  function terminate(worker: PodWorker, removeFromStore: boolean): void {
    if (worker.isTerminating) return;
    const done = worker
      .terminate(true)
      .then(() => {
        detachNetwork(worker);
        allocator.release(worker.uid);
        netnsAllocator?.release(worker.uid);
        events.forget(worker.uid);
        workers.delete(worker.uid);
        if (removeFromStore && !stopped) removeObject(worker.namespace, worker.name, worker.uid);
      })
      .catch((err: Error) => log(`deleting pod ${worker.namespace}/${worker.name} failed: ${err.message}`))
      .finally(() => deletions.delete(done));
    deletions.add(done);
  }

  /**
   * Handles one pod as seen in the store; returns the start of its containers when it was taken on.
   * `running`: its containers a previous kubelet left running, to adopt instead of starting anew.
   */
  function handle(type: WatchEvent['type'], obj: StoredObject, running?: ReadonlyMap<string, Adoptable>): Promise<void> | undefined {
    let pod: Pod;
    try {
      pod = asPod(obj);
    } catch (err) {
      log(`ignoring pod: ${(err as Error).message}`);
      return undefined;
    }
    const { uid, name } = pod.metadata;
    const ns = pod.metadata.namespace ?? 'default';
    const existing = workers.get(uid);
    if (type === 'DELETED') {
      if (existing) terminate(existing, false);
      return undefined;
    }
    if (existing) {
      if (pod.metadata.deletionTimestamp) terminate(existing, true);
      return undefined;
    }
    if (pod.spec.nodeName && pod.spec.nodeName !== opts.nodeName) return undefined;
    if (pod.metadata.deletionTimestamp) {
      removeObject(ns, name, uid); // never ran here: nothing to stop
      return undefined;
    }
    if (PodWorker.isFinished(pod)) return undefined;
    const bound = bind(pod);
    if (!bound) return undefined;
    const ownNetwork = podNetwork && netnsAllocator && wantsOwnNetwork(bound) ? { network: podNetwork, ips: netnsAllocator } : undefined;
    const ip = (ownNetwork?.ips ?? allocator).allocate(uid, ipsHeldElsewhere(uid), bound.status?.podIP);
    let network: { netns: string; apiServer?: string } | undefined;
    try {
      const attached = ownNetwork?.network.attach(uid, ip, running !== undefined && running.size > 0);
      network = attached && podNetwork?.apiServer ? { ...attached, apiServer: podNetwork.apiServer } : attached;
    } catch (err) {
      ownNetwork?.ips.release(uid);
      events.record({ namespace: ns, name, uid }, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      throw err;
    }
    const worker = new PodWorker(bound, ip, node, network);
    workers.set(uid, worker);
    if (running) {
      log(`pod ${podKey(ns, name)} adopted: its containers kept running while no kubelet ran (${[...running.entries()].map(([c, r]) => `${c} pid ${r.pgid}`).join(', ')})`);
      worker.adopt(running);
      return Promise.resolve();
    }
    return worker.start().catch((err: Error) => log(`starting pod ${podKey(ns, name)} failed: ${err.message}`));
  }

  const queue: WatchEvent[] = [];
  let draining = false;
  function enqueue(event: WatchEvent): void {
    queue.push(event);
    if (draining) return;
    draining = true;
    // The store calls watchers inside its writes: act on events afterwards, never re-entrantly.
    setImmediate(() => {
      while (queue.length > 0 && !stopped) {
        const e = queue.shift()!;
        try {
          void handle(e.type, e.object);
        } catch (err) {
          log(`pod event ${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name} failed: ${(err as Error).message}`);
        }
      }
      queue.length = 0;
      draining = false;
    });
  }

  const ready = (async () => {
    const { items, resourceVersion } = opts.store.list(POD_TYPE);
    const adoptions = adoptablePods(items.map(asPod), registry.runningContainers(), opts.nodeName);
    await registry.killLeftovers(new Set([...adoptions.values()].flatMap((byContainer) => [...byContainer.values()].flatMap((r) => [r.shimPid, r.pgid]))));
    if (stopped) return;
    const starts: Array<Promise<void>> = [];
    for (const item of items) {
      try {
        const started = handle('ADDED', item, adoptions.get(item.metadata.uid));
        if (started) starts.push(started);
      } catch (err) {
        log(`pod ${item.metadata.namespace}/${item.metadata.name} not started: ${(err as Error).message}`);
      }
    }
    unwatch = opts.store.watch(POD_TYPE, { resourceVersion }, enqueue);
    await Promise.all(starts);
  })();
  ready.catch((err: Error) => log(`kubelet start failed: ${err.message}`));

  function runnerFor(ns: string, podName: string, container: string | undefined, verb: 'exec' | 'logs'): { worker: PodWorker; runner: ContainerRunner } {
    const worker = workerFor(ns, podName);
    if (!worker) {
      const obj = opts.store.get(POD_TYPE, ns, podName);
      if (!obj) throw notFound(POD_TYPE, podName);
      const phase = asPod(obj).status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot ${verb} into a container in a completed pod; current phase is ${phase}`);
      throw badRequest(`pod "${podName}" is not running on node ${opts.nodeName}`);
    }
    const name = container ?? worker.runners[0].name;
    const runner = worker.runner(name);
    if (!runner) throw new StatusError(404, 'NotFound', `container "${name}" is not valid for pod "${podName}"`);
    return { worker, runner };
  }

  function notRunning(runner: ContainerRunner, podName: string): StatusError {
    const s = runner.state;
    if ('waiting' in s) return badRequest(`container "${runner.name}" in pod "${podName}" is waiting to start: ${s.waiting.reason}`);
    return badRequest(`container "${runner.name}" in pod "${podName}" is not running`);
  }

  return {
    ready,

    async exec(req: ExecRequest): Promise<{ exitCode: number }> {
      const { worker, runner } = runnerFor(req.namespace, req.pod, req.container, 'exec');
      if (!runner.running) throw notRunning(runner, req.pod);
      // A container with its pod's DNS files runs in namespaces of its own: the command joins them.
      const pid = runner.mainPid;
      const support = node.userNamespaces();
      const enter = worker.inOwnNetwork(runner.container) ?? (pid !== undefined && support.ok && hasOwnMountNamespace(pid) ? (argv: string[]) => inContainerOf(support.tools, pid, argv) : undefined);
      return runExec({
        ...(enter ? { inContainer: enter } : {}),
        command: req.command,
        env: runner.env,
        cwd: worker.workDir,
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
        signal: req.signal,
        registry,
        podUid: worker.uid,
        owner: `${req.namespace}/${req.pod}/${runner.name}`,
        log,
      });
    },

    logs(req: LogRequest): Readable {
      const obj = opts.store.get(POD_TYPE, req.namespace, req.pod);
      if (!obj) throw notFound(POD_TYPE, req.pod);
      const pod = asPod(obj);
      const name = req.container ?? pod.spec.containers[0].name;
      const known = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].some((c) => c.name === name);
      if (!known) throw new StatusError(404, 'NotFound', `container "${name}" is not valid for pod "${req.pod}"`);
      const worker = workers.get(pod.metadata.uid);
      const runner = worker?.runner(name);
      const paths = logPaths(logDir, req.namespace, req.pod, name);
      const file = req.previous ? paths.previous : paths.current;
      if (!existsSync(file)) {
        if (req.previous) throw badRequest(`previous terminated container "${name}" in pod "${req.pod}" not found`);
        if (runner) throw notRunning(runner, req.pod);
        throw badRequest(`container "${name}" in pod "${req.pod}" has no logs on node ${opts.nodeName}`);
      }
      const out = new PassThrough();
      const read = readLog(file);
      let lines = read.lines;
      if (req.tailLines !== undefined) lines = req.tailLines <= 0 ? [] : lines.slice(-req.tailLines);
      for (const line of lines) out.write(formatLogLine(line, req.timestamps));
      const liveLog = runner?.running && !req.previous ? worker?.logOf(name) : undefined;
      if (!req.follow || !liveLog || !liveLog.live || req.signal.aborted) {
        out.end();
        return out;
      }
      const finish = (): void => {
        unfollow();
        req.signal.removeEventListener('abort', finish);
        out.end();
      };
      const unfollow = liveLog.follow(read.bytes, (line: LogLine) => out.write(formatLogLine(line, req.timestamps)), finish);
      req.signal.addEventListener('abort', finish, { once: true });
      out.on('close', () => {
        unfollow();
        req.signal.removeEventListener('abort', finish);
      });
      return out;
    },

    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      unwatch?.();
      await ready.catch(() => undefined); // its failure was logged where it happened
      await Promise.all([...deletions]);
      await Promise.all([...workers.values()].map((w) => w.terminate(false)));
      for (const w of workers.values()) detachNetwork(w);
      workers.clear();
    },
  };
}

/**
 * The pods whose every container still runs from a previous kubelet, by pod uid: they are adopted as
 * they are. A pod with any container gone, or without the IP it had, starts anew (its leftovers killed).
 */
export function adoptablePods(pods: Pod[], running: RunningContainer[], nodeName: string): Map<string, Map<string, Adoptable>> {
  const out = new Map<string, Map<string, Adoptable>>();
  for (const pod of pods) {
    if (pod.spec.nodeName !== nodeName || pod.metadata.deletionTimestamp || PodWorker.isFinished(pod) || !pod.status?.podIP) continue;
    const mine = new Map(running.filter((r) => r.podUid === pod.metadata.uid).map((r) => [r.container, r]));
    const statuses = pod.status.containerStatuses ?? [];
    const all = pod.spec.containers.every((c) => mine.has(c.name) && statuses.some((s) => s.name === c.name));
    if (all) out.set(pod.metadata.uid, new Map(pod.spec.containers.map((c) => [c.name, mine.get(c.name)!])));
  }
  return out;
}
