// The defaults the apiserver fills in when it decodes an object (SetDefaults_* of core/v1, apps/v1,
// batch/v1, rbac/v1, discovery/v1, and the registry's Service IP-family and Namespace status defaults), so that stored
// objects and kubectl output look as on a real cluster. Pure: returns a new object.
import type { ResourceType } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import { RBAC_GROUP } from './schemas/rbac-semantic.js';
import { defaultCanaryObject } from './canary/spec.js';

type Fields = Record<string, unknown>;

function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}

/** Sets `key` when absent and returns the (possibly new) nested object at `key`. */
function ensureObject(parent: Fields, key: string): Fields {
  const existing = record(parent[key]);
  if (existing) return existing;
  const created: Fields = {};
  parent[key] = created;
  return created;
}

function setDefault(target: Fields, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

function eachRecord(value: unknown, fn: (item: Fields) => void): void {
  if (!Array.isArray(value)) return;
  for (const item of value) {
    const r = record(item);
    if (r) fn(r);
  }
}

/** `Always` for `:latest` or an untagged image, `IfNotPresent` for a tag or a digest. */
export function defaultPullPolicy(image: unknown): 'Always' | 'IfNotPresent' {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const tag = colon > lastSlash ? image.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: Fields): void {
  setDefault(container, 'imagePullPolicy', defaultPullPolicy(container.image));
  setDefault(container, 'terminationMessagePath', '/dev/termination-log');
  setDefault(container, 'terminationMessagePolicy', 'File');
  setDefault(container, 'resources', {});
  eachRecord(container.ports, (port) => setDefault(port, 'protocol', 'TCP'));
}

function defaultPodSpec(spec: Fields): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'enableServiceLinks', true);
  eachRecord(spec.initContainers, defaultContainer);
  eachRecord(spec.containers, defaultContainer);
}

function defaultTemplate(spec: Fields): void {
  const template = record(spec.template);
  if (!template) return;
  defaultPodSpec(ensureObject(template, 'spec'));
}

function defaultDeployment(obj: Fields): void {
  const spec = ensureObject(obj, 'spec');
  setDefault(spec, 'replicas', 1);
  const strategy = ensureObject(spec, 'strategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const rolling = ensureObject(strategy, 'rollingUpdate');
    setDefault(rolling, 'maxUnavailable', '25%');
    setDefault(rolling, 'maxSurge', '25%');
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  defaultTemplate(spec);
}

function defaultReplicaSet(obj: Fields): void {
  const spec = ensureObject(obj, 'spec');
  setDefault(spec, 'replicas', 1);
  defaultTemplate(spec);
}

/** SetDefaults_Job: a non-parallel job when neither count is set; the template's labels label the Job. */
function defaultJob(obj: Fields): void {
  const spec = ensureObject(obj, 'spec');
  if ((spec.completions === undefined || spec.completions === null) && (spec.parallelism === undefined || spec.parallelism === null)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'podReplacementPolicy', spec.podFailurePolicy === undefined || spec.podFailurePolicy === null ? 'TerminatingOrFailed' : 'Failed');
  const template = record(spec.template);
  const templateLabels = record(record(template?.metadata)?.labels);
  const metadata = ensureObject(obj, 'metadata');
  if (templateLabels && Object.keys(record(metadata.labels) ?? {}).length === 0) metadata.labels = { ...templateLabels };
  defaultTemplate(spec);
}

function defaultStatefulSet(obj: Fields): void {
  const spec = ensureObject(obj, 'spec');
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'podManagementPolicy', 'OrderedReady');
  const strategy = ensureObject(spec, 'updateStrategy');
  if (strategy.type === undefined || strategy.type === null || strategy.type === '') {
    strategy.type = 'RollingUpdate';
    ensureObject(strategy, 'rollingUpdate');
  }
  const rolling = record(strategy.rollingUpdate);
  if (strategy.type === 'RollingUpdate' && rolling) setDefault(rolling, 'partition', 0);
  const retention = ensureObject(spec, 'persistentVolumeClaimRetentionPolicy');
  setDefault(retention, 'whenDeleted', 'Retain');
  setDefault(retention, 'whenScaled', 'Retain');
  setDefault(spec, 'revisionHistoryLimit', 10);
  defaultTemplate(spec);
}

function defaultDaemonSet(obj: Fields): void {
  const spec = ensureObject(obj, 'spec');
  const strategy = ensureObject(spec, 'updateStrategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const rolling = ensureObject(strategy, 'rollingUpdate');
    setDefault(rolling, 'maxUnavailable', 1);
    setDefault(rolling, 'maxSurge', 0);
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  defaultTemplate(spec);
}

/** SetDefaults_Subject and the roleRef's group of (Cluster)RoleBindings. */
function defaultRoleBinding(obj: Fields): void {
  const roleRef = record(obj.roleRef);
  if (roleRef && (roleRef.apiGroup === undefined || roleRef.apiGroup === '')) roleRef.apiGroup = RBAC_GROUP;
  eachRecord(obj.subjects, (subject) => {
    if (subject.apiGroup !== undefined && subject.apiGroup !== '') return;
    if (subject.kind === 'ServiceAccount') subject.apiGroup = '';
    else if (subject.kind === 'User' || subject.kind === 'Group') subject.apiGroup = RBAC_GROUP;
  });
}

function defaultService(obj: Fields): void {
  const spec = ensureObject(obj, 'spec');
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  eachRecord(spec.ports, (port) => {
    setDefault(port, 'protocol', 'TCP');
    // targetPort 0 is what a Go client sends for "unset".
    if (port.targetPort === undefined || port.targetPort === null || port.targetPort === 0) port.targetPort = port.port;
  });
  if (spec.type === 'ExternalName') return;
  setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  // The local clusters are IPv4 only: the registry's single-stack defaults.
  setDefault(spec, 'ipFamilies', ['IPv4']);
  setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
}

function defaultNamespace(obj: Fields): void {
  setDefault(ensureObject(obj, 'spec'), 'finalizers', ['kubernetes']);
  setDefault(ensureObject(obj, 'status'), 'phase', 'Active');
}

function defaultEndpointSlice(obj: Fields): void {
  eachRecord(obj.ports, (port) => setDefault(port, 'protocol', 'TCP'));
}

const DEFAULTERS: Record<string, (obj: Fields) => void> = {
  '/Pod': (obj) => defaultPodSpec(ensureObject(obj, 'spec')),
  'apps/Deployment': defaultDeployment,
  'apps/ReplicaSet': defaultReplicaSet,
  'apps/StatefulSet': defaultStatefulSet,
  'apps/DaemonSet': defaultDaemonSet,
  'batch/Job': defaultJob,
  [`${RBAC_GROUP}/RoleBinding`]: defaultRoleBinding,
  [`${RBAC_GROUP}/ClusterRoleBinding`]: defaultRoleBinding,
  '/Service': defaultService,
  '/Namespace': defaultNamespace,
  'discovery.k8s.io/EndpointSlice': defaultEndpointSlice,
  // The defaults the Canary CRD's schema declares (a real API server applies them from the schema).
  'rollouts.meshwork.io/Canary': defaultCanaryObject,
};

/** `obj` with the apiserver's defaults for `type` filled in; other kinds come back as an unchanged copy. */
export function applyDefaults(type: ResourceType, obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  DEFAULTERS[`${type.group}/${type.kind}`]?.(copy);
  return copy;
}
