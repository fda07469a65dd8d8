// The StatefulSet controller: ordered pods with stable names, a ControllerRevision per pod template
// (status.currentRevision / updateRevision, the pods' controller-revision-hash label), and the status
// `kubectl rollout status sts/NAME` reads. The decisions are statefulset-spec.ts's planStatefulSet;
// this module reads the pods and revisions, carries the steps out and writes status.
import type { StoredObject } from '../../k8s/object.js';
import type { ControllerContext } from './context.js';
import type { Reconciler, ReconcileResult } from './controller.js';
import type { Revision } from './controller-history.js';
import { ensureRevision, listRevisions, truncateHistory } from './controller-history.js';
import { deleteObject } from './deletion.js';
import { recordEvent } from './events.js';
import { isEmptySelector } from './label-selector.js';
import { claimObjects, selectingOwners } from './owners.js';
import { CREATE_RECHECK_MS, createPods, nameInFlight } from './pod-creation.js';
import { podFromTemplate } from './pod-template.js';
import { controllerRef } from './pods.js';
import type { JsonObject } from './read.js';
import { canonicalJson, optInt, optRecord, optString } from './read.js';
import { PODS, STATEFULSETS, namespacedKey, splitNamespacedKey } from './resources.js';
import type { MemberPod, StatefulSetSpecView } from './statefulset-spec.js';
import { memberPod, ordinalOf, planStatefulSet, readStatefulSetSpec, statefulPodIdentity, statefulPodName } from './statefulset-spec.js';

export function statefulSetController(ctx: ControllerContext): Reconciler {
  return {
    name: 'statefulset-controller',
    watches: [
      { type: STATEFULSETS, keysFor: (e) => [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] },
      {
        type: PODS,
        keysFor: (e) => {
          const ref = controllerRef(e.object);
          if (ref) return ref.kind === 'StatefulSet' ? [namespacedKey(e.object.metadata.namespace, ref.name)] : [];
          return selectingOwners(ctx.informers.for(STATEFULSETS).list(e.object.metadata.namespace), e.object).map((s) => namespacedKey(s.metadata.namespace, s.metadata.name));
        },
      },
    ],
    reconcile: (key) => syncStatefulSet(ctx, key),
  };
}

function members(ctx: ControllerContext, set: StoredObject, spec: StatefulSetSpecView): MemberPod[] {
  const now = ctx.clock.now();
  const out: MemberPod[] = [];
  for (const pod of claimObjects(ctx, PODS, set, spec.selector, 'statefulset-controller')) {
    const ordinal = ordinalOf(set.metadata.name, pod.metadata.name);
    // A pod that matches but is not named as a member is not the set's to manage (as isMemberOf).
    if (ordinal !== undefined) out.push(memberPod(pod, ordinal, spec.minReadySeconds, now));
  }
  return out;
}

function statusOf(set: StoredObject, spec: StatefulSetSpecView, pods: MemberPod[], current: Revision, update: Revision, collisionCount: number): JsonObject {
  const live = pods.filter((p) => !p.terminating);
  let currentRevision = current.name;
  let currentReplicas = live.filter((p) => p.revision === current.name).length;
  const updatedReplicas = live.filter((p) => p.revision === update.name).length;
  const readyReplicas = pods.filter((p) => p.runningAndReady).length;
  // completeRollingUpdate: every pod is at the update revision and ready, which becomes the current one.
  if (spec.updateStrategy === 'RollingUpdate' && updatedReplicas === spec.replicas && readyReplicas === spec.replicas && pods.length === spec.replicas) {
    currentRevision = update.name;
    currentReplicas = updatedReplicas;
  }
  return {
    observedGeneration: set.metadata.generation ?? 1,
    replicas: pods.length,
    ...(readyReplicas > 0 ? { readyReplicas } : {}),
    ...(currentReplicas > 0 ? { currentReplicas } : {}),
    ...(updatedReplicas > 0 ? { updatedReplicas } : {}),
    currentRevision,
    updateRevision: update.name,
    collisionCount,
    availableReplicas: pods.filter((p) => p.available).length,
  };
}

function syncStatefulSet(ctx: ControllerContext, key: string): ReconcileResult | void {
  const { namespace, name } = splitNamespacedKey(key);
  const set = ctx.informers.for(STATEFULSETS).get(namespace, name);
  if (!set) return;
  const spec = readStatefulSetSpec(set);
  // An empty selector would adopt every pod of the namespace: kube-controller-manager refuses too.
  if (isEmptySelector(spec.selector)) throw new Error('spec.selector: an empty selector selects every pod: refusing to sync');
  const oldStatus = optRecord(set.status, 'status') ?? {};
  const history = listRevisions(ctx, set, spec.selector, 'statefulset-controller');
  const { update, revisions, collisionCount } = ensureRevision(ctx, set, history, {
    kind: 'statefulset',
    template: spec.template,
    collisionCount: optInt(oldStatus.collisionCount, 'status.collisionCount') ?? 0,
  });
  const current = revisions.find((r) => r.name === optString(oldStatus.currentRevision, 'status.currentRevision')) ?? update;

  const ownerKey = `statefulset:${key}`;
  const inFlight = (ordinal: number): boolean => nameInFlight(ctx, ownerKey, statefulPodName(name, ordinal));
  const creating = new Set<number>();
  for (let ordinal = spec.start; ordinal < spec.start + spec.replicas; ordinal++) if (inFlight(ordinal)) creating.add(ordinal);
  let recheckMs: number | undefined;
  if (!set.metadata.deletionTimestamp) {
    const plan = planStatefulSet(spec, members(ctx, set, spec), { current: current.name, update: update.name }, creating);
    recheckMs = plan.recheckMs;
    const event = (type: 'Normal' | 'Warning', reason: string, message: string): void => recordEvent(ctx, set, 'statefulset-controller', type, reason, message);
    for (const action of plan.actions) {
      if ('delete' in action) {
        const pod = action.delete.pod.metadata.name;
        if (action.reason === 'failed') event('Warning', 'RecreatingFailedPod', `StatefulSet ${namespace}/${name} is recreating failed Pod ${pod}`);
        deleteObject(ctx, PODS, action.delete.pod);
        event('Normal', 'SuccessfulDelete', `delete Pod ${pod} in StatefulSet ${name} successful`);
        continue;
      }
      const revision = action.revision === 'current' ? current : update;
      const identity = statefulPodIdentity(name, action.create, spec.serviceName, revision.name);
      const created = (pod: StoredObject): void => event('Normal', 'SuccessfulCreate', `create Pod ${pod.metadata.name} in StatefulSet ${name} successful`);
      const outcome = createPods(ctx, ownerKey, [podFromTemplate(revision.template, set, identity)], created);
      if (outcome.failure) throw outcome.failure;
      if (outcome.pending > 0) recheckMs = Math.min(recheckMs ?? Infinity, CREATE_RECHECK_MS);
    }
  }

  const pods = members(ctx, set, spec);
  const live = new Set([current.name, update.name, ...pods.map((p) => p.revision).filter((r): r is string => r !== undefined)]);
  truncateHistory(ctx, revisions, live, spec.revisionHistoryLimit);
  const status = statusOf(set, spec, pods, current, update, collisionCount);
  if (canonicalJson(status) !== canonicalJson(oldStatus)) ctx.store.update(STATEFULSETS, { ...set, status });
  return recheckMs === undefined ? undefined : { requeueAfterMs: recheckMs };
}
