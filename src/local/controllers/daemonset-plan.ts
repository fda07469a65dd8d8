// What the DaemonSet controller does on each node, pure, following pkg/controller/daemon: manage
// (podsShouldBeOnNode: a pod where one should run, none where none should, failed and surplus pods
// deleted) and rollingUpdate (old pods replaced within maxUnavailable, or new pods surged beside old
// ones within maxSurge), and the status counts.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { LabelSelector } from '../../k8s/selectors.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './controller-history.js';
import { scaledValue } from './deployment-spec.js';
import { readLabelSelector } from './label-selector.js';
import { podAvailability, podNodeName, podPhase } from './pods.js';
import type { JsonObject } from './read.js';
import { optInt, optIntOrString, optRecord, optString, record } from './read.js';

export interface DaemonSetSpecView {
  selector: LabelSelector;
  template: JsonObject;
  minReadySeconds: number;
  revisionHistoryLimit: number;
  strategy: { type: 'OnDelete' } | { type: 'RollingUpdate'; maxSurge: number | string; maxUnavailable: number | string };
}

export function readDaemonSetSpec(ds: KubeObject): DaemonSetSpecView {
  const spec = record(ds.spec, 'spec');
  const strategy = optRecord(spec.updateStrategy, 'spec.updateStrategy') ?? {};
  const type = optString(strategy.type, 'spec.updateStrategy.type') ?? 'RollingUpdate';
  let parsed: DaemonSetSpecView['strategy'];
  if (type === 'OnDelete') parsed = { type };
  else if (type === 'RollingUpdate') {
    const rolling = optRecord(strategy.rollingUpdate, 'spec.updateStrategy.rollingUpdate') ?? {};
    parsed = {
      type,
      maxSurge: optIntOrString(rolling.maxSurge, 'spec.updateStrategy.rollingUpdate.maxSurge') ?? 0,
      maxUnavailable: optIntOrString(rolling.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable') ?? 1,
    };
  } else throw new Error(`spec.updateStrategy.type: unsupported value "${type}": supported values: "OnDelete", "RollingUpdate"`);
  return {
    selector: readLabelSelector(spec.selector, 'spec.selector'),
    template: record(spec.template, 'spec.template'),
    minReadySeconds: optInt(spec.minReadySeconds, 'spec.minReadySeconds') ?? 0,
    revisionHistoryLimit: optInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit') ?? 10,
    strategy: parsed,
  };
}

/** maxSurge and maxUnavailable against the nodes that should run the pod, rounded up; never both 0. */
export function rollingLimits(strategy: DaemonSetSpecView['strategy'], desired: number): { maxSurge: number; maxUnavailable: number } {
  if (strategy.type !== 'RollingUpdate') return { maxSurge: 0, maxUnavailable: 0 };
  const maxSurge = scaledValue(strategy.maxSurge, desired, true, 'spec.updateStrategy.rollingUpdate.maxSurge');
  let maxUnavailable = scaledValue(strategy.maxUnavailable, desired, true, 'spec.updateStrategy.rollingUpdate.maxUnavailable');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export interface DaemonPod {
  pod: StoredObject;
  hash: string | undefined;
  deleting: boolean;
  failed: boolean;
  succeeded: boolean;
  ready: boolean;
  available: boolean;
}

export function daemonPod(pod: StoredObject, minReadySeconds: number, now: number): DaemonPod {
  const phase = podPhase(pod);
  return {
    pod,
    hash: pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL],
    deleting: pod.metadata.deletionTimestamp !== undefined,
    failed: phase === 'Failed',
    succeeded: phase === 'Succeeded',
    ready: podAvailability(pod, 0, now).available,
    available: podAvailability(pod, minReadySeconds, now).available,
  };
}

export interface NodeState {
  name: string;
  shouldRun: boolean;
  pods: DaemonPod[];
}

/** Bound pods first, then oldest, then by name (podByCreationTimestampAndPhase). */
export function oldestFirst(a: DaemonPod, b: DaemonPod): number {
  const boundA = podNodeName(a.pod) ? 0 : 1;
  const boundB = podNodeName(b.pod) ? 0 : 1;
  if (boundA !== boundB) return boundA - boundB;
  const ta = Date.parse(a.pod.metadata.creationTimestamp);
  const tb = Date.parse(b.pod.metadata.creationTimestamp);
  if (ta !== tb) return ta - tb;
  return a.pod.metadata.name < b.pod.metadata.name ? -1 : a.pod.metadata.name > b.pod.metadata.name ? 1 : 0;
}

export interface NodeActions {
  /** Nodes that get a new daemon pod. */
  create: string[];
  delete: DaemonPod[];
}

/** podsShouldBeOnNode over every node. `surge`: rolling updates may run an old and a new pod side by side. */
export function planManage(nodes: readonly NodeState[], hash: string, surge: boolean): NodeActions {
  const out: NodeActions = { create: [], delete: [] };
  for (const node of nodes) {
    const pods = node.pods.filter((p) => !p.deleting);
    if (!node.shouldRun) {
      out.delete.push(...pods);
      continue;
    }
    if (node.pods.length === 0) {
      out.create.push(node.name);
      continue;
    }
    const running: DaemonPod[] = [];
    for (const p of pods) {
      if (p.failed || p.succeeded) out.delete.push(p);
      else running.push(p);
    }
    running.sort(oldestFirst);
    if (!surge) {
      out.delete.push(...running.slice(1));
      continue;
    }
    if (running.length <= 1) {
      if (running.length === 0) out.create.push(node.name);
      continue;
    }
    // Surging: an old and a new pod may run together while the new one is not ready; anything else goes.
    let oldestNew: DaemonPod | undefined;
    let oldestOld: DaemonPod | undefined;
    for (const p of running) {
      if (p.hash === hash && !oldestNew) oldestNew = p;
      else if (p.hash !== hash && !oldestOld) oldestOld = p;
      else out.delete.push(p);
    }
    if (oldestNew && oldestOld && (!oldestOld.ready || oldestNew.ready)) out.delete.push(oldestOld);
  }
  return out;
}

/** The one new and the one old pod on a node; undefined when there are several of either (left to manage). */
function updatedPodsOnNode(pods: readonly DaemonPod[], hash: string): { newPod?: DaemonPod; oldPod?: DaemonPod } | undefined {
  let newPod: DaemonPod | undefined;
  let oldPod: DaemonPod | undefined;
  for (const p of pods) {
    if (p.deleting || p.failed || p.succeeded) continue;
    if (p.hash === hash) {
      if (newPod) return undefined;
      newPod = p;
    } else {
      if (oldPod) return undefined;
      oldPod = p;
    }
  }
  return { ...(newPod ? { newPod } : {}), ...(oldPod ? { oldPod } : {}) };
}

/** rollingUpdate: which old pods to delete and on which nodes to surge a new pod. */
export function planRollingUpdate(nodes: readonly NodeState[], hash: string, maxSurge: number, maxUnavailable: number): NodeActions {
  const running = nodes.filter((n) => n.shouldRun);
  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: DaemonPod[] = [];
    const candidates: DaemonPod[] = [];
    for (const node of running) {
      const found = updatedPodsOnNode(node.pods, hash);
      if (!found || (!found.newPod && !found.oldPod) || (found.newPod && found.oldPod)) {
        unavailable++;
        continue;
      }
      if (found.newPod) {
        if (!found.newPod.available) unavailable++;
        continue;
      }
      const old = found.oldPod!;
      if (!old.available) replace.push(old);
      else if (unavailable < maxUnavailable) candidates.push(old);
    }
    const room = Math.min(candidates.length, Math.max(0, maxUnavailable - unavailable));
    return { create: [], delete: [...replace, ...candidates.slice(0, room)] };
  }
  let surging = 0;
  const allowed: string[] = [];
  const candidates: string[] = [];
  const deletions: DaemonPod[] = [];
  for (const node of running) {
    const found = updatedPodsOnNode(node.pods, hash);
    if (!found || !found.oldPod) continue;
    if (!found.newPod) {
      if (!found.oldPod.available) allowed.push(node.name);
      else if (surging < maxSurge) candidates.push(node.name);
      continue;
    }
    if (!found.newPod.available) surging++;
    else deletions.push(found.oldPod);
  }
  const room = Math.min(candidates.length, Math.max(0, maxSurge - surging));
  return { create: [...allowed, ...candidates.slice(0, room)], delete: deletions };
}

export interface DaemonSetCounts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  numberAvailable: number;
  numberUnavailable: number;
  updatedNumberScheduled: number;
}

/** updateDaemonSetStatus: per node, its oldest pod not being deleted stands for the node. */
export function daemonSetCounts(nodes: readonly NodeState[], hash: string): DaemonSetCounts {
  const c: DaemonSetCounts = { desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, numberAvailable: 0, numberUnavailable: 0, updatedNumberScheduled: 0 };
  for (const node of nodes) {
    const pods = node.pods.filter((p) => !p.deleting).sort(oldestFirst);
    if (!node.shouldRun) {
      if (pods.length > 0) c.numberMisscheduled++;
      continue;
    }
    c.desiredNumberScheduled++;
    const pod = pods[0];
    if (!pod) continue;
    c.currentNumberScheduled++;
    if (pod.ready) c.numberReady++;
    if (pod.ready && pod.available) c.numberAvailable++;
    if (pod.hash === hash) c.updatedNumberScheduled++;
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  return c;
}
