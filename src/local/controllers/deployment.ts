// The Deployment controller: one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`,
// rolled by the RollingUpdate (maxSurge/maxUnavailable against pod availability) or Recreate strategy,
// with the status and conditions `kubectl rollout status` waits on. Follows the structure of
// kube-controller-manager's pkg/controller/deployment (sync.go, rolling.go, recreate.go, progress.go).
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { rfc3339 } from '../../k8s/time-format.js';
import type { Condition } from './conditions.js';
import { findCondition, readConditions, removeCondition, setCondition } from './conditions.js';
import type { ControllerContext } from './context.js';
import type { Reconciler, ReconcileResult } from './controller.js';
import type { DeploymentSpecView } from './deployment-spec.js';
import {
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  maxUnavailableFor,
  readDeploymentSpec,
  resolveFenceposts,
  revisionOf,
  templateIgnoringHash,
  templateWithHash,
} from './deployment-spec.js';
import { isEmptySelector } from './label-selector.js';
import { computePodTemplateHash } from './pod-template-hash.js';
import { claimObjects, controllerReferenceTo, isControlledBy, selectingOwners } from './owners.js';
import { controllerRef, isPodTerminal } from './pods.js';
import type { JsonObject } from './read.js';
import { canonicalJson, optInt, optRecord, optStringMap, record } from './read.js';
import { deleteObject } from './deletion.js';
import { DEPLOYMENTS, PODS, REPLICASETS, isAlreadyExists, namespacedKey, splitNamespacedKey } from './resources.js';

export function deploymentController(ctx: ControllerContext): Reconciler {
  return {
    name: 'deployment-controller',
    watches: [
      { type: DEPLOYMENTS, keysFor: (e) => [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] },
      {
        type: REPLICASETS,
        keysFor: (e) => {
          const ref = controllerRef(e.object);
          if (ref) return ref.kind === 'Deployment' ? [namespacedKey(e.object.metadata.namespace, ref.name)] : [];
          // An orphan: every Deployment that could adopt it.
          return selectingOwners(ctx.informers.for(DEPLOYMENTS).list(e.object.metadata.namespace), e.object).map((d) => namespacedKey(d.metadata.namespace, d.metadata.name));
        },
      },
      {
        // Recreate waits for the old pods to be gone, which only pod deletions tell.
        type: PODS,
        keysFor: (e) => {
          if (e.type !== 'DELETED') return [];
          const rsRef = controllerRef(e.object);
          if (!rsRef || rsRef.kind !== 'ReplicaSet') return [];
          const rs = ctx.informers.for(REPLICASETS).get(e.object.metadata.namespace, rsRef.name);
          const dRef = rs && controllerRef(rs);
          return dRef && dRef.kind === 'Deployment' ? [namespacedKey(e.object.metadata.namespace, dRef.name)] : [];
        },
      },
    ],
    reconcile: (key) => syncDeployment(ctx, key),
  };
}

/** A ReplicaSet with the numbers the rollout reads. */
interface RsState {
  obj: StoredObject;
  replicas: number;
  statusReplicas: number;
  ready: number;
  available: number;
  /** Its status has not yet seen its latest spec (the replicaset controller has not caught up). */
  stale: boolean;
}

function rsState(obj: StoredObject): RsState {
  const spec = record(obj.spec, 'spec');
  const status = optRecord(obj.status, 'status') ?? {};
  const observed = optInt(status.observedGeneration, 'status.observedGeneration') ?? 0;
  return {
    obj,
    replicas: optInt(spec.replicas, 'spec.replicas') ?? 1,
    statusReplicas: optInt(status.replicas, 'status.replicas') ?? 0,
    ready: optInt(status.readyReplicas, 'status.readyReplicas') ?? 0,
    available: optInt(status.availableReplicas, 'status.availableReplicas') ?? 0,
    stale: observed < (obj.metadata.generation ?? 1),
  };
}

function byCreation(a: RsState, b: RsState): number {
  const ta = Date.parse(a.obj.metadata.creationTimestamp);
  const tb = Date.parse(b.obj.metadata.creationTimestamp);
  if (ta !== tb) return ta - tb;
  return a.obj.metadata.name < b.obj.metadata.name ? -1 : a.obj.metadata.name > b.obj.metadata.name ? 1 : 0;
}

const sum = (xs: RsState[], f: (r: RsState) => number): number => xs.reduce((n, r) => n + f(r), 0);

class DeploymentSync {
  newRS: RsState | undefined;
  old: RsState[];
  readonly conditions: Condition[];
  private readonly templateKey: string;
  private readonly namespace: string;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly d: StoredObject,
    private readonly spec: DeploymentSpecView,
    owned: RsState[],
  ) {
    this.namespace = d.metadata.namespace ?? '';
    this.templateKey = templateIgnoringHash(spec.template);
    // Several RSes with the deployment's template: the oldest is the new one, as FindNewReplicaSet.
    this.newRS = owned.find((rs) => templateIgnoringHash(record(record(rs.obj.spec, 'spec').template, 'spec.template')) === this.templateKey);
    this.old = owned.filter((rs) => rs !== this.newRS);
    this.conditions = readConditions(optRecord(d.status, 'status')?.conditions, 'status.conditions');
  }

  get all(): RsState[] {
    return this.newRS ? [this.newRS, ...this.old] : [...this.old];
  }

  private now(): string {
    return rfc3339(this.ctx.clock.now());
  }

  private get hasProgressDeadline(): boolean {
    return this.spec.progressDeadlineSeconds !== undefined;
  }

  /** The new RS exists (created when `create` says so) and carries the newest revision. */
  ensureNewRS(create: boolean, initialReplicas: () => number): void {
    const newRevision = Math.max(0, ...this.old.map((r) => revisionOf(r.obj))) + 1;
    if (this.newRS) {
      if (revisionOf(this.newRS.obj) < newRevision) {
        const annotations = { ...this.newRS.obj.metadata.annotations, [REVISION_ANNOTATION]: String(newRevision) };
        this.newRS = rsState(this.ctx.store.update(REPLICASETS, { ...this.newRS.obj, metadata: { ...this.newRS.obj.metadata, annotations } }));
      }
      if (this.hasProgressDeadline && !findCondition(this.conditions, 'Progressing')) {
        setCondition(this.conditions, this.progressing('True', 'FoundNewReplicaSet', `Found new replica set "${this.newRS.obj.metadata.name}"`));
      }
      return;
    }
    if (!create) return;
    const status = optRecord(this.d.status, 'status') ?? {};
    const collisionCount = optInt(status.collisionCount, 'status.collisionCount');
    const hash = computePodTemplateHash(this.spec.template, collisionCount);
    const name = `${this.d.metadata.name}-${hash}`;
    const template = templateWithHash(this.spec.template, hash);
    const templateLabels = optStringMap(optRecord(template.metadata, 'spec.template.metadata')?.labels, 'spec.template.metadata.labels') ?? {};
    const replicas = initialReplicas();
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: this.namespace,
        labels: templateLabels,
        annotations: { ...this.copiedAnnotations(), ...this.replicasAnnotations(), [REVISION_ANNOTATION]: String(newRevision) },
        ownerReferences: [controllerReferenceTo(this.d)],
      },
      spec: {
        replicas,
        minReadySeconds: this.spec.minReadySeconds,
        selector: { ...this.spec.selector, matchLabels: { ...this.spec.selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash } },
        template,
      },
      status: { replicas: 0 },
    };
    try {
      this.newRS = rsState(this.ctx.store.create(REPLICASETS, rs));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Another RS holds the name: a hash collision. Count it so the next hash differs (ComputeHash).
      const next = (collisionCount ?? 0) + 1;
      this.ctx.store.update(DEPLOYMENTS, { ...this.d, status: { ...status, collisionCount: next } });
      throw new Error(`replicaset "${name}" already exists with another template: hash collision, retrying with collisionCount ${next}`);
    }
    if (this.hasProgressDeadline) setCondition(this.conditions, this.progressing('True', 'NewReplicaSetCreated', `Created new replica set "${name}"`));
  }

  private copiedAnnotations(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.d.metadata.annotations ?? {})) {
      if (k === 'kubectl.kubernetes.io/last-applied-configuration' || k.startsWith('deployment.kubernetes.io/')) continue;
      out[k] = v;
    }
    return out;
  }

  private replicasAnnotations(): Record<string, string> {
    const { maxSurge } = resolveFenceposts(this.spec.strategy, this.spec.replicas);
    return { [DESIRED_REPLICAS_ANNOTATION]: String(this.spec.replicas), [MAX_REPLICAS_ANNOTATION]: String(this.spec.replicas + maxSurge) };
  }

  scale(rs: RsState, replicas: number): RsState {
    const annotations = { ...rs.obj.metadata.annotations, ...this.replicasAnnotations() };
    const updated = rsState(
      this.ctx.store.update(REPLICASETS, {
        ...rs.obj,
        metadata: { ...rs.obj.metadata, annotations },
        spec: { ...record(rs.obj.spec, 'spec'), replicas },
      }),
    );
    if (this.newRS === rs) this.newRS = updated;
    else this.old = this.old.map((r) => (r === rs ? updated : r));
    return updated;
  }

  rolloutRolling(): void {
    this.ensureNewRS(true, () => this.newReplicasRolling(0));
    const newRS = this.newRS!;
    const target = this.newReplicasRolling(newRS.replicas);
    if (target !== newRS.replicas) this.scale(newRS, target);
    this.scaleDownOld();
  }

  /** NewRSNewReplicas for RollingUpdate: grow the new RS as far as maxSurge allows. */
  private newReplicasRolling(current: number): number {
    if (current >= this.spec.replicas) return this.spec.replicas;
    const { maxSurge } = resolveFenceposts(this.spec.strategy, this.spec.replicas);
    const total = sum(this.all, (r) => r.replicas) - (this.newRS ? this.newRS.replicas : 0) + current;
    const maxTotal = this.spec.replicas + maxSurge;
    if (total >= maxTotal) return current;
    return current + Math.min(maxTotal - total, this.spec.replicas - current);
  }

  /** reconcileOldReplicaSets: first the unhealthy old pods, then as many as maxUnavailable allows. */
  private scaleDownOld(): void {
    if (sum(this.old, (r) => r.replicas) === 0) return;
    // Status that has not seen the latest scale would count pods already on their way out.
    if (this.all.some((r) => r.stale)) return;
    const newRS = this.newRS!;
    const { maxUnavailable } = resolveFenceposts(this.spec.strategy, this.spec.replicas);
    const minAvailable = this.spec.replicas - maxUnavailable;
    const newUnavailable = newRS.replicas - newRS.available;
    const maxScaledDown = sum(this.all, (r) => r.replicas) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;

    let cleaned = 0;
    for (const rs of [...this.old].sort(byCreation)) {
      if (cleaned >= maxScaledDown) break;
      const unhealthy = rs.replicas - rs.available;
      if (rs.replicas === 0 || unhealthy <= 0) continue;
      const count = Math.min(maxScaledDown - cleaned, unhealthy);
      this.scale(rs, rs.replicas - count);
      cleaned += count;
    }

    const availableNow = sum(this.all, (r) => r.available);
    if (availableNow <= minAvailable) return;
    const toScaleDown = availableNow - minAvailable;
    let scaled = 0;
    for (const rs of [...this.old].sort(byCreation)) {
      if (scaled >= toScaleDown) break;
      if (rs.replicas === 0) continue;
      const count = Math.min(rs.replicas, toScaleDown - scaled);
      this.scale(rs, rs.replicas - count);
      scaled += count;
    }
  }

  rolloutRecreate(): void {
    this.ensureNewRS(false, () => 0);
    const activeOld = this.old.filter((r) => r.replicas > 0);
    if (activeOld.length > 0) {
      for (const rs of activeOld) this.scale(rs, 0);
      return;
    }
    if (this.oldPodsRunning()) return;
    this.ensureNewRS(true, () => this.spec.replicas);
    if (this.newRS!.replicas !== this.spec.replicas) this.scale(this.newRS!, this.spec.replicas);
  }

  private oldPodsRunning(): boolean {
    if (this.old.some((r) => r.statusReplicas > 0)) return true;
    if (this.old.length === 0) return false;
    const pods = this.ctx.informers.for(PODS);
    return this.old.some((r) => pods.listByOwner(r.obj.metadata.uid).some((p) => !isPodTerminal(p) && isControlledBy(p, r.obj)));
  }

  /** While paused nothing rolls; only a scale of the single active RS is followed. */
  syncPaused(): void {
    this.ensureNewRS(false, () => 0);
    if (this.newRS && this.old.every((r) => r.replicas === 0) && this.newRS.replicas !== this.spec.replicas) {
      this.scale(this.newRS, this.spec.replicas);
    }
  }

  /** Deletes old, scaled-down RSes beyond revisionHistoryLimit, oldest revision first. */
  cleanupOld(): void {
    const cleanable = this.old
      .filter((r) => r.replicas === 0 && r.statusReplicas === 0 && !r.obj.metadata.deletionTimestamp)
      .sort((a, b) => revisionOf(a.obj) - revisionOf(b.obj) || byCreation(a, b));
    const excess = cleanable.length - Math.max(0, this.spec.revisionHistoryLimit);
    for (const rs of cleanable.slice(0, Math.max(0, excess))) {
      deleteObject(this.ctx, REPLICASETS, rs.obj);
      this.old = this.old.filter((r) => r !== rs);
    }
  }

  progressing(status: Condition['status'], reason: string, message: string): Condition {
    const now = this.now();
    return { type: 'Progressing', status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
  }

  /** calculateStatus + syncRolloutStatus: the new status and when to look again for a deadline. */
  computeStatus(): { status: JsonObject; complete: boolean; requeueAfterMs?: number } {
    const oldStatus = optRecord(this.d.status, 'status') ?? {};
    const all = this.all;
    const replicas = sum(all, (r) => r.statusReplicas);
    const updatedReplicas = this.newRS?.statusReplicas ?? 0;
    const readyReplicas = sum(all, (r) => r.ready);
    const availableReplicas = sum(all, (r) => r.available);
    const unavailableReplicas = Math.max(0, sum(all, (r) => r.replicas) - availableReplicas);
    const now = this.now();
    const conds = this.conditions;

    if (availableReplicas >= this.spec.replicas - maxUnavailableFor(this.spec)) {
      setCondition(conds, { type: 'Available', status: 'True', lastUpdateTime: now, lastTransitionTime: now, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    } else {
      setCondition(conds, { type: 'Available', status: 'False', lastUpdateTime: now, lastTransitionTime: now, reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
    }

    const complete = updatedReplicas === this.spec.replicas && replicas === this.spec.replicas && availableReplicas === this.spec.replicas;
    let requeueAfterMs: number | undefined;
    const current = findCondition(conds, 'Progressing');
    if (this.spec.paused) {
      setCondition(conds, this.progressing('Unknown', 'DeploymentPaused', 'Deployment is paused'));
    } else if (current?.reason === 'DeploymentPaused') {
      setCondition(conds, this.progressing('Unknown', 'DeploymentResumed', 'Deployment is resumed'));
    } else if (!this.hasProgressDeadline) {
      removeCondition(conds, 'Progressing');
    } else if (this.newRS && !(replicas === updatedReplicas && current?.reason === 'NewReplicaSetAvailable')) {
      const rsName = this.newRS.obj.metadata.name;
      const oldOf = (s: JsonObject): number => (optInt(s.replicas, 'status.replicas') ?? 0) - (optInt(s.updatedReplicas, 'status.updatedReplicas') ?? 0);
      const progressed =
        updatedReplicas > (optInt(oldStatus.updatedReplicas, 'status.updatedReplicas') ?? 0) ||
        readyReplicas > (optInt(oldStatus.readyReplicas, 'status.readyReplicas') ?? 0) ||
        availableReplicas > (optInt(oldStatus.availableReplicas, 'status.availableReplicas') ?? 0) ||
        replicas - updatedReplicas < oldOf(oldStatus);
      if (complete) {
        setCondition(conds, this.progressing('True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`));
      } else if (progressed) {
        // A fresh lastUpdateTime restarts the progress deadline (DeploymentProgressing).
        const cond = this.progressing('True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`);
        if (current?.status === 'True' && current.lastTransitionTime) cond.lastTransitionTime = current.lastTransitionTime;
        removeCondition(conds, 'Progressing');
        conds.push(cond);
      } else if (current && current.reason !== 'ProgressDeadlineExceeded') {
        const from = Date.parse(current.lastUpdateTime ?? current.lastTransitionTime ?? '');
        const dueMs = (Number.isNaN(from) ? this.ctx.clock.now() : from) + this.spec.progressDeadlineSeconds! * 1000;
        if (dueMs < this.ctx.clock.now()) {
          setCondition(conds, this.progressing('False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`));
        } else {
          requeueAfterMs = dueMs - this.ctx.clock.now() + 1000;
        }
      }
    }

    const collisionCount = optInt(oldStatus.collisionCount, 'status.collisionCount');
    const status: JsonObject = {
      observedGeneration: this.d.metadata.generation ?? 1,
      replicas,
      updatedReplicas,
      readyReplicas,
      availableReplicas,
      unavailableReplicas,
      ...(conds.length ? { conditions: conds } : {}),
      ...(collisionCount !== undefined ? { collisionCount } : {}),
    };
    return { status, complete, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
  }

  writeDeployment(status: JsonObject): void {
    const annotations = { ...this.d.metadata.annotations };
    if (this.newRS) annotations[REVISION_ANNOTATION] = String(revisionOf(this.newRS.obj));
    const oldStatus = optRecord(this.d.status, 'status') ?? {};
    if (canonicalJson(status) === canonicalJson(oldStatus) && canonicalJson(annotations) === canonicalJson(this.d.metadata.annotations ?? {})) return;
    this.ctx.store.update(DEPLOYMENTS, { ...this.d, metadata: { ...this.d.metadata, annotations }, status });
  }
}

function syncDeployment(ctx: ControllerContext, key: string): ReconcileResult | void {
  const { namespace, name } = splitNamespacedKey(key);
  const d = ctx.informers.for(DEPLOYMENTS).get(namespace, name);
  if (!d || d.metadata.deletionTimestamp) return;
  const spec = readDeploymentSpec(d);
  // An empty selector would adopt every pod of the namespace: kube-controller-manager refuses too.
  if (isEmptySelector(spec.selector)) throw new Error('spec.selector: an empty selector selects every pod: refusing to sync');
  const owned = claimObjects(ctx, REPLICASETS, d, spec.selector, 'deployment-controller')
    .map(rsState)
    .sort(byCreation);
  const sync = new DeploymentSync(ctx, d, spec, owned);
  if (spec.paused) sync.syncPaused();
  else if (spec.strategy.type === 'Recreate') sync.rolloutRecreate();
  else sync.rolloutRolling();
  const { status, complete, requeueAfterMs } = sync.computeStatus();
  if (complete || spec.paused) sync.cleanupOld();
  sync.writeDeployment(status);
  return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
}
