// The DaemonSet controller: one pod per Node that the template's nodeSelector, node affinity and
// tolerations admit (a local cluster has one Node, `<cluster>-node`), pinned to it by node affinity;
// a ControllerRevision per template (pods carry its hash as controller-revision-hash), rolling updates
// within maxUnavailable/maxSurge, and the status `kubectl rollout status ds/NAME` reads. Decisions are
// daemonset-plan.ts's; this module reads nodes, pods and revisions, acts and writes status.
import type { StoredObject } from '../../k8s/object.js';
import type { ControllerContext } from './context.js';
import type { Reconciler, ReconcileResult } from './controller.js';
import { CONTROLLER_REVISION_HASH_LABEL, ensureRevision, listRevisions, truncateHistory } from './controller-history.js';
import type { DaemonSetSpecView, NodeActions, NodeState } from './daemonset-plan.js';
import { daemonPod, daemonSetCounts, planManage, planRollingUpdate, readDaemonSetSpec, rollingLimits } from './daemonset-plan.js';
import { deleteObject } from './deletion.js';
import { recordEvent } from './events.js';
import { isEmptySelector } from './label-selector.js';
import { affinityForNode, nodeShouldRunDaemonPod, targetNodeOf, withDaemonTolerations } from './node-placement.js';
import { claimObjects, selectingOwners } from './owners.js';
import { CREATE_RECHECK_MS, createPods, createsInFlight } from './pod-creation.js';
import { podFromTemplate } from './pod-template.js';
import { controllerRef, podAvailability } from './pods.js';
import type { JsonObject } from './read.js';
import { canonicalJson, optInt, optRecord } from './read.js';
import { DAEMONSETS, NODES, PODS, namespacedKey, splitNamespacedKey } from './resources.js';

/** Set on daemon pods with the DaemonSet's generation, as the controller labels them. */
const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

export function daemonSetController(ctx: ControllerContext): Reconciler {
  const daemonSets = ctx.informers.for(DAEMONSETS);
  return {
    name: 'daemonset-controller',
    watches: [
      { type: DAEMONSETS, keysFor: (e) => [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] },
      {
        type: PODS,
        keysFor: (e) => {
          const ref = controllerRef(e.object);
          if (ref) return ref.kind === 'DaemonSet' ? [namespacedKey(e.object.metadata.namespace, ref.name)] : [];
          return selectingOwners(daemonSets.list(e.object.metadata.namespace), e.object).map((d) => namespacedKey(d.metadata.namespace, d.metadata.name));
        },
      },
      // A node added, removed or relabelled may gain or lose every DaemonSet's pod.
      { type: NODES, keysFor: () => daemonSets.list().map((d) => namespacedKey(d.metadata.namespace, d.metadata.name)) },
    ],
    reconcile: (key) => syncDaemonSet(ctx, key),
  };
}

class DaemonSetSync {
  private readonly podSpec: JsonObject;
  private readonly ownerKey: string;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly ds: StoredObject,
    private readonly spec: DaemonSetSpecView,
    private readonly hash: string,
    key: string,
  ) {
    this.podSpec = optRecord(spec.template.spec, 'spec.template.spec') ?? {};
    this.ownerKey = `daemonset:${key}`;
  }

  get creating(): number {
    return createsInFlight(this.ctx, this.ownerKey);
  }

  /** Every node with whether the pod belongs there and the daemon pods on it. */
  nodes(): NodeState[] {
    const now = this.ctx.clock.now();
    const byNode = new Map<string, StoredObject[]>();
    for (const pod of claimObjects(this.ctx, PODS, this.ds, this.spec.selector, 'daemonset-controller')) {
      const node = targetNodeOf(pod);
      if (node === undefined) continue;
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }
    return this.ctx.informers.for(NODES).list().map((node) => ({
      name: node.metadata.name,
      shouldRun: nodeShouldRunDaemonPod(node, this.podSpec).run,
      pods: (byNode.get(node.metadata.name) ?? []).map((p) => daemonPod(p, this.spec.minReadySeconds, now)),
    }));
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    recordEvent(this.ctx, this.ds, 'daemonset-controller', type, reason, message);
  }

  apply(actions: NodeActions): void {
    for (const p of actions.delete) {
      if (p.failed) this.event('Warning', 'FailedDaemonPod', `Found failed daemon pod ${p.pod.metadata.namespace}/${p.pod.metadata.name} on node ${targetNodeOf(p.pod) ?? ''}, will try to kill it`);
      deleteObject(this.ctx, PODS, p.pod);
      this.event('Normal', 'SuccessfulDelete', `Deleted pod: ${p.pod.metadata.name}`);
    }
    const pods = actions.create.map((node) =>
      podFromTemplate(this.spec.template, this.ds, {
        labels: { [CONTROLLER_REVISION_HASH_LABEL]: this.hash, [TEMPLATE_GENERATION_LABEL]: String(this.ds.metadata.generation ?? 1) },
        spec: { affinity: affinityForNode(this.podSpec, node), tolerations: withDaemonTolerations(this.podSpec) },
      }),
    );
    const outcome = createPods(this.ctx, this.ownerKey, pods, (pod) => this.event('Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`));
    if (outcome.failure) throw outcome.failure;
  }

  /** manage, then (when no creation is in flight) the rolling update. */
  run(): void {
    // Pods still going through admission are not in the cache yet: deciding now would ask for them twice.
    if (this.creating > 0) return;
    const surge = this.spec.strategy.type === 'RollingUpdate' && rollingLimits(this.spec.strategy, 1).maxSurge > 0;
    this.apply(planManage(this.nodes(), this.hash, surge));
    if (this.spec.strategy.type !== 'RollingUpdate' || this.creating > 0) return;
    const nodes = this.nodes();
    const { maxSurge, maxUnavailable } = rollingLimits(this.spec.strategy, nodes.filter((n) => n.shouldRun).length);
    this.apply(planRollingUpdate(nodes, this.hash, maxSurge, maxUnavailable));
  }

  /** When a ready pod will have been ready for minReadySeconds. */
  nextAvailableInMs(nodes: NodeState[]): number | undefined {
    let next: number | undefined;
    const now = this.ctx.clock.now();
    for (const n of nodes) {
      for (const p of n.pods) {
        const inMs = podAvailability(p.pod, this.spec.minReadySeconds, now).inMs;
        if (inMs !== undefined) next = Math.min(next ?? Infinity, inMs);
      }
    }
    return next;
  }
}

function syncDaemonSet(ctx: ControllerContext, key: string): ReconcileResult | void {
  const { namespace, name } = splitNamespacedKey(key);
  const ds = ctx.informers.for(DAEMONSETS).get(namespace, name);
  if (!ds) return;
  const spec = readDaemonSetSpec(ds);
  // An empty selector would adopt every pod of the namespace: kube-controller-manager refuses too.
  if (isEmptySelector(spec.selector)) throw new Error('spec.selector: an empty selector selects every pod: refusing to sync');
  const oldStatus = optRecord(ds.status, 'status') ?? {};
  const history = listRevisions(ctx, ds, spec.selector, 'daemonset-controller');
  const { update, revisions, collisionCount } = ensureRevision(ctx, ds, history, {
    kind: 'daemonset',
    template: spec.template,
    collisionCount: optInt(oldStatus.collisionCount, 'status.collisionCount') ?? 0,
  });
  const sync = new DaemonSetSync(ctx, ds, spec, update.hash, key);
  if (!ds.metadata.deletionTimestamp) sync.run();

  const nodes = sync.nodes();
  const liveHashes = new Set(nodes.flatMap((n) => n.pods.map((p) => p.hash)));
  truncateHistory(ctx, revisions, new Set(revisions.filter((r) => r === update || liveHashes.has(r.hash)).map((r) => r.name)), spec.revisionHistoryLimit);
  const counts = daemonSetCounts(nodes, update.hash);
  const status = {
    currentNumberScheduled: counts.currentNumberScheduled,
    numberMisscheduled: counts.numberMisscheduled,
    desiredNumberScheduled: counts.desiredNumberScheduled,
    numberReady: counts.numberReady,
    observedGeneration: ds.metadata.generation ?? 1,
    updatedNumberScheduled: counts.updatedNumberScheduled,
    numberAvailable: counts.numberAvailable,
    ...(counts.numberUnavailable > 0 ? { numberUnavailable: counts.numberUnavailable } : {}),
    ...(collisionCount > 0 ? { collisionCount } : {}),
  };
  if (canonicalJson(status) !== canonicalJson(oldStatus)) ctx.store.update(DAEMONSETS, { ...ds, status });
  const recheck = [sync.creating > 0 ? CREATE_RECHECK_MS : undefined, sync.nextAvailableInMs(nodes)].filter((n): n is number => n !== undefined);
  return recheck.length > 0 ? { requeueAfterMs: Math.min(...recheck) } : undefined;
}
