// The Job controller: runs a Job's pods to completion as pkg/controller/job does. It keeps up to
// `parallelism` pods running until `completions` pods have succeeded (SuccessCriteriaMet, then
// Complete once no pod is left), or fails the Job when failures pass `backoffLimit` or it has run
// longer than `activeDeadlineSeconds` (FailureTarget, then Failed once its pods are gone). Replacement
// pods wait out the failure back-off (10 s, doubling). Pods carry the job-tracking finalizer until
// they are counted: a finished pod's uid goes to status.uncountedTerminatedPods, its finalizer is
// removed, then it moves to status.succeeded or status.failed, so a pod deleted at any point is counted
// exactly once. `suspend` deletes the running pods and resumes later with a fresh startTime.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { rfc3339 } from '../../k8s/time-format.js';
import type { ControllerContext } from './context.js';
import type { Reconciler, ReconcileResult } from './controller.js';
import { deleteObject } from './deletion.js';
import { recordEvent } from './events.js';
import type { JobCondition, JobSpecView } from './job-spec.js';
import {
  JOB_TRACKING_FINALIZER,
  hasTrackingFinalizer,
  hasTrueCondition,
  isPodFailed,
  isPodTerminating,
  jobFinishedAs,
  pastBackoffLimitOnFailure,
  readJobConditions,
  readJobSpec,
  replacementDelayMs,
  wantActivePods,
} from './job-spec.js';
import { claimObjects, isControlledBy, selectingOwners } from './owners.js';
import { CREATE_RECHECK_MS, createPods, createsInFlight } from './pod-creation.js';
import { podFromTemplate } from './pod-template.js';
import { compareForDeletion, controllerRef, isPodActive, isPodReady, isPodTerminal, podPhase } from './pods.js';
import type { JsonObject } from './read.js';
import { canonicalJson, isRecord, optArray, optInt, optRecord, optString } from './read.js';
import { JOBS, PODS, isNotFound, namespacedKey, splitNamespacedKey } from './resources.js';

/** Work-queue keys of pods whose tracking finalizer has no Job left to remove it. */
const ORPHAN_POD_PREFIX = 'pod:';

const BACKOFF_LIMIT_MESSAGE = 'Job has reached the specified backoff limit';
const DEADLINE_MESSAGE = 'Job was active longer than specified deadline';
const COMPLETIONS_MESSAGE = 'Reached expected number of succeeded pods';

function isJobControllerRef(ref: { apiVersion: string; kind: string } | undefined): boolean {
  return ref !== undefined && ref.kind === 'Job' && ref.apiVersion.startsWith('batch/');
}

export function jobController(ctx: ControllerContext): Reconciler {
  const jobs = ctx.informers.for(JOBS);
  return {
    name: 'job-controller',
    watches: [
      {
        type: JOBS,
        keysFor: (e) => {
          const keys = [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)];
          // Its pods lose the Job that would have removed their finalizers.
          if (e.type === 'DELETED') {
            for (const pod of ctx.informers.for(PODS).listByOwner(e.object.metadata.uid)) {
              if (hasTrackingFinalizer(pod)) keys.push(ORPHAN_POD_PREFIX + namespacedKey(pod.metadata.namespace, pod.metadata.name));
            }
          }
          return keys;
        },
      },
      {
        type: PODS,
        keysFor: (e) => {
          const pod = e.object;
          const ref = controllerRef(pod);
          const orphanKey = ORPHAN_POD_PREFIX + namespacedKey(pod.metadata.namespace, pod.metadata.name);
          if (isJobControllerRef(ref)) {
            const job = jobs.get(pod.metadata.namespace, ref!.name);
            if (job && job.metadata.uid === ref!.uid) return [namespacedKey(job.metadata.namespace, job.metadata.name)];
            return e.type !== 'DELETED' && hasTrackingFinalizer(pod) ? [orphanKey] : [];
          }
          if (ref) return [];
          if (e.type !== 'DELETED' && hasTrackingFinalizer(pod)) return [orphanKey];
          return selectingOwners(jobs.list(pod.metadata.namespace), pod).map((j) => namespacedKey(j.metadata.namespace, j.metadata.name));
        },
      },
    ],
    reconcile: (key) => (key.startsWith(ORPHAN_POD_PREFIX) ? syncOrphanPod(ctx, key.slice(ORPHAN_POD_PREFIX.length)) : syncJob(ctx, key)),
  };
}

/**
 * Removes the tracking finalizer; a pod already being deleted that has no processes left (finished,
 * or never bound to the node) is removed from the store, as the apiserver does once its last finalizer
 * goes; one still running is removed by the kubelet when it has stopped it. Returns the pod as it is
 * now, or undefined when it is gone.
 */
function removeTrackingFinalizer(ctx: ControllerContext, pod: StoredObject): StoredObject | undefined {
  const finalizers = (pod.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
  const { finalizers: _dropped, ...rest } = pod.metadata;
  const metadata = finalizers.length > 0 ? { ...rest, finalizers } : rest;
  try {
    const updated = ctx.store.update(PODS, { ...pod, metadata });
    const unbound = !isRecord(updated.spec) || !updated.spec.nodeName;
    if (updated.metadata.deletionTimestamp && finalizers.length === 0 && (isPodTerminal(updated) || unbound)) {
      ctx.store.delete(PODS, updated.metadata.namespace, updated.metadata.name);
      return undefined;
    }
    return updated;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return undefined;
  }
}

/** syncOrphanPod: a pod whose Job is gone or finished keeps no tracking finalizer. */
function syncOrphanPod(ctx: ControllerContext, key: string): void {
  const { namespace, name } = splitNamespacedKey(key);
  const pod = ctx.informers.for(PODS).get(namespace, name);
  if (!pod || !hasTrackingFinalizer(pod)) return;
  const ref = controllerRef(pod);
  if (ref && !isJobControllerRef(ref)) return;
  if (ref) {
    const job = ctx.informers.for(JOBS).get(namespace, ref.name);
    if (job && job.metadata.uid === ref.uid && !jobFinishedAs(job)) return;
  }
  removeTrackingFinalizer(ctx, pod);
}

/** The counters and uids of status, as the sync changes them. */
interface JobStatusView {
  startTime: string | undefined;
  completionTime: string | undefined;
  succeeded: number;
  failed: number;
  conditions: JobCondition[];
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  active: number;
  ready: number;
  terminating: number;
}

function uidList(value: unknown, path: string): string[] {
  return optArray(value, path).filter((u): u is string => typeof u === 'string');
}

function readStatus(job: KubeObject): JobStatusView {
  const status = optRecord(job.status, 'status') ?? {};
  const uncounted = optRecord(status.uncountedTerminatedPods, 'status.uncountedTerminatedPods') ?? {};
  return {
    startTime: optString(status.startTime, 'status.startTime'),
    completionTime: optString(status.completionTime, 'status.completionTime'),
    succeeded: optInt(status.succeeded, 'status.succeeded') ?? 0,
    failed: optInt(status.failed, 'status.failed') ?? 0,
    conditions: readJobConditions(job),
    uncountedSucceeded: new Set(uidList(uncounted.succeeded, 'status.uncountedTerminatedPods.succeeded')),
    uncountedFailed: new Set(uidList(uncounted.failed, 'status.uncountedTerminatedPods.failed')),
    active: optInt(status.active, 'status.active') ?? 0,
    ready: optInt(status.ready, 'status.ready') ?? 0,
    terminating: optInt(status.terminating, 'status.terminating') ?? 0,
  };
}

/** The status as the apiserver serializes it: zero counters omitted, ready and terminating always there. */
function statusJson(s: JobStatusView): JsonObject {
  return {
    ...(s.conditions.length > 0 ? { conditions: s.conditions } : {}),
    ...(s.startTime ? { startTime: s.startTime } : {}),
    ...(s.completionTime ? { completionTime: s.completionTime } : {}),
    ...(s.active > 0 ? { active: s.active } : {}),
    ...(s.succeeded > 0 ? { succeeded: s.succeeded } : {}),
    ...(s.failed > 0 ? { failed: s.failed } : {}),
    terminating: s.terminating,
    uncountedTerminatedPods: {
      ...(s.uncountedSucceeded.size > 0 ? { succeeded: [...s.uncountedSucceeded] } : {}),
      ...(s.uncountedFailed.size > 0 ? { failed: [...s.uncountedFailed] } : {}),
    },
    ready: s.ready,
  };
}

/** Sets a condition, keeping lastTransitionTime when its status does not change (ensureJobConditionStatus). */
function ensureCondition(conditions: JobCondition[], next: Omit<JobCondition, 'lastProbeTime' | 'lastTransitionTime'>, now: string): void {
  const i = conditions.findIndex((c) => c.type === next.type);
  const current = i >= 0 ? conditions[i] : undefined;
  if (current && current.status === next.status && current.reason === next.reason && current.message === next.message) return;
  const cond: JobCondition = { ...next, lastProbeTime: now, lastTransitionTime: current && current.status === next.status ? current.lastTransitionTime ?? now : now };
  if (i >= 0) conditions[i] = cond;
  else conditions.push(cond);
}

/** The terminal outcome decided in this sync: interim condition first, the final one once pods are settled. */
interface Finish {
  interim: 'SuccessCriteriaMet' | 'FailureTarget';
  final: 'Complete' | 'Failed';
  reason: string;
  message: string;
}

function failure(reason: string, message: string): Finish {
  return { interim: 'FailureTarget', final: 'Failed', reason, message };
}

class JobSync {
  private job: StoredObject;
  readonly status: JobStatusView;
  private readonly ownerKey: string;
  finish: Finish | undefined;
  requeueAfterMs: number | undefined;

  constructor(
    private readonly ctx: ControllerContext,
    job: StoredObject,
    private readonly spec: JobSpecView,
    key: string,
  ) {
    this.job = job;
    this.status = readStatus(job);
    this.ownerKey = `job:${key}`;
  }

  private now(): string {
    return rfc3339(this.ctx.clock.now());
  }

  private requeue(ms: number): void {
    this.requeueAfterMs = this.requeueAfterMs === undefined ? ms : Math.min(this.requeueAfterMs, ms);
  }

  /** The Job's pods, current (the informer follows every write of this sync). */
  pods(): StoredObject[] {
    return this.ctx.informers.for(PODS).listByOwner(this.job.metadata.uid).filter((p) => isControlledBy(p, this.job));
  }

  /** Finished pods still carrying the finalizer, not yet in uncounted: what this sync will count. */
  private newlyFinished(pods: StoredObject[]): { succeeded: StoredObject[]; failed: StoredObject[] } {
    const succeeded: StoredObject[] = [];
    const failed: StoredObject[] = [];
    for (const pod of pods) {
      if (!hasTrackingFinalizer(pod)) continue;
      const uid = pod.metadata.uid;
      if (this.status.uncountedSucceeded.has(uid) || this.status.uncountedFailed.has(uid)) continue;
      if (podPhase(pod) === 'Succeeded') succeeded.push(pod);
      else if (isPodFailed(pod, this.spec)) failed.push(pod);
    }
    return { succeeded, failed };
  }

  /** Decides whether the Job has failed (back-off limit, deadline) or had already met a terminal criterion. */
  decideFinish(pods: StoredObject[], failed: number): void {
    const conds = this.status.conditions;
    const met = hasTrueCondition(conds, 'SuccessCriteriaMet');
    const target = hasTrueCondition(conds, 'FailureTarget');
    if (met) {
      this.finish = { interim: 'SuccessCriteriaMet', final: 'Complete', reason: met.reason ?? 'CompletionsReached', message: met.message ?? COMPLETIONS_MESSAGE };
      return;
    }
    if (target) {
      this.finish = failure(target.reason ?? 'BackoffLimitExceeded', target.message ?? BACKOFF_LIMIT_MESSAGE);
      return;
    }
    if (failed > this.spec.backoffLimit || pastBackoffLimitOnFailure(this.spec, pods.filter(isPodActive))) {
      this.finish = failure('BackoffLimitExceeded', BACKOFF_LIMIT_MESSAGE);
      return;
    }
    const ads = this.spec.activeDeadlineSeconds;
    const start = this.status.startTime ? Date.parse(this.status.startTime) : NaN;
    if (ads === undefined || this.spec.suspend || Number.isNaN(start)) return;
    const dueIn = start + ads * 1000 - this.ctx.clock.now();
    if (dueIn <= 0) this.finish = failure('DeadlineExceeded', DEADLINE_MESSAGE);
    else this.requeue(dueIn);
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    recordEvent(this.ctx, this.job, 'job-controller', type, reason, message);
  }

  /**
   * Deletes pods. `counted`: they keep their finalizer and count as failed (the Job failed); else their
   * finalizer goes first and they are not counted (suspended, or more than should run), as deleteJobPods.
   */
  deletePods(pods: StoredObject[], counted: boolean): void {
    for (const pod of pods) {
      const target = counted ? pod : removeTrackingFinalizer(this.ctx, pod);
      if (target) deleteObject(this.ctx, PODS, target);
      this.event('Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
    }
  }

  /** manageJob: create or delete pods toward the number that should run. */
  manage(pods: StoredObject[], succeeded: number): void {
    const now = this.now();
    const active = pods.filter(isPodActive);
    if (this.spec.suspend) {
      this.deletePods(active, false);
      if (!hasTrueCondition(this.status.conditions, 'Suspended')) this.event('Normal', 'Suspended', 'Job suspended');
      ensureCondition(this.status.conditions, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, now);
      return;
    }
    if (hasTrueCondition(this.status.conditions, 'Suspended')) {
      this.event('Normal', 'Resumed', 'Job resumed');
      ensureCondition(this.status.conditions, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, now);
      // activeDeadlineSeconds counts the time the Job runs continuously: it starts again on resume.
      this.status.startTime = now;
    }
    if (createsInFlight(this.ctx, this.ownerKey) > 0) {
      this.requeue(CREATE_RECHECK_MS);
      return;
    }
    const want = wantActivePods(this.spec, succeeded, active.length);
    if (active.length > want) {
      this.deletePods([...active].sort(compareForDeletion).slice(0, active.length - want), false);
      return;
    }
    if (active.length === want) return;
    if (this.spec.podReplacementPolicy === 'Failed' && pods.some(isPodTerminating)) return;
    const delay = replacementDelayMs(pods, this.spec, this.ctx.clock.now());
    if (delay > 0) {
      this.requeue(delay);
      return;
    }
    const newPods = Array.from({ length: want - active.length }, () => podFromTemplate(this.spec.template, this.job, { finalizers: [JOB_TRACKING_FINALIZER] }));
    const outcome = createPods(this.ctx, this.ownerKey, newPods, (pod) => this.event('Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`));
    if (outcome.pending > 0) this.requeue(CREATE_RECHECK_MS);
    if (outcome.failure) throw outcome.failure;
  }

  /** Whether all completions are in (after this sync's creations and deletions). */
  isComplete(pods: StoredObject[], succeeded: number): boolean {
    if (createsInFlight(this.ctx, this.ownerKey) > 0) return false;
    const active = pods.filter(isPodActive).length;
    if (this.spec.completions === undefined) return succeeded > 0 && active === 0;
    return succeeded >= this.spec.completions && active === 0;
  }

  private writeStatus(): void {
    const status = statusJson(this.status);
    if (canonicalJson(status) === canonicalJson(optRecord(this.job.status, 'status') ?? {})) return;
    this.job = this.ctx.store.update(JOBS, { ...this.job, status });
  }

  /**
   * trackJobStatusAndRemoveFinalizers: finished pods go to uncounted (written), lose their finalizer,
   * then move to the counters; the terminal condition is set once nothing is uncounted or terminating.
   */
  track(): void {
    const now = this.now();
    let pods = this.pods();
    const canRemove = (pod: StoredObject): boolean =>
      this.job.metadata.deletionTimestamp !== undefined || this.finish !== undefined || podPhase(pod) === 'Succeeded' || isPodFailed(pod, this.spec);
    const toRemove = pods.filter((p) => hasTrackingFinalizer(p) && canRemove(p));
    for (const pod of toRemove) {
      const uid = pod.metadata.uid;
      if (this.status.uncountedSucceeded.has(uid) || this.status.uncountedFailed.has(uid)) continue;
      if (podPhase(pod) === 'Succeeded') this.status.uncountedSucceeded.add(uid);
      else if (isPodFailed(pod, this.spec) || this.finish?.final === 'Failed') this.status.uncountedFailed.add(uid);
    }
    if (this.finish) ensureCondition(this.status.conditions, { type: this.finish.interim, status: 'True', reason: this.finish.reason, message: this.finish.message }, now);
    this.refreshCounts(pods);
    this.writeStatus();
    for (const pod of toRemove) removeTrackingFinalizer(this.ctx, pod);

    pods = this.pods();
    const withFinalizer = new Set(pods.filter(hasTrackingFinalizer).map((p) => p.metadata.uid));
    for (const [uncounted, counter] of [
      [this.status.uncountedSucceeded, 'succeeded'],
      [this.status.uncountedFailed, 'failed'],
    ] as const) {
      for (const uid of [...uncounted]) {
        if (withFinalizer.has(uid)) continue;
        uncounted.delete(uid);
        this.status[counter]++;
      }
    }
    this.refreshCounts(pods);
    const settled = this.status.uncountedSucceeded.size + this.status.uncountedFailed.size === 0 && this.status.terminating === 0;
    if (this.finish && settled) {
      if (!hasTrueCondition(this.status.conditions, this.finish.final)) {
        if (this.finish.final === 'Complete') this.event('Normal', 'Completed', 'Job completed');
        else this.event('Warning', this.finish.reason, this.finish.message);
      }
      ensureCondition(this.status.conditions, { type: this.finish.final, status: 'True', reason: this.finish.reason, message: this.finish.message }, now);
      if (this.finish.final === 'Complete') this.status.completionTime ??= now;
    }
    this.writeStatus();
  }

  private refreshCounts(pods: StoredObject[]): void {
    const active = pods.filter(isPodActive);
    this.status.active = active.length;
    this.status.ready = active.filter(isPodReady).length;
    this.status.terminating = pods.filter(isPodTerminating).length;
  }

  counts(pods: StoredObject[]): { succeeded: number; failed: number } {
    const fresh = this.newlyFinished(pods);
    return {
      succeeded: this.status.succeeded + this.status.uncountedSucceeded.size + fresh.succeeded.length,
      failed: this.status.failed + this.status.uncountedFailed.size + fresh.failed.length,
    };
  }

  startIfNew(): void {
    if (!this.status.startTime && !this.spec.suspend) this.status.startTime = this.now();
  }
}

function syncJob(ctx: ControllerContext, key: string): ReconcileResult | void {
  const { namespace, name } = splitNamespacedKey(key);
  const job = ctx.informers.for(JOBS).get(namespace, name);
  if (!job) return;
  const spec = readJobSpec(job);
  if (spec.managedElsewhere) return;
  const claimed = claimObjects(ctx, PODS, job, spec.selector, 'job-controller');
  if (jobFinishedAs(job)) {
    // Finished in an earlier sync: only finalizers left behind (a crash between writes) are cleared.
    for (const pod of claimed) if (hasTrackingFinalizer(pod)) removeTrackingFinalizer(ctx, pod);
    return;
  }
  const sync = new JobSync(ctx, job, spec, key);
  sync.startIfNew();
  let pods = sync.pods();
  const counted = sync.counts(pods);
  let succeeded = counted.succeeded;
  sync.decideFinish(pods, counted.failed);
  if (sync.finish?.final === 'Failed') {
    // Every pod still running is stopped; they count as failed.
    sync.deletePods(pods.filter(isPodActive), true);
  } else if (!sync.finish && !job.metadata.deletionTimestamp) {
    sync.manage(pods, succeeded);
    pods = sync.pods();
    succeeded = sync.counts(pods).succeeded;
    if (sync.isComplete(pods, succeeded)) sync.finish = { interim: 'SuccessCriteriaMet', final: 'Complete', reason: 'CompletionsReached', message: COMPLETIONS_MESSAGE };
  }
  sync.track();
  return sync.requeueAfterMs === undefined ? undefined : { requeueAfterMs: sync.requeueAfterMs };
}
