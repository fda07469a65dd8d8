// The RBAC authorizer, pure: given what a request wants to do, who asks, and the cluster's Roles,
// ClusterRoles and their bindings, allowed or not, with kube-apiserver's matching rules:
// - ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant their Role (of the
//   binding's namespace) or ClusterRole in the binding's namespace only.
// - Subjects: User (the user name), Group (one of the user's groups), ServiceAccount (namespace
//   defaults to the binding's) as `system:serviceaccount:<ns>:<name>`.
// - A rule matches on verbs (`*`), apiGroups (`*`), resources (`*`, `res/sub`, `*/sub`),
//   resourceNames (empty = all), or nonResourceURLs (`*`, exact, a `prefix*`).
// - A ClusterRole with an aggregationRule has the rules of every ClusterRole its selectors match (the
//   aggregation controller's job, done at evaluation).
// The group system:masters is allowed everything before RBAC is asked (kube-apiserver's privileged
// groups authorizer).
import type { KubeObject } from '../../k8s/object.js';
import { matchLabelSelector, type LabelSelector } from '../../k8s/selectors.js';
import { MASTERS_GROUP, type UserInfo } from './user.js';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export type RequestAttributes =
  | { resourceRequest: true; verb: string; apiGroup: string; resource: string; subresource?: string; namespace?: string; name?: string }
  | { resourceRequest: false; verb: string; path: string };

/** The RBAC objects that can apply to a request: every cluster-scoped one, the namespaced ones of its namespace. */
export interface RbacPolicy {
  clusterRoles: readonly KubeObject[];
  clusterRoleBindings: readonly KubeObject[];
  /** Roles and RoleBindings of the request's namespace (none for cluster-scoped requests). */
  roles: readonly KubeObject[];
  roleBindings: readonly KubeObject[];
}

export interface Decision {
  allowed: boolean;
  /** Allowed: which binding allowed it; denied: problems found resolving bindings (`RBAC: ...`), or ''. */
  reason: string;
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

interface RoleRef {
  kind?: string;
  name?: string;
}

function rulesOf(obj: KubeObject | undefined): PolicyRule[] {
  const rules = obj?.rules;
  return Array.isArray(rules) ? (rules as PolicyRule[]) : [];
}

function subjectsOf(binding: KubeObject): Subject[] {
  return Array.isArray(binding.subjects) ? (binding.subjects as Subject[]) : [];
}

export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return subject.name !== undefined && user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      return ns !== undefined && user.username === `system:serviceaccount:${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

function includesOrStar(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === '*' || v === value);
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some((r) => r === '*' || r === combined || (subresource !== undefined && r === `*/${subresource}`));
}

function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!includesOrStar(rule.verbs, attrs.verb)) return false;
  if (!attrs.resourceRequest) return nonResourceUrlMatches(rule, attrs.path);
  if ((rule.nonResourceURLs ?? []).length > 0 && (rule.resources ?? []).length === 0) return false;
  if (!includesOrStar(rule.apiGroups, attrs.apiGroup)) return false;
  if (!resourceMatches(rule, attrs.resource, attrs.subresource)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (attrs.name !== undefined && names.includes(attrs.name));
}

/**
 * A ClusterRole's rules. With an aggregationRule they are those of the ClusterRoles its selectors
 * match, now (the aggregation controller overwrites the stored rules with that union).
 */
export function clusterRoleRules(role: KubeObject, all: readonly KubeObject[]): PolicyRule[] {
  const aggregation = role.aggregationRule as { clusterRoleSelectors?: LabelSelector[] } | undefined;
  const selectors = aggregation?.clusterRoleSelectors ?? [];
  if (selectors.length === 0) return rulesOf(role);
  return all.filter((r) => r !== role && selectors.some((s) => matchLabelSelector(s, r.metadata.labels ?? {}))).flatMap(rulesOf);
}

interface Grant {
  describe: string;
  rules: PolicyRule[];
}

/** Every grant that applies to the user in this policy; unresolvable role references as errors. */
function grantsFor(user: UserInfo, policy: RbacPolicy): { grants: Grant[]; errors: string[] } {
  const grants: Grant[] = [];
  const errors: string[] = [];
  const clusterRole = (name: string | undefined) => policy.clusterRoles.find((r) => r.metadata.name === name);
  const resolve = (ref: RoleRef, namespace: string | undefined): PolicyRule[] | undefined => {
    if (ref.kind === 'ClusterRole') {
      const role = clusterRole(ref.name);
      if (!role) errors.push(`clusterrole.rbac.authorization.k8s.io "${ref.name}" not found`);
      return role ? clusterRoleRules(role, policy.clusterRoles) : undefined;
    }
    const role = policy.roles.find((r) => r.metadata.name === ref.name && r.metadata.namespace === namespace);
    if (!role) errors.push(`role.rbac.authorization.k8s.io "${ref.name}" not found`);
    return role ? rulesOf(role) : undefined;
  };
  const subjectName = (s: Subject): string => `${s.kind} "${s.kind === 'ServiceAccount' ? `${s.namespace ?? ''}/` : ''}${s.name}"`;
  for (const binding of policy.clusterRoleBindings) {
    const subject = subjectsOf(binding).find((s) => subjectMatches(s, user, undefined));
    if (!subject) continue;
    const ref = (binding.roleRef ?? {}) as RoleRef;
    const rules = resolve({ kind: 'ClusterRole', name: ref.name }, undefined);
    if (rules) grants.push({ rules, describe: `ClusterRoleBinding "${binding.metadata.name}" of ClusterRole "${ref.name}" to ${subjectName(subject)}` });
  }
  for (const binding of policy.roleBindings) {
    const ns = binding.metadata.namespace;
    const subject = subjectsOf(binding).find((s) => subjectMatches(s, user, ns));
    if (!subject) continue;
    const ref = (binding.roleRef ?? {}) as RoleRef;
    const rules = resolve(ref, ns);
    if (rules) grants.push({ rules, describe: `RoleBinding "${binding.metadata.name}/${ns}" of ${ref.kind} "${ref.name}" to ${subjectName(subject)}` });
  }
  return { grants, errors };
}

export function authorize(user: UserInfo, attrs: RequestAttributes, policy: RbacPolicy): Decision {
  if (user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: `the user is in group ${MASTERS_GROUP}, which is allowed every request` };
  const { grants, errors } = grantsFor(user, policy);
  for (const g of grants) if (g.rules.some((r) => ruleAllows(r, attrs))) return { allowed: true, reason: `RBAC: allowed by ${g.describe}` };
  return { allowed: false, reason: errors.length > 0 ? `RBAC: ${errors.join(', ')}` : '' };
}

/** The rules that apply to the user in a namespace (SelfSubjectRulesReview), with resolution errors. */
export function rulesFor(user: UserInfo, policy: RbacPolicy): { rules: PolicyRule[]; errors: string[] } {
  if (user.groups.includes(MASTERS_GROUP)) {
    return { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }], errors: [] };
  }
  const { grants, errors } = grantsFor(user, policy);
  return { rules: grants.flatMap((g) => g.rules), errors };
}

/** kube-apiserver's text after "is forbidden: ". */
export function forbiddenMessage(user: UserInfo, attrs: RequestAttributes): string {
  if (!attrs.resourceRequest) return `User "${user.username}" cannot ${attrs.verb} path "${attrs.path}"`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const scope = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
  return `User "${user.username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${scope}`;
}
