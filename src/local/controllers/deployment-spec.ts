// Reading a Deployment's spec, and the arithmetic of a rolling update (fenceposts, revisions,
// template identity) as k8s.io/kubernetes/pkg/controller/deployment/util computes it.
import type { KubeObject } from '../../k8s/object.js';
import type { LabelSelector } from '../../k8s/selectors.js';
import { readLabelSelector } from './label-selector.js';
import type { JsonObject } from './read.js';
import { canonicalJson, cloneJson, isRecord, optBool, optInt, optIntOrString, optRecord, optString, record } from './read.js';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

export interface DeploymentSpecView {
  replicas: number;
  selector: LabelSelector;
  template: JsonObject;
  strategy: { type: 'Recreate' } | { type: 'RollingUpdate'; maxSurge: number | string; maxUnavailable: number | string };
  minReadySeconds: number;
  revisionHistoryLimit: number;
  paused: boolean;
  progressDeadlineSeconds: number | undefined;
}

export function readDeploymentSpec(d: KubeObject): DeploymentSpecView {
  const spec = record(d.spec, 'spec');
  const replicas = optInt(spec.replicas, 'spec.replicas') ?? 1;
  if (replicas < 0) throw new Error(`spec.replicas: must be >= 0, got ${replicas}`);
  const strategy = optRecord(spec.strategy, 'spec.strategy') ?? {};
  const strategyType = optString(strategy.type, 'spec.strategy.type') ?? 'RollingUpdate';
  let parsedStrategy: DeploymentSpecView['strategy'];
  if (strategyType === 'Recreate') {
    parsedStrategy = { type: 'Recreate' };
  } else if (strategyType === 'RollingUpdate') {
    const rolling = optRecord(strategy.rollingUpdate, 'spec.strategy.rollingUpdate') ?? {};
    parsedStrategy = {
      type: 'RollingUpdate',
      maxSurge: optIntOrString(rolling.maxSurge, 'spec.strategy.rollingUpdate.maxSurge') ?? '25%',
      maxUnavailable: optIntOrString(rolling.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable') ?? '25%',
    };
  } else {
    throw new Error(`spec.strategy.type: unsupported value "${strategyType}": supported values: "Recreate", "RollingUpdate"`);
  }
  const deadline = optInt(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds');
  return {
    replicas,
    selector: readLabelSelector(spec.selector, 'spec.selector'),
    template: record(spec.template, 'spec.template'),
    strategy: parsedStrategy,
    minReadySeconds: optInt(spec.minReadySeconds, 'spec.minReadySeconds') ?? 0,
    revisionHistoryLimit: optInt(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit') ?? 10,
    paused: optBool(spec.paused, 'spec.paused') ?? false,
    // apps/v1 defaults it to 600; the largest int32 means "no deadline", as kubectl writes it.
    progressDeadlineSeconds: deadline === 2147483647 ? undefined : deadline ?? 600,
  };
}

/** An int-or-percent against a total (intstr.GetScaledValueFromIntOrPercent). */
export function scaledValue(value: number | string, total: number, roundUp: boolean, path: string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) throw new Error(`${path}: invalid value "${value}": must be an integer or a percentage`);
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** maxSurge (rounded up) and maxUnavailable (rounded down); never both 0. */
export function resolveFenceposts(strategy: DeploymentSpecView['strategy'], replicas: number): { maxSurge: number; maxUnavailable: number } {
  if (strategy.type !== 'RollingUpdate') return { maxSurge: 0, maxUnavailable: 0 };
  const maxSurge = scaledValue(strategy.maxSurge, replicas, true, 'spec.strategy.rollingUpdate.maxSurge');
  let maxUnavailable = scaledValue(strategy.maxUnavailable, replicas, false, 'spec.strategy.rollingUpdate.maxUnavailable');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/** The unavailability the Available condition tolerates: 0 for Recreate, capped at replicas. */
export function maxUnavailableFor(spec: DeploymentSpecView): number {
  if (spec.strategy.type !== 'RollingUpdate' || spec.replicas === 0) return 0;
  return Math.min(resolveFenceposts(spec.strategy, spec.replicas).maxUnavailable, spec.replicas);
}

/** The revision a ReplicaSet carries in its annotation; 0 when absent or unreadable. */
export function revisionOf(obj: KubeObject): number {
  const raw = obj.metadata.annotations?.[REVISION_ANNOTATION];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The pod template with the pod-template-hash label removed, as EqualIgnoreHash compares it. */
export function templateIgnoringHash(template: JsonObject): string {
  const copy = cloneJson(template);
  const meta = copy.metadata;
  if (isRecord(meta) && isRecord(meta.labels)) {
    delete meta.labels[POD_TEMPLATE_HASH_LABEL];
    if (Object.keys(meta.labels).length === 0) delete meta.labels;
  }
  if (isRecord(meta) && Object.keys(meta).length === 0) delete copy.metadata;
  return canonicalJson(copy);
}

/** The template with `pod-template-hash` added to its labels. */
export function templateWithHash(template: JsonObject, hash: string): JsonObject {
  const copy = cloneJson(template);
  const meta = isRecord(copy.metadata) ? copy.metadata : {};
  const labels = isRecord(meta.labels) ? meta.labels : {};
  labels[POD_TEMPLATE_HASH_LABEL] = hash;
  meta.labels = labels;
  copy.metadata = meta;
  return copy;
}
