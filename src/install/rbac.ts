// The control plane's identities and rights, as Istio's charts give them, cut to what meshwork's
// control plane reads and writes (least privilege):
// - istiod's ServiceAccount `istiod-<rev>`: ClusterRole `istiod-clusterrole-<rev>-istio-system`
//   (watch Istio config and write its status; Services, EndpointSlices, Pods, Nodes, Namespaces;
//   Secrets, read-only, for gateways' credentialName as Istio's istiod;
//   Ingresses, IngressClasses and Ingress status; TokenReviews for its callers' tokens) and Role
//   `istiod-<rev>` in istio-system (its mesh ConfigMap, the Secrets there: its webhook certificate,
//   the CA's cacerts and the remote secrets). It writes no Secret. Unlike Istio's istiod it does not
//   patch the webhook configurations' caBundle (`meshwork install` writes it), asks no
//   SubjectAccessReview, records no Event and takes no lease, so it has no rights for those.
// - `istio-reader-service-account`: what another cluster's control plane may do here through the
//   remote secret: read-only (Istio's istio-reader-clusterrole), without Istio's cluster-wide Secret
//   read (meshwork never reads a remote cluster's Secrets).
import type { KubeObject } from '../k8s/object.js';
import type { PolicyRule } from '../k8s/rbac/evaluate.js';
import { istiodName } from './names.js';

export const READER_SERVICE_ACCOUNT = 'istio-reader-service-account';
/** The legacy token Secret `istioctl create-remote-secret` creates for the reader. */
export const READER_TOKEN_SECRET = 'istio-reader-service-account-istio-remote-secret-token';

const RBAC_V1 = 'rbac.authorization.k8s.io/v1';
const READ = ['get', 'list', 'watch'];
const ISTIO_GROUPS = ['networking.istio.io', 'security.istio.io'];

export function istiodClusterRoleName(revision: string, namespace: string): string {
  return `istiod-clusterrole-${revision}-${namespace}`;
}

export function readerClusterRoleName(revision: string, namespace: string): string {
  return `istio-reader-clusterrole-${revision}-${namespace}`;
}

export function istiodClusterRules(): PolicyRule[] {
  return [
    { apiGroups: ISTIO_GROUPS, resources: ['*'], verbs: READ },
    { apiGroups: ISTIO_GROUPS, resources: ['*/status'], verbs: ['get', 'update', 'patch'] },
    { apiGroups: [''], resources: ['pods', 'nodes', 'services', 'namespaces'], verbs: READ },
    // Gateways' credentialName certificates live in the gateways' namespaces (Istio's istiod reads Secrets cluster-wide for them).
    { apiGroups: [''], resources: ['secrets'], verbs: READ },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: READ },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['get', 'update', 'patch'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  ];
}

export function istiodNamespaceRules(): PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['configmaps'], verbs: READ },
    { apiGroups: [''], resources: ['secrets'], verbs: READ },
  ];
}

export function readerClusterRules(): PolicyRule[] {
  return [
    { apiGroups: ISTIO_GROUPS, resources: ['*'], verbs: READ },
    { apiGroups: [''], resources: ['endpoints', 'pods', 'services', 'nodes', 'namespaces'], verbs: READ },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: ['apps'], resources: ['replicasets'], verbs: READ },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
  ];
}

function bindingTo(kind: 'ClusterRoleBinding' | 'RoleBinding', name: string, namespace: string, roleKind: 'ClusterRole' | 'Role', serviceAccount: string, labels: Record<string, string>): KubeObject {
  return {
    apiVersion: RBAC_V1,
    kind,
    metadata: { name, ...(kind === 'RoleBinding' ? { namespace } : {}), labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
  };
}

/** ServiceAccounts, roles and bindings of a revision's control plane and of the remote reader. */
export function controlPlaneRbac(revision: string, namespace: string): KubeObject[] {
  const istiod = istiodName(revision);
  const istiodLabels = { app: 'istiod', 'istio.io/rev': revision };
  const readerLabels = { app: 'istio-reader', 'istio.io/rev': revision };
  const clusterRole = istiodClusterRoleName(revision, namespace);
  const readerRole = readerClusterRoleName(revision, namespace);
  return [
    { apiVersion: RBAC_V1, kind: 'ClusterRole', metadata: { name: clusterRole, labels: istiodLabels }, rules: istiodClusterRules() },
    bindingTo('ClusterRoleBinding', clusterRole, namespace, 'ClusterRole', istiod, istiodLabels),
    { apiVersion: RBAC_V1, kind: 'Role', metadata: { name: istiod, namespace, labels: istiodLabels }, rules: istiodNamespaceRules() },
    bindingTo('RoleBinding', istiod, namespace, 'Role', istiod, istiodLabels),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: READER_SERVICE_ACCOUNT, namespace, labels: readerLabels } },
    { apiVersion: RBAC_V1, kind: 'ClusterRole', metadata: { name: readerRole, labels: readerLabels }, rules: readerClusterRules() },
    bindingTo('ClusterRoleBinding', readerRole, namespace, 'ClusterRole', READER_SERVICE_ACCOUNT, readerLabels),
  ];
}
