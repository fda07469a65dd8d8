// The ClusterRoles and ClusterRoleBindings kube-apiserver creates at start (its bootstrap policy,
// reconciled at every start: annotation rbac.authorization.kubernetes.io/autoupdate), the subset a
// local cluster's clients need: cluster-admin for system:masters; system:discovery,
// system:basic-user and system:public-info-viewer for every authenticated user; the user-facing
// admin/edit/view roles, aggregated from system:aggregate-to-*; system:auth-delegator; and
// system:node-proxier for kube-proxy (bound to its service account as kubeadm does).
import { findByKind } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import type { ObjectStore } from '../store/store.js';
import { clusterRoleRules, type PolicyRule } from '../../k8s/rbac/evaluate.js';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const RBAC_API = 'rbac.authorization.k8s.io';

const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

function rule(verbs: string[], apiGroups: string[], resources: string[]): PolicyRule {
  return { verbs, apiGroups, resources };
}

function clusterRole(name: string, rules: PolicyRule[], extra: { labels?: Record<string, string>; aggregateTo?: string } = {}): KubeObject {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS, ...extra.labels }, annotations: { ...AUTOUPDATE } },
    ...(extra.aggregateTo ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`rbac.authorization.k8s.io/aggregate-to-${extra.aggregateTo}`]: 'true' } }] } } : {}),
    rules,
  };
}

type SubjectSpec = { kind: 'Group' | 'User'; name: string } | { kind: 'ServiceAccount'; name: string; namespace: string };

export function clusterRoleBinding(name: string, roleName: string, subjects: SubjectSpec[], bootstrap = true): KubeObject {
  return {
    apiVersion: `${RBAC_API}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, ...(bootstrap ? { labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } } : {}) },
    roleRef: { apiGroup: RBAC_API, kind: 'ClusterRole', name: roleName },
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? { kind: s.kind, name: s.name, namespace: s.namespace } : { apiGroup: RBAC_API, ...s })),
  };
}

const aggregateLabels = (...to: string[]): Record<string, string> => Object.fromEntries(to.map((t) => [`rbac.authorization.k8s.io/aggregate-to-${t}`, 'true']));

function aggregateToView(): KubeObject {
  return clusterRole(
    'system:aggregate-to-view',
    [
      rule(READ, [''], ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps']),
      rule(READ, [''], ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log']),
      rule(READ, [''], ['namespaces']),
      rule(READ, ['discovery.k8s.io'], ['endpointslices']),
      rule(READ, ['apps'], ['controllerrevisions', 'statefulsets', 'statefulsets/scale', 'statefulsets/status', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status']),
      rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
      rule(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
      rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
      rule(READ, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
    ],
    { labels: aggregateLabels('admin', 'edit', 'view') },
  );
}

function aggregateToEdit(): KubeObject {
  return clusterRole(
    'system:aggregate-to-edit',
    [
      rule(['impersonate'], [''], ['serviceaccounts']),
      rule(WRITE, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
      rule(['create'], [''], ['pods/eviction']),
      rule(WRITE, [''], ['replicationcontrollers', 'replicationcontrollers/scale', 'services', 'services/proxy', 'endpoints', 'persistentvolumeclaims', 'configmaps', 'secrets', 'events']),
      rule(WRITE, [''], ['serviceaccounts']),
      rule(WRITE, ['apps'], ['statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'replicasets', 'replicasets/scale']),
      rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
      rule(WRITE, ['batch'], ['cronjobs', 'jobs']),
      rule(WRITE, ['policy'], ['poddisruptionbudgets']),
      rule(WRITE, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
      rule(WRITE, ['coordination.k8s.io'], ['leases']),
      rule(READ, [''], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
    ],
    { labels: aggregateLabels('admin', 'edit') },
  );
}

function aggregateToAdmin(): KubeObject {
  return clusterRole(
    'system:aggregate-to-admin',
    [
      rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
      rule([...READ, ...WRITE], [RBAC_API], ['rolebindings', 'roles']),
    ],
    { labels: aggregateLabels('admin') },
  );
}

export function bootstrapClusterRoles(): KubeObject[] {
  const aggregates = [aggregateToAdmin(), aggregateToEdit(), aggregateToView()];
  // The aggregated roles carry the rules the aggregation controller would write into them.
  const aggregated = (name: string, to: string, labels: Record<string, string> = {}): KubeObject => {
    const role = clusterRole(name, [], { aggregateTo: to, labels });
    return { ...role, rules: clusterRoleRules(role, aggregates) };
  };
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), { verbs: ['*'], nonResourceURLs: ['*'] }]),
    aggregated('admin', 'admin'),
    aggregated('edit', 'edit', aggregateLabels('admin')),
    aggregated('view', 'view', aggregateLabels('edit')),
    ...aggregates,
    clusterRole('system:discovery', [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'] }]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
    ]),
    clusterRole('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }]),
    clusterRole('system:auth-delegator', [rule(['create'], ['authentication.k8s.io'], ['tokenreviews']), rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews'])]),
    clusterRole('system:node-proxier', [
      rule(['list', 'watch'], [''], ['endpoints', 'services']),
      rule(READ, [''], ['nodes']),
      rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ]),
  ];
}

/** The service account kube-proxy runs as (kubeadm's kube-system/kube-proxy). */
export const KUBE_PROXY_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'kube-proxy' };

export function bootstrapClusterRoleBindings(): KubeObject[] {
  const authenticated = { kind: 'Group', name: 'system:authenticated' } as const;
  return [
    clusterRoleBinding('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: 'system:masters' }]),
    clusterRoleBinding('system:discovery', 'system:discovery', [authenticated]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [authenticated]),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [authenticated, { kind: 'Group', name: 'system:unauthenticated' }]),
    clusterRoleBinding('system:node-proxier', 'system:node-proxier', [{ kind: 'User', name: 'system:kube-proxy' }]),
    // kubeadm binds kube-proxy's service account the same way.
    clusterRoleBinding('kubeadm:node-proxier', 'system:node-proxier', [{ kind: 'ServiceAccount', ...KUBE_PROXY_SERVICE_ACCOUNT }], false),
  ];
}

/**
 * Creates the bootstrap policy, and brings back to it every object still annotated autoupdate "true"
 * (kube-apiserver's reconciliation at start); labels a user added are kept.
 */
export function ensureBootstrapPolicy(store: ObjectStore): void {
  const reconcile = (kind: string, desired: KubeObject): void => {
    const t = findByKind(RBAC_API, kind);
    if (!t) throw new Error(`resource table lacks ${RBAC_API}/v1 ${kind}`);
    const current = store.get(t, undefined, desired.metadata.name ?? '');
    if (!current) {
      store.create(t, desired);
      return;
    }
    if (current.metadata.annotations?.['rbac.authorization.kubernetes.io/autoupdate'] !== 'true') return;
    const { metadata: _m, ...content } = desired;
    const { metadata: _c, ...currentContent } = current;
    if (JSON.stringify(content) === JSON.stringify({ ...currentContent, apiVersion: desired.apiVersion, kind: desired.kind })) return;
    store.update(t, { ...current, ...content, metadata: { ...current.metadata, labels: { ...desired.metadata.labels, ...current.metadata.labels } } });
  };
  for (const role of bootstrapClusterRoles()) reconcile('ClusterRole', role);
  for (const binding of bootstrapClusterRoleBindings()) reconcile('ClusterRoleBinding', binding);
}
