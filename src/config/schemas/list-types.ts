// How server-side apply sees the built-in Kubernetes types, beyond their field names: which lists merge
// as maps (and on which keys), which as sets, which structs and maps are replaced whole, and which
// struct fields Go always serializes. The Kubernetes OpenAPI carries this as `x-kubernetes-list-type`,
// `x-kubernetes-list-map-keys`, `x-kubernetes-map-type` and `default: {}`; the client-node models we
// read field names from do not, so the facts for the types our built-in kinds reach are listed here,
// keyed by the client-node model name. Every list not named here is atomic, as in Kubernetes.
import type { ListType } from './field-shape.js';

const byName = (name: string): ListType => ({ type: 'map', keys: [name] });
/** Ports are TCP unless they say otherwise. */
const ports = (port: string): ListType => ({ type: 'map', keys: [port, 'protocol'], keyDefaults: { protocol: 'TCP' } });
const SET: ListType = { type: 'set' };

const LIST_TYPES: Readonly<Record<string, Readonly<Record<string, ListType>>>> = {
  V1ObjectMeta: { ownerReferences: byName('uid'), finalizers: SET },
  V1PodSpec: {
    containers: byName('name'),
    initContainers: byName('name'),
    ephemeralContainers: byName('name'),
    volumes: byName('name'),
    imagePullSecrets: byName('name'),
    hostAliases: byName('ip'),
    resourceClaims: byName('name'),
    schedulingGates: byName('name'),
    topologySpreadConstraints: { type: 'map', keys: ['topologyKey', 'whenUnsatisfiable'] },
  },
  V1Container: { env: byName('name'), ports: ports('containerPort'), volumeMounts: byName('mountPath'), volumeDevices: byName('devicePath') },
  V1EphemeralContainer: { env: byName('name'), ports: ports('containerPort'), volumeMounts: byName('mountPath'), volumeDevices: byName('devicePath') },
  V1ResourceRequirements: { claims: byName('name') },
  V1ContainerStatus: { volumeMounts: byName('mountPath'), allocatedResourcesStatus: byName('name') },
  V1ResourceStatus: { resources: byName('resourceID') },
  V1PodStatus: { conditions: byName('type'), podIPs: byName('ip'), resourceClaimStatuses: byName('name') },
  V1ServiceSpec: { ports: ports('port') },
  V1ServiceStatus: { conditions: byName('type') },
  V1ServiceAccount: { secrets: byName('name') },
  V1DeploymentStatus: { conditions: byName('type') },
  V1ReplicaSetStatus: { conditions: byName('type') },
  V1NamespaceStatus: { conditions: byName('type') },
  V1NodeSpec: { podCIDRs: SET },
  V1NodeStatus: { addresses: byName('type'), conditions: byName('type') },
  V1Endpoint: { addresses: SET },
  V1VolumeMount: { bindMountOptions: SET },
  V1MutatingWebhookConfiguration: { webhooks: byName('name') },
  V1ValidatingWebhookConfiguration: { webhooks: byName('name') },
  V1MutatingWebhook: { matchConditions: byName('name') },
  V1ValidatingWebhook: { matchConditions: byName('name') },
};

/** Structs replaced as a whole (`+structType=atomic`): a label selector is one value, not a set of fields. */
const ATOMIC_TYPES: ReadonlySet<string> = new Set([
  'V1LabelSelector',
  'V1OwnerReference',
  'V1ObjectReference',
  'V1LocalObjectReference',
  'V1TypedLocalObjectReference',
  'V1NodeSelector',
  'V1NodeSelectorTerm',
  'V1ConfigMapKeySelector',
  'V1SecretKeySelector',
  'V1ObjectFieldSelector',
  'V1ResourceFieldSelector',
  'V1FileKeySelector',
  'V1EndpointAddress',
  'CoreV1EndpointPort',
  'DiscoveryV1EndpointPort',
]);

/** Maps that are one value (`+mapType=atomic`), by owning type and field. */
const ATOMIC_MAP_FIELDS: Readonly<Record<string, readonly string[]>> = {
  V1PodSpec: ['nodeSelector'],
  V1ServiceSpec: ['selector'],
};

/**
 * Fields Go serializes even when unset: non-pointer structs (`{}`) and the few lists without
 * omitempty (`null`). An object created from nothing already has them, so a write that fills them
 * does not own the struct itself, only what it put inside (`f:spec` without `.`).
 */
const ALWAYS_SERIALIZED: Readonly<Record<string, readonly string[]>> = {
  V1Deployment: ['metadata', 'spec', 'status'],
  V1DeploymentSpec: ['strategy', 'template'],
  V1ReplicaSet: ['metadata', 'spec', 'status'],
  V1ReplicaSetSpec: ['template'],
  V1PodTemplateSpec: ['metadata', 'spec'],
  V1Pod: ['metadata', 'spec', 'status'],
  V1PodSpec: ['containers'],
  V1Container: ['resources'],
  V1EphemeralContainer: ['resources'],
  V1ContainerStatus: ['state', 'lastState'],
  V1Service: ['metadata', 'spec', 'status'],
  V1ServiceStatus: ['loadBalancer'],
  V1Namespace: ['metadata', 'spec', 'status'],
  V1Node: ['metadata', 'spec', 'status'],
  V1NodeStatus: ['daemonEndpoints', 'nodeInfo'],
  V1NodeDaemonEndpoints: ['kubeletEndpoint'],
  V1ConfigMap: ['metadata'],
  V1Secret: ['metadata'],
  V1ServiceAccount: ['metadata'],
  V1Endpoints: ['metadata'],
  V1EndpointSlice: ['metadata', 'endpoints'],
  V1Endpoint: ['conditions'],
  CoreV1Event: ['metadata', 'involvedObject', 'source'],
  V1MutatingWebhookConfiguration: ['metadata'],
  V1ValidatingWebhookConfiguration: ['metadata'],
  V1MutatingWebhook: ['clientConfig'],
  V1ValidatingWebhook: ['clientConfig'],
  V1PreferredSchedulingTerm: ['preference'],
  V1WeightedPodAffinityTerm: ['podAffinityTerm'],
};

/** How the list `field` of the built-in type `typeName` merges; undefined = atomic. */
export function builtInListType(typeName: string, field: string): ListType | undefined {
  return LIST_TYPES[typeName]?.[field];
}

export function isAtomicType(typeName: string): boolean {
  return ATOMIC_TYPES.has(typeName);
}

export function isAtomicMapField(typeName: string, field: string): boolean {
  return ATOMIC_MAP_FIELDS[typeName]?.includes(field) ?? false;
}

export function alwaysSerializedFields(typeName: string): readonly string[] {
  return ALWAYS_SERIALIZED[typeName] ?? [];
}
