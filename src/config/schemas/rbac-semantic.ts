// The apiserver's rules for RBAC objects (pkg/apis/rbac/validation): policy rules, role references and
// subjects, with its field paths and messages.
import type { KubeObject } from '../../k8s/object.js';
import type { FieldCause } from '../../k8s/status.js';
import { invalid, notSupported, required } from './causes.js';
import { indexPath } from './field-path.js';
import { isDns1123Subdomain } from './names.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

type Fields = Record<string, unknown>;

function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}
function count(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

function validatePolicyRule(rule: Fields, namespaced: boolean, path: string, out: FieldCause[]): void {
  if (count(rule.verbs) === 0) out.push(required(`${path}.verbs`, 'verbs must contain at least one value'));
  if (count(rule.nonResourceURLs) > 0) {
    if (namespaced) out.push(invalid(`${path}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
    if (count(rule.apiGroups) > 0 || count(rule.resources) > 0 || count(rule.resourceNames) > 0) {
      out.push(invalid(`${path}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return;
  }
  if (count(rule.apiGroups) === 0) out.push(required(`${path}.apiGroups`, 'resource rules must supply at least one api group'));
  if (count(rule.resources) === 0) out.push(required(`${path}.resources`, 'resource rules must supply at least one resource'));
}

/** Role (namespaced) and ClusterRole rules; an aggregated ClusterRole's rules are the controller's, not checked here. */
export function validateRole(obj: KubeObject, namespaced: boolean, out: FieldCause[]): void {
  const rules = Array.isArray(obj.rules) ? obj.rules : [];
  rules.forEach((raw, i) => {
    const rule = record(raw);
    if (rule) validatePolicyRule(rule, namespaced, indexPath('rules', i), out);
  });
}

function validateSubject(subject: Fields, namespaced: boolean, path: string, out: FieldCause[]): void {
  const name = typeof subject.name === 'string' ? subject.name : '';
  if (!name) out.push(required(`${path}.name`));
  const apiGroup = typeof subject.apiGroup === 'string' ? subject.apiGroup : '';
  switch (subject.kind) {
    case 'ServiceAccount':
      if (name) for (const msg of isDns1123Subdomain(name)) out.push(invalid(`${path}.name`, name, msg));
      if (apiGroup !== '') out.push(notSupported(`${path}.apiGroup`, apiGroup, ['']));
      if (!namespaced && !subject.namespace) out.push(required(`${path}.namespace`));
      return;
    case 'User':
    case 'Group':
      if (apiGroup !== RBAC_GROUP) out.push(notSupported(`${path}.apiGroup`, apiGroup, [RBAC_GROUP]));
      return;
    default:
      out.push(notSupported(`${path}.kind`, subject.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  }
}

/** RoleBinding (may refer to a Role or a ClusterRole) and ClusterRoleBinding (a ClusterRole only). */
export function validateRoleBinding(obj: KubeObject, namespaced: boolean, out: FieldCause[]): void {
  const roleRef = record(obj.roleRef) ?? {};
  if (!roleRef.name) out.push(required('roleRef.name'));
  if (roleRef.apiGroup !== RBAC_GROUP) out.push(notSupported('roleRef.apiGroup', roleRef.apiGroup ?? '', [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (typeof roleRef.kind !== 'string' || !kinds.includes(roleRef.kind)) out.push(notSupported('roleRef.kind', roleRef.kind ?? '', kinds));
  const subjects = Array.isArray(obj.subjects) ? obj.subjects : [];
  subjects.forEach((raw, i) => {
    const subject = record(raw);
    if (subject) validateSubject(subject, namespaced, indexPath('subjects', i), out);
  });
}
