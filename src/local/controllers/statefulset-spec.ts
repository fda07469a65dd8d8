// A StatefulSet's spec, its pods' identity, and what its controller does next, pure, following
// updateStatefulSet of pkg/controller/statefulset: the pods `<set>-<ordinal>` for the ordinals
// [start, start + replicas) are created in order, each only once all before it are Running and Ready
// (OrderedReady; Parallel creates and deletes at once), pods past the end are deleted from the highest
// ordinal down, failed or finished pods are replaced, and a RollingUpdate replaces the pods of an
// older revision from the highest ordinal down to the partition, one at a time.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { LabelSelector } from '../../k8s/selectors.js';
import { CONTROLLER_REVISION_HASH_LABEL } from './controller-history.js';
import { readLabelSelector } from './label-selector.js';
import { podAvailability, podPhase } from './pods.js';
import type { JsonObject } from './read.js';
import { optInt, optRecord, optString, record } from './read.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export interface StatefulSetSpecView {
  replicas: number;
  /** spec.ordinals.start: the first ordinal. */
  start: number;
  selector: LabelSelector;
  template: JsonObject;
  serviceName: string | undefined;
  /** OrderedReady: one pod at a time, in order; Parallel: all at once. */
  monotonic: boolean;
  updateStrategy: 'RollingUpdate' | 'OnDelete';
  partition: number;
  minReadySeconds: number;
  revisionHistoryLimit: number;
}

export function readStatefulSetSpec(set: KubeObject): StatefulSetSpecView {
  const spec = record(set.spec, 'spec');
  const replicas = optInt(spec.replicas, 'spec.replicas') ?? 1;
  if (replicas < 0) throw new Error(`spec.replicas: must be >= 0, got ${replicas}`);
  const policy = optString(spec.podManagementPolicy, 'spec.podManagementPolicy') ?? 'OrderedReady';
  if (policy !== 'OrderedReady' && policy !== 'Parallel') throw new Error(`spec.podManagementPolicy: unsupported value "${policy}"`);
  const strategy = optRecord(spec.updateStrategy, 'spec.updateStrategy') ?? {};
  const type = optString(strategy.type, 'spec.updateStrategy.type') ?? 'RollingUpdate';
  if (type !== 'RollingUpdate' && type !== 'OnDelete') throw new Error(`spec.updateStrategy.type: unsupported value "${type}"`);
  const rolling = optRecord(strategy.rollingUpdate, 'spec.updateStrategy.rollingUpdate');
  return {
    replicas,
    start: optInt(optRecord(spec.ordinals, 'spec.ordinals')?.start, 'spec.ordinals.start') ?? 0,
    selector: readLabelSelector(spec.selector, 'spec.selector'),
    template: record(spec.template, 'spec.template'),
    serviceName: optString(spec.serviceName, 'spec.serviceName') || undefined,
    monotonic: policy === 'OrderedReady',
    updateStrategy: type,
    partition: optInt(rolling?.partition, 'spec.updateStrategy.rollingUpdate.partition') ?? 0,
    minReadySeconds: optInt(spec.minReadySeconds, 'spec.minReadySeconds') ?? 0,
    revisionHistoryLimit: optInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit') ?? 10,
  };
}

export function statefulPodName(setName: string, ordinal: number): string {
  return `${setName}-${ordinal}`;
}

/** The ordinal of a pod named `<set>-<n>`; undefined for any other name. */
export function ordinalOf(setName: string, podName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

/** The labels and spec fields that give a pod its identity in the set (newStatefulSetPod). */
export function statefulPodIdentity(setName: string, ordinal: number, serviceName: string | undefined, revisionName: string): { name: string; labels: Record<string, string>; spec: JsonObject } {
  const name = statefulPodName(setName, ordinal);
  return {
    name,
    labels: { [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(ordinal), [CONTROLLER_REVISION_HASH_LABEL]: revisionName },
    spec: { hostname: name, ...(serviceName ? { subdomain: serviceName } : {}) },
  };
}

/** A pod of the set as the planner reads it. */
export interface MemberPod {
  pod: StoredObject;
  ordinal: number;
  revision: string | undefined;
  terminating: boolean;
  /** Running with the Ready condition. */
  runningAndReady: boolean;
  /** Running and Ready for minReadySeconds; when not yet, `availableInMs` says when. */
  available: boolean;
  availableInMs?: number;
  /** Failed or Succeeded: replaced. */
  finished: boolean;
}

export function memberPod(pod: StoredObject, ordinal: number, minReadySeconds: number, now: number): MemberPod {
  const phase = podPhase(pod);
  const running = phase === 'Running';
  const availability = podAvailability(pod, minReadySeconds, now);
  return {
    pod,
    ordinal,
    revision: pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL],
    terminating: pod.metadata.deletionTimestamp !== undefined,
    runningAndReady: running && podAvailability(pod, 0, now).available,
    available: running && availability.available,
    ...(running && availability.inMs !== undefined ? { availableInMs: availability.inMs } : {}),
    finished: phase === 'Failed' || phase === 'Succeeded',
  };
}

export type StatefulSetAction =
  | { create: number; revision: 'current' | 'update' }
  | { delete: MemberPod; reason: 'failed' | 'scale-down' | 'update' };

export interface StatefulSetPlan {
  actions: StatefulSetAction[];
  /** What the set waits for, when it stopped early (for logs and tests). */
  waitingFor?: string;
  /** A pod becomes available (minReadySeconds) this much later: look again then. */
  recheckMs?: number;
}

/**
 * The next steps for the set, given its pods (those in flight to creation count as present, named in
 * `creating`). One pass of updateStatefulSet: OrderedReady stops at the first thing to wait for.
 */
export function planStatefulSet(spec: StatefulSetSpecView, pods: readonly MemberPod[], revisions: { current: string; update: string }, creating: ReadonlySet<number> = new Set()): StatefulSetPlan {
  const plan: StatefulSetPlan = { actions: [] };
  const end = spec.start + spec.replicas;
  const replicas = new Map<number, MemberPod>();
  const condemned: MemberPod[] = [];
  for (const p of pods) {
    if (p.ordinal >= spec.start && p.ordinal < end) replicas.set(p.ordinal, p);
    else condemned.push(p);
  }
  condemned.sort((a, b) => a.ordinal - b.ordinal);
  const healthy = (p: MemberPod): boolean => p.available && !p.terminating;
  const firstUnhealthy = [...replicas.values(), ...condemned].filter((p) => !healthy(p)).sort((a, b) => a.ordinal - b.ordinal)[0];
  const noteRecheck = (p: MemberPod): void => {
    if (p.availableInMs !== undefined) plan.recheckMs = Math.min(plan.recheckMs ?? Infinity, p.availableInMs);
  };
  const stop = (what: string): StatefulSetPlan => ({ ...plan, waitingFor: what });
  const revisionFor = (ordinal: number): 'current' | 'update' => (spec.updateStrategy === 'RollingUpdate' && ordinal - spec.start < spec.partition ? 'current' : 'update');

  for (let ordinal = spec.start; ordinal < end; ordinal++) {
    let p = replicas.get(ordinal);
    if (p?.finished) {
      plan.actions.push({ delete: p, reason: 'failed' });
      p = undefined;
    }
    if (!p) {
      if (!creating.has(ordinal)) plan.actions.push({ create: ordinal, revision: revisionFor(ordinal) });
      if (spec.monotonic) return stop(`pod ordinal ${ordinal} to be created`);
      continue;
    }
    if (p.terminating && spec.monotonic) return stop(`pod ${p.pod.metadata.name} to terminate`);
    if (!p.available && spec.monotonic) {
      noteRecheck(p);
      return stop(`pod ${p.pod.metadata.name} to be Running and Ready`);
    }
  }
  if (creating.size > 0 && spec.monotonic) return stop('pods being created');

  for (let i = condemned.length - 1; i >= 0; i--) {
    const p = condemned[i]!;
    if (p.terminating) {
      if (spec.monotonic) return stop(`pod ${p.pod.metadata.name} to terminate before scaling down`);
      continue;
    }
    if (!p.runningAndReady && spec.monotonic && p !== firstUnhealthy) return stop(`pod ${firstUnhealthy?.pod.metadata.name ?? ''} to be Running and Ready before scaling down`);
    plan.actions.push({ delete: p, reason: 'scale-down' });
    if (spec.monotonic) return plan;
  }

  if (spec.updateStrategy === 'OnDelete') return plan;
  for (let ordinal = end - 1; ordinal >= spec.start + spec.partition; ordinal--) {
    const p = replicas.get(ordinal);
    // Being created (at the update revision): not healthy yet, so nothing lower is replaced now.
    if (!p || p.finished) return stop(`pod ordinal ${ordinal} to be created and Running and Ready`);
    if (p.revision !== revisions.update && !p.terminating) {
      plan.actions.push({ delete: p, reason: 'update' });
      return plan;
    }
    if (!healthy(p)) {
      noteRecheck(p);
      return stop(`pod ${p.pod.metadata.name} to be updated and Running and Ready`);
    }
  }
  return plan;
}
