// Reading a Job and the arithmetic of its controller, pure, as pkg/controller/job computes it: how
// many pods should run, when the back-off limit or the deadline is passed, when a replacement pod may
// start after failures, and which finished pods still have to be counted.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { LabelSelector } from '../../k8s/selectors.js';
import { readLabelSelector } from './label-selector.js';
import { isPodTerminal, podPhase } from './pods.js';
import type { JsonObject } from './read.js';
import { isRecord, optArray, optBool, optInt, optRecord, optString, record } from './read.js';

/** Kept on a Job's pods until the controller has counted them (so deleted pods are never missed). */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
/** The job controller's own name in spec.managedBy: any other value is another controller's job. */
export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';
/** The pod failure back-off: 10 s after the first failure, doubling, at most 10 minutes. */
export const POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 600_000;

export interface JobSpecView {
  parallelism: number;
  /** Undefined: a work-queue job, complete once any pod succeeds and none is left running. */
  completions: number | undefined;
  backoffLimit: number;
  activeDeadlineSeconds: number | undefined;
  ttlSecondsAfterFinished: number | undefined;
  suspend: boolean;
  /** Failed: a pod being deleted is replaced only once it is gone. */
  podReplacementPolicy: 'TerminatingOrFailed' | 'Failed';
  restartPolicy: string;
  selector: LabelSelector;
  template: JsonObject;
  /** spec.managedBy names another controller: this one leaves the Job alone. */
  managedElsewhere: boolean;
}

export function readJobSpec(job: KubeObject): JobSpecView {
  const spec = record(job.spec, 'spec');
  const template = record(spec.template, 'spec.template');
  const policy = optString(spec.podReplacementPolicy, 'spec.podReplacementPolicy') ?? 'TerminatingOrFailed';
  if (policy !== 'TerminatingOrFailed' && policy !== 'Failed') throw new Error(`spec.podReplacementPolicy: unsupported value "${policy}"`);
  const managedBy = optString(spec.managedBy, 'spec.managedBy');
  return {
    parallelism: optInt(spec.parallelism, 'spec.parallelism') ?? 1,
    completions: optInt(spec.completions, 'spec.completions'),
    backoffLimit: optInt(spec.backoffLimit, 'spec.backoffLimit') ?? 6,
    activeDeadlineSeconds: optInt(spec.activeDeadlineSeconds, 'spec.activeDeadlineSeconds'),
    ttlSecondsAfterFinished: optInt(spec.ttlSecondsAfterFinished, 'spec.ttlSecondsAfterFinished'),
    suspend: optBool(spec.suspend, 'spec.suspend') ?? false,
    podReplacementPolicy: policy,
    restartPolicy: optString(optRecord(template.spec, 'spec.template.spec')?.restartPolicy, 'spec.template.spec.restartPolicy') ?? 'Always',
    selector: readLabelSelector(spec.selector, 'spec.selector'),
    template,
    managedElsewhere: managedBy !== undefined && managedBy !== JOB_CONTROLLER_NAME,
  };
}

export interface JobCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function readJobConditions(job: KubeObject): JobCondition[] {
  return optArray(optRecord(job.status, 'status')?.conditions, 'status.conditions').filter(isRecord).map((c, i) => {
    const status = c.status;
    if (typeof c.type !== 'string' || (status !== 'True' && status !== 'False' && status !== 'Unknown')) {
      throw new Error(`status.conditions[${i}]: expected a type and a status of True, False or Unknown`);
    }
    const cond: JobCondition = { type: c.type, status };
    for (const field of ['lastProbeTime', 'lastTransitionTime', 'reason', 'message'] as const) {
      const value = optString(c[field], `status.conditions[${i}].${field}`);
      if (value !== undefined) cond[field] = value;
    }
    return cond;
  });
}

export function hasTrueCondition(conditions: readonly JobCondition[], type: string): JobCondition | undefined {
  return conditions.find((c) => c.type === type && c.status === 'True');
}

/** Complete or Failed: nothing more happens to the Job (IsJobFinished). */
export function jobFinishedAs(job: KubeObject): 'Complete' | 'Failed' | undefined {
  const conditions = readJobConditions(job);
  if (hasTrueCondition(conditions, 'Complete')) return 'Complete';
  if (hasTrueCondition(conditions, 'Failed')) return 'Failed';
  return undefined;
}

/** When the Job finished (the terminal condition's transition), ms since epoch. */
export function jobFinishedAt(job: KubeObject): number | undefined {
  const conditions = readJobConditions(job);
  const terminal = hasTrueCondition(conditions, 'Complete') ?? hasTrueCondition(conditions, 'Failed');
  const at = terminal?.lastTransitionTime === undefined ? NaN : Date.parse(terminal.lastTransitionTime);
  return Number.isNaN(at) ? undefined : at;
}

/** How many pods should be running: the completions still missing, at most `parallelism`. */
export function wantActivePods(spec: JobSpecView, succeeded: number, active: number): number {
  if (spec.completions === undefined) return succeeded > 0 ? active : spec.parallelism;
  return Math.max(0, Math.min(spec.parallelism, spec.completions - succeeded));
}

/** A pod this Job counts as failed: Failed, or being deleted before it succeeded (isPodFailed). */
export function isPodFailed(pod: KubeObject, spec: JobSpecView): boolean {
  const phase = podPhase(pod);
  if (phase === 'Failed') return true;
  if (spec.podReplacementPolicy === 'Failed') return false;
  return pod.metadata.deletionTimestamp !== undefined && phase !== 'Succeeded';
}

export function hasTrackingFinalizer(pod: KubeObject): boolean {
  return (pod.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

/** A pod being deleted that has not finished (CountTerminatingPods). */
export function isPodTerminating(pod: KubeObject): boolean {
  return pod.metadata.deletionTimestamp !== undefined && !isPodTerminal(pod);
}

function sumRestarts(pod: KubeObject): number {
  const status = optRecord(pod.status, 'status');
  let n = 0;
  for (const list of [status?.initContainerStatuses, status?.containerStatuses]) {
    for (const cs of optArray(list, 'status.containerStatuses')) if (isRecord(cs) && typeof cs.restartCount === 'number') n += cs.restartCount;
  }
  return n;
}

/**
 * restartPolicy OnFailure: a failing container is restarted in its pod, not replaced, so the restarts
 * of the running pods count against the back-off limit (pastBackoffLimitOnFailure).
 */
export function pastBackoffLimitOnFailure(spec: JobSpecView, pods: readonly KubeObject[]): boolean {
  if (spec.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const pod of pods) {
    const phase = podPhase(pod);
    if (phase === 'Running' || phase === 'Pending') restarts += sumRestarts(pod);
  }
  return spec.backoffLimit === 0 ? restarts > 0 : restarts >= spec.backoffLimit;
}

/** When a pod ended: its containers' latest finishedAt, else when its deletion began. */
export function podFinishedAt(pod: KubeObject): number | undefined {
  let latest: number | undefined;
  for (const cs of optArray(optRecord(pod.status, 'status')?.containerStatuses, 'status.containerStatuses')) {
    const finished = isRecord(cs) && isRecord(cs.state) && isRecord(cs.state.terminated) ? cs.state.terminated.finishedAt : undefined;
    const t = typeof finished === 'string' ? Date.parse(finished) : NaN;
    if (!Number.isNaN(t) && (latest === undefined || t > latest)) latest = t;
  }
  if (latest !== undefined) return latest;
  const deleting = pod.metadata.deletionTimestamp ? Date.parse(pod.metadata.deletionTimestamp) : NaN;
  return Number.isNaN(deleting) ? undefined : deleting;
}

/**
 * How long before a replacement pod may be created: after n failures since the last success, the last
 * failure's time plus 10 s * 2^(n-1), capped at 10 minutes. 0 when nothing holds it back.
 */
export function replacementDelayMs(pods: readonly StoredObject[], spec: JobSpecView, now: number): number {
  const ended = pods
    .map((pod) => ({ pod, at: podFinishedAt(pod), failed: isPodFailed(pod, spec) }))
    .filter((e): e is { pod: StoredObject; at: number; failed: boolean } => e.at !== undefined && (e.failed || podPhase(e.pod) === 'Succeeded'))
    .sort((a, b) => a.at - b.at);
  let failures = 0;
  let lastFailure = 0;
  for (const e of ended) {
    if (e.failed) {
      failures++;
      lastFailure = e.at;
    } else failures = 0;
  }
  if (failures === 0) return 0;
  const backoff = Math.min(MAX_POD_FAILURE_BACKOFF_MS, POD_FAILURE_BACKOFF_MS * 2 ** Math.min(failures - 1, 16));
  return Math.max(0, lastFailure + backoff - now);
}
