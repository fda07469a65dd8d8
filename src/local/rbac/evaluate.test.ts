import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../k8s/object.js';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from './bootstrap-policy.js';
import { authorize, forbiddenMessage, rulesFor, type RbacPolicy, type RequestAttributes } from '../../k8s/rbac/evaluate.js';
import { serviceAccountGroups, type UserInfo } from '../../k8s/rbac/user.js';

const sa = (ns: string, name: string): UserInfo => ({ username: `system:serviceaccount:${ns}:${name}`, groups: serviceAccountGroups(ns) });
const ADMIN: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
const JANE: UserInfo = { username: 'jane', groups: ['dev', 'system:authenticated'] };
const APP = sa('sample', 'default');
const ISTIOD = sa('istio-system', 'istiod');

const role = (name: string, namespace: string, rules: unknown[]): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules } as KubeObject);
const clusterRole = (name: string, rules: unknown[], extra: Partial<KubeObject> = {}): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules, ...extra } as KubeObject);
const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, namespace: string | undefined, roleRef: { kind: string; name: string }, subjects: unknown[]): KubeObject =>
  ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef }, subjects } as KubeObject);

const CLUSTER_ROLES = [
  ...bootstrapClusterRoles(),
  clusterRole('secret-reader', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['remote'] }]),
  clusterRole('status-writer', [{ apiGroups: ['networking.istio.io'], resources: ['*/status'], verbs: ['update'] }]),
  clusterRole('healthz', [{ nonResourceURLs: ['/debug/*'], verbs: ['get'] }]),
  clusterRole('aggregated', [], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'example.com/agg': 'true' } }] } }),
  { ...clusterRole('piece', [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['list'] }]), metadata: { name: 'piece', labels: { 'example.com/agg': 'true' } } },
];
const CLUSTER_BINDINGS = [
  ...bootstrapClusterRoleBindings(),
  binding('ClusterRoleBinding', 'istiod', undefined, { kind: 'ClusterRole', name: 'status-writer' }, [{ kind: 'ServiceAccount', name: 'istiod', namespace: 'istio-system' }]),
  binding('ClusterRoleBinding', 'dev-debug', undefined, { kind: 'ClusterRole', name: 'healthz' }, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'dev' }]),
  binding('ClusterRoleBinding', 'jane-agg', undefined, { kind: 'ClusterRole', name: 'aggregated' }, [{ kind: 'User', name: 'jane' }]),
];
const NAMESPACED: Record<string, { roles: KubeObject[]; roleBindings: KubeObject[] }> = {
  'istio-system': {
    roles: [role('istiod', 'istio-system', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }])],
    roleBindings: [
      binding('RoleBinding', 'istiod', 'istio-system', { kind: 'Role', name: 'istiod' }, [{ kind: 'ServiceAccount', name: 'istiod' }]),
      binding('RoleBinding', 'jane-remote', 'istio-system', { kind: 'ClusterRole', name: 'secret-reader' }, [{ kind: 'User', name: 'jane' }]),
    ],
  },
  sample: {
    roles: [],
    roleBindings: [
      binding('RoleBinding', 'jane-edit', 'sample', { kind: 'ClusterRole', name: 'edit' }, [{ kind: 'User', name: 'jane' }]),
      binding('RoleBinding', 'broken', 'sample', { kind: 'Role', name: 'missing' }, [{ kind: 'Group', name: 'system:serviceaccounts:sample' }]),
    ],
  },
};

function policy(namespace: string | undefined): RbacPolicy {
  const ns = namespace ? NAMESPACED[namespace] : undefined;
  return { clusterRoles: CLUSTER_ROLES, clusterRoleBindings: CLUSTER_BINDINGS, roles: ns?.roles ?? [], roleBindings: ns?.roleBindings ?? [] };
}

const res = (verb: string, resource: string, opts: { group?: string; sub?: string; ns?: string; name?: string } = {}): RequestAttributes => ({
  resourceRequest: true,
  verb,
  apiGroup: opts.group ?? '',
  resource,
  ...(opts.sub ? { subresource: opts.sub } : {}),
  ...(opts.ns ? { namespace: opts.ns } : {}),
  ...(opts.name ? { name: opts.name } : {}),
});
const path = (verb: string, p: string): RequestAttributes => ({ resourceRequest: false, verb, path: p });

describe('RBAC evaluation', () => {
  const cases: Array<[string, UserInfo, RequestAttributes, boolean]> = [
    ['system:masters may do anything', ADMIN, res('delete', 'nodes', { name: 'n' }), true],
    ['every authenticated user may discover the API', APP, path('get', '/apis/apps/v1'), true],
    ['and read /version', APP, path('get', '/version'), true],
    ['but not any other path', APP, path('get', '/metrics'), false],
    ['and may ask what it may do', APP, res('create', 'selfsubjectaccessreviews', { group: 'authorization.k8s.io' }), true],
    ['an app may not read Secrets in istio-system', APP, res('get', 'secrets', { ns: 'istio-system', name: 'istio-remote-secret-cluster-2' }), false],
    ['nor exec into pods', APP, res('create', 'pods', { sub: 'exec', ns: 'sample', name: 'x' }), false],
    ['nor list pods of its own namespace', APP, res('list', 'pods', { ns: 'sample' }), false],
    ['a RoleBinding\'s Role: istiod reads Secrets in istio-system', ISTIOD, res('list', 'secrets', { ns: 'istio-system' }), true],
    ['a ServiceAccount subject without namespace is the binding\'s namespace', ISTIOD, res('watch', 'secrets', { ns: 'istio-system' }), true],
    ['a Role grants nothing outside its namespace', ISTIOD, res('list', 'secrets', { ns: 'sample' }), false],
    ['nor cluster-wide', ISTIOD, res('list', 'secrets'), false],
    ['*/status matches any resource\'s status', ISTIOD, res('update', 'virtualservices', { group: 'networking.istio.io', sub: 'status', ns: 'sample', name: 'vs' }), true],
    ['but not the resource itself', ISTIOD, res('update', 'virtualservices', { group: 'networking.istio.io', ns: 'sample', name: 'vs' }), false],
    ['nor the status of another API group', ISTIOD, res('update', 'ingresses', { group: 'networking.k8s.io', sub: 'status', ns: 'sample', name: 'i' }), false],
    ['resourceNames: only the named object', JANE, res('get', 'secrets', { ns: 'istio-system', name: 'remote' }), true],
    ['resourceNames: not another', JANE, res('get', 'secrets', { ns: 'istio-system', name: 'other' }), false],
    ['resourceNames: not a list', JANE, res('list', 'secrets', { ns: 'istio-system' }), false],
    ['a ClusterRole bound by a RoleBinding applies in that namespace: edit may exec', JANE, res('create', 'pods', { sub: 'exec', ns: 'sample', name: 'x' }), true],
    ['edit may read logs (aggregated from view)', JANE, res('get', 'pods', { sub: 'log', ns: 'sample', name: 'x' }), true],
    ['edit may not write roles (admin may)', JANE, res('create', 'roles', { group: 'rbac.authorization.k8s.io', ns: 'sample' }), false],
    ['but only there', JANE, res('create', 'pods', { sub: 'exec', ns: 'default', name: 'x' }), false],
    ['a Group subject', JANE, path('get', '/debug/pprof'), true],
    ['nonResourceURLs prefix needs the prefix', JANE, path('get', '/debugx'), false],
    ['aggregationRule collects the labelled roles\' rules', JANE, res('list', 'deployments', { group: 'apps', ns: 'default' }), true],
    ['kube-proxy\'s account is a node proxier', sa('kube-system', 'kube-proxy'), res('watch', 'endpointslices', { group: 'discovery.k8s.io' }), true],
    ['which does not read Secrets', sa('kube-system', 'kube-proxy'), res('list', 'secrets'), false],
  ];
  for (const [name, user, attrs, allowed] of cases) {
    it(name, () => assert.equal(authorize(user, attrs, policy(attrs.resourceRequest ? attrs.namespace : undefined)).allowed, allowed));
  }

  it('says which binding allowed, and which role reference could not be resolved', () => {
    assert.equal(authorize(ISTIOD, res('list', 'secrets', { ns: 'istio-system' }), policy('istio-system')).reason, 'RBAC: allowed by RoleBinding "istiod/istio-system" of Role "istiod" to ServiceAccount "/istiod"');
    assert.deepEqual(authorize(APP, res('list', 'pods', { ns: 'sample' }), policy('sample')), { allowed: false, reason: 'RBAC: role.rbac.authorization.k8s.io "missing" not found' });
  });

  it('words a denial as kube-apiserver does', () => {
    assert.equal(forbiddenMessage(APP, res('create', 'pods', { sub: 'exec', ns: 'sample', name: 'x' })), 'User "system:serviceaccount:sample:default" cannot create resource "pods/exec" in API group "" in the namespace "sample"');
    assert.equal(forbiddenMessage(APP, res('list', 'clusterroles', { group: 'rbac.authorization.k8s.io' })), 'User "system:serviceaccount:sample:default" cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope');
    assert.equal(forbiddenMessage(APP, path('get', '/metrics')), 'User "system:serviceaccount:sample:default" cannot get path "/metrics"');
  });

  it('lists the rules that apply in a namespace (SelfSubjectRulesReview)', () => {
    const { rules, errors } = rulesFor(ISTIOD, policy('istio-system'));
    assert.deepEqual(errors, []);
    assert.ok(rules.some((r) => r.resources?.includes('secrets') && r.verbs.includes('list')));
    assert.ok(rules.some((r) => r.nonResourceURLs?.includes('/api')));
    assert.ok(!rulesFor(ISTIOD, policy('sample')).rules.some((r) => r.resources?.includes('secrets')));
  });
});
