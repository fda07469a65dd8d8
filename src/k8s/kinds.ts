// The resource types the mesh knows: one table that discovery, OpenAPI, storage, validation and the
// CLI all read, so a new kind is added in one place.

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  /** Served versions, the storage (preferred) version first. */
  versions: string[];
  kind: string;
  listKind: string;
  /** Lower-case plural, the URL segment: 'virtualservices'. */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: Verb[];
  /** Subresources served under the object's path. */
  subresources: Array<'status' | 'log' | 'exec' | 'portforward' | 'scale' | 'token'>;
}

const ALL_VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function type(
  group: string,
  versions: string[],
  kind: string,
  plural: string,
  opts: Partial<Pick<ResourceType, 'namespaced' | 'shortNames' | 'categories' | 'verbs' | 'subresources'>> = {},
): ResourceType {
  return {
    group,
    versions,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    verbs: opts.verbs ?? ALL_VERBS,
    subresources: opts.subresources ?? [],
  };
}

const ISTIO_NETWORKING = ['v1', 'v1beta1', 'v1alpha3'];
const ISTIO_SECURITY = ['v1', 'v1beta1'];

export const RESOURCE_TYPES: readonly ResourceType[] = [
  type('', ['v1'], 'Namespace', 'namespaces', { namespaced: false, shortNames: ['ns'], subresources: ['status'] }),
  type('', ['v1'], 'Service', 'services', { shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  type('', ['v1'], 'Pod', 'pods', { shortNames: ['po'], categories: ['all'], subresources: ['status', 'log', 'exec', 'portforward'] }),
  type('', ['v1'], 'ServiceAccount', 'serviceaccounts', { shortNames: ['sa'], subresources: ['token'] }),
  type('', ['v1'], 'Secret', 'secrets'),
  type('', ['v1'], 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  type('', ['v1'], 'Event', 'events', { shortNames: ['ev'] }),
  // Registered by the cluster itself (one node per local cluster): users label or cordon it, never create it.
  type('', ['v1'], 'Node', 'nodes', { namespaced: false, shortNames: ['no'], verbs: ['get', 'list', 'watch', 'patch', 'update'], subresources: ['status'] }),
  // A read-only mirror of the EndpointSlices of each Service, kept by the endpoints controller.
  type('', ['v1'], 'Endpoints', 'endpoints', { shortNames: ['ep'], verbs: ['get', 'list', 'watch'] }),
  type('apps', ['v1'], 'Deployment', 'deployments', { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  type('apps', ['v1'], 'ReplicaSet', 'replicasets', { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  type('apps', ['v1'], 'StatefulSet', 'statefulsets', { shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] }),
  type('apps', ['v1'], 'DaemonSet', 'daemonsets', { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  // The template history of StatefulSets and DaemonSets (`kubectl rollout history`), written by their controllers.
  type('apps', ['v1'], 'ControllerRevision', 'controllerrevisions'),
  type('batch', ['v1'], 'Job', 'jobs', { categories: ['all'], subresources: ['status'] }),
  type('discovery.k8s.io', ['v1'], 'EndpointSlice', 'endpointslices'),
  // Served for the mesh's control plane, which translates the Ingresses of Istio's class (src/ingress/).
  type('networking.k8s.io', ['v1'], 'Ingress', 'ingresses', { shortNames: ['ing'], subresources: ['status'] }),
  type('networking.k8s.io', ['v1'], 'IngressClass', 'ingressclasses', { namespaced: false }),
  // The custom kinds this server serves, described (read-only: the set is fixed by this table).
  type('apiextensions.k8s.io', ['v1'], 'CustomResourceDefinition', 'customresourcedefinitions', { namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], verbs: ['get', 'list', 'watch'] }),
  // Evaluated by the API server (k8s/rbac/evaluate.ts) for every identity but system:masters.
  type('rbac.authorization.k8s.io', ['v1'], 'ClusterRole', 'clusterroles', { namespaced: false }),
  type('rbac.authorization.k8s.io', ['v1'], 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  type('rbac.authorization.k8s.io', ['v1'], 'Role', 'roles'),
  type('rbac.authorization.k8s.io', ['v1'], 'RoleBinding', 'rolebindings'),
  // Reviews are answered, never stored (apiserver/reviews.ts).
  type('authorization.k8s.io', ['v1'], 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', { namespaced: false, verbs: ['create'] }),
  type('authorization.k8s.io', ['v1'], 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', { namespaced: false, verbs: ['create'] }),
  type('authentication.k8s.io', ['v1'], 'SelfSubjectReview', 'selfsubjectreviews', { namespaced: false, verbs: ['create'] }),
  type('authentication.k8s.io', ['v1'], 'TokenReview', 'tokenreviews', { namespaced: false, verbs: ['create'] }),
  type('authorization.k8s.io', ['v1'], 'SubjectAccessReview', 'subjectaccessreviews', { namespaced: false, verbs: ['create'] }),
  type('admissionregistration.k8s.io', ['v1'], 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', { namespaced: false, categories: ['api-extensions'] }),
  type('admissionregistration.k8s.io', ['v1'], 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', { namespaced: false, categories: ['api-extensions'] }),
  type('networking.istio.io', ISTIO_NETWORKING, 'VirtualService', 'virtualservices', { shortNames: ['vs'], categories: ['istio-io', 'networking-istio-io'], subresources: ['status'] }),
  type('networking.istio.io', ISTIO_NETWORKING, 'DestinationRule', 'destinationrules', { shortNames: ['dr'], categories: ['istio-io', 'networking-istio-io'], subresources: ['status'] }),
  type('networking.istio.io', ISTIO_NETWORKING, 'Gateway', 'gateways', { shortNames: ['gw'], categories: ['istio-io', 'networking-istio-io'], subresources: ['status'] }),
  type('networking.istio.io', ISTIO_NETWORKING, 'ServiceEntry', 'serviceentries', { shortNames: ['se'], categories: ['istio-io', 'networking-istio-io'], subresources: ['status'] }),
  type('networking.istio.io', ISTIO_NETWORKING, 'Sidecar', 'sidecars', { categories: ['istio-io', 'networking-istio-io'], subresources: ['status'] }),
  type('security.istio.io', ISTIO_SECURITY, 'PeerAuthentication', 'peerauthentications', { shortNames: ['pa'], categories: ['istio-io', 'security-istio-io'], subresources: ['status'] }),
  type('security.istio.io', ISTIO_SECURITY, 'AuthorizationPolicy', 'authorizationpolicies', { shortNames: ['ap'], categories: ['istio-io', 'security-istio-io'], subresources: ['status'] }),
  type('networking.gke.io', ['v1'], 'MultiClusterService', 'multiclusterservices', { shortNames: ['mcs'], subresources: ['status'] }),
  type('networking.gke.io', ['v1beta1'], 'MultiClusterIngress', 'multiclusteringresses', { shortNames: ['mci'], subresources: ['status'] }),
  type('cloud.google.com', ['v1'], 'BackendConfig', 'backendconfigs', { shortNames: ['bc'] }),
  // Driven by `meshwork canary controller` (src/canary/).
  type('rollouts.meshwork.io', ['v1alpha1'], 'Canary', 'canaries', { shortNames: ['canary'], subresources: ['status'] }),
];

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Splits 'apps/v1' into ['apps', 'v1'] and 'v1' into ['', 'v1']. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function findByPlural(group: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.plural === plural);
}

export function findByKind(group: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.kind === kind);
}

export function findByApiVersionKind(apiVersion: string, kind: string): ResourceType | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  const t = findByKind(group, kind);
  return t && t.versions.includes(version) ? t : undefined;
}

/** 'virtualservices.networking.istio.io', 'pods' — the name used in apiserver messages. */
export function qualifiedResource(t: ResourceType): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

/** The key objects of this type are stored under: independent of the served version. */
export function storageKey(t: ResourceType): string {
  return t.group ? `${t.group}/${t.plural}` : t.plural;
}

/** Groups Kubernetes itself serves: everything else in the table is a custom kind (a CRD on a real cluster). */
const BUILTIN_GROUPS = new Set(['', 'apps', 'batch', 'discovery.k8s.io', 'networking.k8s.io', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io', 'rbac.authorization.k8s.io']);

export function customResourceTypes(): ResourceType[] {
  return RESOURCE_TYPES.filter((t) => !BUILTIN_GROUPS.has(t.group));
}
