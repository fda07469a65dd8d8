// The ReplicaSet controller: keeps `spec.replicas` active pods made from `spec.template`, owned by the
// ReplicaSet, and reports how many are ready and available. The store is read directly (it is in this
// process and always current), so kube-controller-manager's "expectations" are not needed.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { LabelSelector } from '../../k8s/selectors.js';
import { rfc3339 } from '../../k8s/time-format.js';
import type { Condition } from './conditions.js';
import { readConditions, removeCondition, setCondition } from './conditions.js';
import type { ControllerContext } from './context.js';
import type { Reconciler } from './controller.js';
import { readLabelSelector } from './label-selector.js';
import { claimObjects, selectingOwners } from './owners.js';
import { CREATE_RECHECK_MS, createPods, createsInFlight } from './pod-creation.js';
import { podFromTemplate } from './pod-template.js';
import { compareForDeletion, controllerRef, isPodActive, isPodReady, podAvailability } from './pods.js';
import type { JsonObject } from './read.js';
import { canonicalJson, optInt, optRecord, optStringMap, record } from './read.js';
import { deleteObject } from './deletion.js';
import { PODS, REPLICASETS, namespacedKey, splitNamespacedKey } from './resources.js';


export interface ReplicaSetSpecView {
  replicas: number;
  selector: LabelSelector;
  template: JsonObject;
  minReadySeconds: number;
}

export function readReplicaSetSpec(rs: KubeObject): ReplicaSetSpecView {
  const spec = record(rs.spec, 'spec');
  const replicas = optInt(spec.replicas, 'spec.replicas') ?? 1;
  if (replicas < 0) throw new Error(`spec.replicas: must be >= 0, got ${replicas}`);
  return {
    replicas,
    selector: readLabelSelector(spec.selector, 'spec.selector'),
    template: record(spec.template, 'spec.template'),
    minReadySeconds: optInt(spec.minReadySeconds, 'spec.minReadySeconds') ?? 0,
  };
}

/** Pods the ReplicaSet controls (all phases), after releasing and adopting by its selector. */
export function ownedPods(ctx: ControllerContext, rs: StoredObject, selector: LabelSelector): StoredObject[] {
  return claimObjects(ctx, PODS, rs, selector, 'replicaset-controller');
}

export function replicaSetController(ctx: ControllerContext): Reconciler {
  return {
    name: 'replicaset-controller',
    watches: [
      { type: REPLICASETS, keysFor: (e) => [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] },
      {
        type: PODS,
        keysFor: (e) => {
          const ref = controllerRef(e.object);
          if (ref) return ref.kind === 'ReplicaSet' ? [namespacedKey(e.object.metadata.namespace, ref.name)] : [];
          // An orphan: every ReplicaSet that could adopt it.
          return selectingOwners(ctx.informers.for(REPLICASETS).list(e.object.metadata.namespace), e.object).map((rs) => namespacedKey(rs.metadata.namespace, rs.metadata.name));
        },
      },
    ],
    reconcile: (key) => syncReplicaSet(ctx, key),
  };
}

function syncReplicaSet(ctx: ControllerContext, key: string): { requeueAfterMs?: number } | void {
  const { namespace, name } = splitNamespacedKey(key);
  const rs = ctx.informers.for(REPLICASETS).get(namespace, name);
  if (!rs || rs.metadata.deletionTimestamp) return;
  const spec = readReplicaSetSpec(rs);
  const pods = ownedPods(ctx, rs, spec.selector);
  const active = pods.filter(isPodActive);

  let failure: Error | undefined;
  const diff = active.length - spec.replicas;
  let recheckMs: number | undefined;
  const ownerKey = `replicaset:${key}`;
  if (diff < 0) {
    const missing = -diff - createsInFlight(ctx, ownerKey);
    const outcome = createPods(ctx, ownerKey, Array.from({ length: Math.max(0, missing) }, () => podFromTemplate(spec.template, rs)));
    active.push(...outcome.created);
    failure = outcome.failure;
    // A created pod wakes this key through the pod watch; a failed one is retried at this re-check.
    if (outcome.pending > 0 || createsInFlight(ctx, ownerKey) > 0) recheckMs = CREATE_RECHECK_MS;
  } else if (diff > 0) {
    const doomed = [...active].sort(compareForDeletion).slice(0, diff);
    for (const pod of doomed) {
      try {
        deleteObject(ctx, PODS, pod);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        break;
      }
      active.splice(active.indexOf(pod), 1);
    }
  }

  const statusRecheckMs = writeStatus(ctx, rs, spec, active, failure);
  if (failure) throw failure;
  const requeueAfterMs = statusRecheckMs === undefined ? recheckMs : recheckMs === undefined ? statusRecheckMs : Math.min(statusRecheckMs, recheckMs);
  return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
}

/** Writes status from the active pods; returns when to look again for a pod to become available. */
function writeStatus(ctx: ControllerContext, rs: StoredObject, spec: ReplicaSetSpecView, active: StoredObject[], failure: Error | undefined): number | undefined {
  const now = ctx.clock.now();
  const templateLabels = optStringMap(optRecord(spec.template.metadata, 'spec.template.metadata')?.labels, 'spec.template.metadata.labels') ?? {};
  let ready = 0;
  let available = 0;
  let fullyLabeled = 0;
  let nextAvailableIn: number | undefined;
  for (const pod of active) {
    if (Object.entries(templateLabels).every(([k, v]) => pod.metadata.labels?.[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) ready++;
    const a = podAvailability(pod, spec.minReadySeconds, now);
    if (a.available) available++;
    else if (a.inMs !== undefined) nextAvailableIn = Math.min(nextAvailableIn ?? Infinity, a.inMs);
  }
  const oldStatus = optRecord(rs.status, 'status') ?? {};
  const conditions: Condition[] = readConditions(oldStatus.conditions, 'status.conditions');
  if (failure) {
    setCondition(conditions, {
      type: 'ReplicaFailure',
      status: 'True',
      lastTransitionTime: rfc3339(now),
      reason: active.length < spec.replicas ? 'FailedCreate' : 'FailedDelete',
      message: failure.message,
    });
  } else {
    removeCondition(conditions, 'ReplicaFailure');
  }
  const status: JsonObject = {
    replicas: active.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation ?? 1,
    ...(conditions.length ? { conditions } : {}),
  };
  if (canonicalJson(status) !== canonicalJson(oldStatus)) {
    ctx.store.update(REPLICASETS, { ...rs, status });
  }
  return nextAvailableIn;
}
