// The apiserver's rules for Job, StatefulSet and DaemonSet specs (pkg/apis/batch/validation and
// pkg/apis/apps/validation) on top of the workload rules every controller kind shares, plus what the
// local clusters' controllers cannot honour, refused by name instead of stored and ignored.
import { JOB_CONTROLLER_UID_LABEL } from '../job-selector.js';
import type { KubeObject } from '../../k8s/object.js';
import type { FieldCause } from '../../k8s/status.js';
import { forbidden, invalid, notSupported } from './causes.js';
import { nonNegative, validateWorkloadSpec } from './semantic.js';

type Fields = Record<string, unknown>;

function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Job fields whose controller logic the local clusters do not have. */
const UNSUPPORTED_JOB_FIELDS: Array<[string, string]> = [
  ['podFailurePolicy', 'pod failure policies'],
  ['successPolicy', 'success policies'],
  ['backoffLimitPerIndex', 'per-index back-off limits (Indexed jobs)'],
  ['maxFailedIndexes', 'failed-index limits (Indexed jobs)'],
];

export function validateJobSpec(obj: KubeObject, out: FieldCause[]): void {
  validateWorkloadSpec(obj, 'Job', out);
  const spec = record(obj.spec);
  if (!spec) return;
  for (const field of ['parallelism', 'completions', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']) nonNegative(spec, field, 'spec', out);
  const mode = text(spec.completionMode);
  if (mode === 'Indexed') {
    out.push(forbidden('spec.completionMode', 'Indexed jobs are not supported by the local clusters\' job controller: use completionMode NonIndexed'));
  } else if (mode !== undefined && mode !== 'NonIndexed') {
    out.push(notSupported('spec.completionMode', mode, ['NonIndexed', 'Indexed']));
  }
  for (const [field, what] of UNSUPPORTED_JOB_FIELDS) {
    if (isSet(spec[field])) out.push(forbidden(`spec.${field}`, `${what} are not supported by the local clusters' job controller: remove the field`));
  }
  if (spec.manualSelector === true) return;
  // validateGeneratedSelector: without manualSelector the selector is the apiserver's, on the Job's uid.
  const uid = text(obj.metadata.uid);
  const selector = record(spec.selector);
  if (!uid || !selector) return;
  const matchLabels = record(selector.matchLabels) ?? {};
  const generated = matchLabels[JOB_CONTROLLER_UID_LABEL] === uid && Object.keys(matchLabels).length === 1 && (Array.isArray(selector.matchExpressions) ? selector.matchExpressions.length === 0 : true);
  if (!generated) out.push(invalid('spec.selector', selector, '`selector` not auto-generated'));
}

export function validateStatefulSetSpec(obj: KubeObject, out: FieldCause[]): void {
  validateWorkloadSpec(obj, 'StatefulSet', out);
  const spec = record(obj.spec);
  if (!spec) return;
  nonNegative(spec, 'revisionHistoryLimit', 'spec', out);
  const policy = text(spec.podManagementPolicy);
  if (policy !== undefined && policy !== 'OrderedReady' && policy !== 'Parallel') out.push(notSupported('spec.podManagementPolicy', policy, ['OrderedReady', 'Parallel']));
  const strategy = record(spec.updateStrategy) ?? {};
  const type = text(strategy.type);
  if (type !== undefined && type !== 'RollingUpdate' && type !== 'OnDelete') out.push(notSupported('spec.updateStrategy.type', type, ['RollingUpdate', 'OnDelete']));
  const rolling = record(strategy.rollingUpdate);
  if (rolling && type === 'OnDelete') out.push(invalid('spec.updateStrategy.rollingUpdate', rolling, "only allowed for updateStrategy 'RollingUpdate'"));
  if (rolling) {
    nonNegative(rolling, 'partition', 'spec.updateStrategy.rollingUpdate', out);
    if (isSet(rolling.maxUnavailable)) {
      out.push(forbidden('spec.updateStrategy.rollingUpdate.maxUnavailable', 'not supported: the MaxUnavailableStatefulSet feature (alpha in Kubernetes 1.32) is off, pods are updated one at a time'));
    }
  }
  const ordinals = record(spec.ordinals);
  if (ordinals) nonNegative(ordinals, 'start', 'spec.ordinals', out);
  if (Array.isArray(spec.volumeClaimTemplates) && spec.volumeClaimTemplates.length > 0) {
    out.push(
      forbidden(
        'spec.volumeClaimTemplates',
        'the local clusters have no storage (PersistentVolumeClaims are not served): remove volumeClaimTemplates, or mount an emptyDir volume in the pod template instead',
      ),
    );
  }
}

export function validateDaemonSetSpec(obj: KubeObject, out: FieldCause[]): void {
  validateWorkloadSpec(obj, 'DaemonSet', out);
  const spec = record(obj.spec);
  if (!spec) return;
  nonNegative(spec, 'revisionHistoryLimit', 'spec', out);
  const strategy = record(spec.updateStrategy) ?? {};
  const type = text(strategy.type);
  if (type !== undefined && type !== 'RollingUpdate' && type !== 'OnDelete') out.push(notSupported('spec.updateStrategy.type', type, ['RollingUpdate', 'OnDelete']));
  const rolling = record(strategy.rollingUpdate);
  if (!rolling || type !== 'RollingUpdate') return;
  const zero = (v: unknown): boolean => v === 0 || v === '0%';
  const path = 'spec.updateStrategy.rollingUpdate';
  for (const field of ['maxUnavailable', 'maxSurge']) {
    const v = rolling[field];
    if (typeof v === 'string' && !/^\d+%$/.test(v)) out.push(invalid(`${path}.${field}`, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
    if (typeof v === 'number' && v < 0) out.push(invalid(`${path}.${field}`, v, 'must be greater than or equal to 0'));
  }
  if (isSet(rolling.maxUnavailable) && zero(rolling.maxUnavailable) && (!isSet(rolling.maxSurge) || zero(rolling.maxSurge))) {
    out.push(invalid(`${path}.maxUnavailable`, rolling.maxUnavailable, 'may not be 0 when maxSurge is 0'));
  }
}
