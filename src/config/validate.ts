// Object validation as the apiserver does it on create and update: the kind's OpenAPI schema (types,
// required fields, enums), unknown fields under strict field validation, then the apiserver's own
// semantic rules (names, labels, selectors, ports). Objects should be defaulted first (applyDefaults),
// as the apiserver defaults before it validates.
import type { ResourceType } from '../k8s/kinds.js';
import { apiVersionOf, parseApiVersion } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import type { FieldCause } from '../k8s/status.js';
import { notSupported } from './schemas/causes.js';
import { collectUnknownFields } from './schemas/field-shape.js';
import { validateIngressClassSpec, validateIngressSpec } from './schemas/ingress.js';
import { kindSchema } from './schemas/kind-schemas.js';
import {
  type NameRule,
  POD_RESTART_POLICIES,
  validateObjectMeta,
  validatePodSpec,
  validateServiceSpec,
  validateWorkloadSpec,
} from './schemas/semantic.js';
import { RBAC_GROUP, validateRole, validateRoleBinding } from './schemas/rbac-semantic.js';
import { validateDaemonSetSpec, validateJobSpec, validateStatefulSetSpec } from './schemas/workload-semantic.js';
import { validateUpdate } from './update-rules.js';

export interface ValidateOptions {
  /** fieldValidation=Strict: fields the schema does not declare are errors. */
  strict: boolean;
  /** On update: the stored object, for the fields an update may not change. */
  oldObject?: KubeObject;
}

function nameRuleOf(type: ResourceType): NameRule {
  if (type.group === '' && type.kind === 'Namespace') return 'dns1123Label';
  if (type.group === '' && type.kind === 'Service') return 'dns1035Label';
  if (type.group === RBAC_GROUP) return 'pathSegment';
  return 'dns1123Subdomain';
}

function kindSemantics(type: ResourceType, obj: KubeObject, out: FieldCause[]): void {
  const key = `${type.group}/${type.kind}`;
  switch (key) {
    case '/Pod':
      validatePodSpec(obj.spec, 'spec', POD_RESTART_POLICIES, out);
      return;
    case 'apps/Deployment':
      validateWorkloadSpec(obj, 'Deployment', out);
      return;
    case 'apps/ReplicaSet':
      validateWorkloadSpec(obj, 'ReplicaSet', out);
      return;
    case 'apps/StatefulSet':
      validateStatefulSetSpec(obj, out);
      return;
    case 'apps/DaemonSet':
      validateDaemonSetSpec(obj, out);
      return;
    case 'batch/Job':
      validateJobSpec(obj, out);
      return;
    case `${RBAC_GROUP}/Role`:
    case `${RBAC_GROUP}/ClusterRole`:
      validateRole(obj, type.namespaced, out);
      return;
    case `${RBAC_GROUP}/RoleBinding`:
    case `${RBAC_GROUP}/ClusterRoleBinding`:
      validateRoleBinding(obj, type.namespaced, out);
      return;
    case '/Service':
      validateServiceSpec(obj.spec, 'spec', out);
      return;
    case 'networking.k8s.io/Ingress':
      validateIngressSpec(obj.spec, out);
      return;
    case 'networking.k8s.io/IngressClass':
      validateIngressClassSpec(obj.spec, out);
      return;
    case 'networking.gke.io/MultiClusterService': {
      const spec = obj.spec;
      const template = spec !== null && typeof spec === 'object' && 'template' in spec ? spec.template : undefined;
      const templateSpec = template !== null && typeof template === 'object' && 'spec' in template ? template.spec : undefined;
      if (templateSpec !== undefined) validateServiceSpec(templateSpec, 'spec.template.spec', out);
      return;
    }
    default:
      return;
  }
}

/** All problems of `obj` as an object of `type`, in apiserver form; [] when it is valid. */
export function validateObject(type: ResourceType, obj: KubeObject, opts: ValidateOptions): FieldCause[] {
  const { group, version } = parseApiVersion(obj.apiVersion);
  if (group !== type.group || !type.versions.includes(version)) {
    return [notSupported('apiVersion', obj.apiVersion, type.versions.map((v) => apiVersionOf(type.group, v)))];
  }
  if (obj.kind !== type.kind) return [notSupported('kind', obj.kind, [type.kind])];
  const schema = kindSchema(obj.apiVersion, obj.kind);
  // The resource table and the schema table must agree; a served kind without a schema is a bug.
  if (!schema) throw new Error(`not implemented: no schema for ${obj.apiVersion} ${obj.kind}`);
  const causes: FieldCause[] = [];
  if (opts.strict) collectUnknownFields(obj, schema.shape(), '', causes);
  causes.push(...schema.check(obj));
  validateObjectMeta(obj, nameRuleOf(type), type.namespaced, causes);
  kindSemantics(type, obj, causes);
  if (opts.oldObject) causes.push(...validateUpdate(type, opts.oldObject, obj));
  return withoutRepeats(causes);
}

/**
 * The schema and the semantic rules both require some fields (spec.selector): report each once. Where
 * the semantic rule says more ("Required value: pathType must be specified"), its words are kept.
 */
function withoutRepeats(causes: FieldCause[]): FieldCause[] {
  const seen = new Set<string>();
  const detailedRequired = new Set(causes.filter((c) => c.reason === 'FieldValueRequired' && c.message !== 'Required value').map((c) => c.field));
  return causes.filter((c) => {
    if (c.reason === 'FieldValueRequired' && c.message === 'Required value' && detailedRequired.has(c.field)) return false;
    const key = `${c.field}\u0000${c.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
