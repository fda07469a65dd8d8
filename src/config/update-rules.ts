// What an update may not change, as the apiserver's ValidateXUpdate functions refuse it: a Job's
// selector and pod template, a StatefulSet's spec beyond the fields its controller can roll, a
// DaemonSet's selector, a binding's role. Pure: old and new object in, causes out.
import { isDeepStrictEqual } from 'node:util';
import type { ResourceType } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import type { FieldCause } from '../k8s/status.js';
import { forbidden, invalid } from './schemas/causes.js';

type Fields = Record<string, unknown>;

function record(value: unknown): Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : {};
}

/** Equal content, whatever the key order. */
function same(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a ?? null, b ?? null);
}

function immutable(path: string, oldValue: unknown, newValue: unknown, out: FieldCause[], message = 'field is immutable'): void {
  if (!same(oldValue, newValue)) out.push(invalid(path, newValue ?? null, message));
}

/** The StatefulSet spec fields an update may change (ValidateStatefulSetUpdate). */
const STATEFULSET_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

export function validateUpdate(type: ResourceType, oldObject: KubeObject, object: KubeObject): FieldCause[] {
  const out: FieldCause[] = [];
  const oldSpec = record(oldObject.spec);
  const spec = record(object.spec);
  switch (`${type.group}/${type.kind}`) {
    case 'batch/Job':
      immutable('spec.selector', oldSpec.selector, spec.selector, out);
      immutable('spec.template', oldSpec.template, spec.template, out);
      immutable('spec.completions', oldSpec.completions, spec.completions, out);
      immutable('spec.completionMode', oldSpec.completionMode, spec.completionMode, out);
      break;
    case 'apps/StatefulSet': {
      const strip = (s: Fields): Fields => Object.fromEntries(Object.entries(s).filter(([k]) => !STATEFULSET_MUTABLE.includes(k)));
      if (!same(strip(oldSpec), strip(spec))) {
        out.push(forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
      }
      break;
    }
    case 'apps/DaemonSet':
      immutable('spec.selector', oldSpec.selector, spec.selector, out);
      break;
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      immutable('roleRef', oldObject.roleRef, object.roleRef, out, 'cannot change roleRef');
      break;
  }
  return out;
}
