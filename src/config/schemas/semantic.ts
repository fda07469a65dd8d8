// The apiserver's own validation of built-in kinds, the rules no OpenAPI schema expresses
// (pkg/apis/core/validation, pkg/apis/apps/validation, apimachinery ObjectMeta validation), with the
// same field paths and messages. Values of the wrong JSON type are left to the schema check.
import type { KubeObject } from '../../k8s/object.js';
import type { FieldCause } from '../../k8s/status.js';
import { duplicate, forbidden, invalid, notSupported, required, tooLong } from './causes.js';
import { indexPath } from './field-path.js';
import {
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
} from './names.js';

type Fields = Record<string, unknown>;

function record(value: unknown): Fields | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : undefined;
}
function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(value) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

export type NameRule = 'dns1123Subdomain' | 'dns1123Label' | 'dns1035Label' | 'pathSegment';

/** path.IsValidPathSegmentName: RBAC names such as `system:masters` may hold colons. */
function isPathSegmentName(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const bad = ['/', '%'].find((c) => value.includes(c));
  return bad ? [`may not contain '${bad}'`] : [];
}

const NAME_CHECKS: Record<NameRule, (v: string) => string[]> = {
  dns1123Subdomain: isDns1123Subdomain,
  dns1123Label: isDns1123Label,
  dns1035Label: isDns1035Label,
  pathSegment: isPathSegmentName,
};

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: unknown, path: string, out: FieldCause[]): void {
  for (const [key, value] of Object.entries(record(labels) ?? {})) {
    for (const msg of isQualifiedName(key)) out.push(invalid(path, key, msg));
    if (typeof value === 'string') for (const msg of isValidLabelValue(value)) out.push(invalid(path, value, msg));
  }
}

function validateAnnotations(annotations: unknown, path: string, out: FieldCause[]): void {
  let size = 0;
  for (const [key, value] of Object.entries(record(annotations) ?? {})) {
    for (const msg of isQualifiedName(key.toLowerCase())) out.push(invalid(path, key, msg));
    size += key.length + (typeof value === 'string' ? value.length : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) out.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
}

/** ValidateObjectMeta: name or generateName, namespace, labels, annotations. */
export function validateObjectMeta(obj: KubeObject, nameRule: NameRule, namespaced: boolean, out: FieldCause[]): void {
  const meta = record(obj.metadata) ?? {};
  const check = NAME_CHECKS[nameRule];
  const name = text(meta.name) ?? '';
  const generateName = text(meta.generateName) ?? '';
  if (generateName) {
    // A prefix may end with '-': the apiserver masks it before checking.
    const masked = generateName.endsWith('-') ? `${generateName.slice(0, -1)}a` : generateName;
    for (const msg of check(masked)) out.push(invalid('metadata.generateName', generateName, msg));
  }
  if (!name && !generateName) out.push(required('metadata.name', 'name or generateName is required'));
  else if (name) for (const msg of check(name)) out.push(invalid('metadata.name', name, msg));
  // A cluster-scoped object's namespace is cleared before validation (rest.BeforeCreate), never rejected.
  const namespace = text(meta.namespace) ?? '';
  if (namespaced && namespace) for (const msg of isDns1123Label(namespace)) out.push(invalid('metadata.namespace', namespace, msg));
  validateLabels(meta.labels, 'metadata.labels', out);
  validateAnnotations(meta.annotations, 'metadata.annotations', out);
}

function validateContainerPorts(ports: unknown, path: string, out: FieldCause[]): void {
  list(ports).forEach((raw, i) => {
    const port = record(raw);
    if (!port) return;
    const p = indexPath(path, i);
    if (typeof port.containerPort === 'number') {
      for (const msg of isValidPortNum(port.containerPort)) out.push(invalid(`${p}.containerPort`, port.containerPort, msg));
    } else if (port.containerPort === undefined) out.push(required(`${p}.containerPort`));
    const name = text(port.name);
    if (name) for (const msg of isValidPortName(name)) out.push(invalid(`${p}.name`, name, msg));
    const protocol = text(port.protocol);
    if (protocol !== undefined && !PROTOCOLS.includes(protocol)) out.push(notSupported(`${p}.protocol`, protocol, PROTOCOLS));
  });
}

function validateContainers(spec: Fields, path: string, out: FieldCause[]): void {
  const names = new Set<string>();
  const groups: Array<[string, unknown[]]> = [
    ['initContainers', list(spec.initContainers)],
    ['containers', list(spec.containers)],
  ];
  if (list(spec.containers).length === 0) out.push(required(`${path}.containers`));
  for (const [field, containers] of groups) {
    containers.forEach((raw, i) => {
      const container = record(raw);
      if (!container) return;
      const p = indexPath(`${path}.${field}`, i);
      const name = text(container.name) ?? '';
      if (!name) out.push(required(`${p}.name`));
      else {
        for (const msg of isDns1123Label(name)) out.push(invalid(`${p}.name`, name, msg));
        if (names.has(name)) out.push(duplicate(`${p}.name`, name));
        names.add(name);
      }
      if (!text(container.image)) out.push(required(`${p}.image`));
      const pullPolicy = text(container.imagePullPolicy);
      if (pullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(pullPolicy)) {
        out.push(notSupported(`${p}.imagePullPolicy`, pullPolicy, ['Always', 'IfNotPresent', 'Never']));
      }
      validateContainerPorts(container.ports, `${p}.ports`, out);
    });
  }
}

/** Every restart policy: what a Pod of its own may have. */
export const POD_RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];

/** A Pod spec; a workload template accepts only its kind's restart policies (Always, or OnFailure and Never for a Job). */
export function validatePodSpec(specValue: unknown, path: string, allowedRestart: readonly string[], out: FieldCause[]): void {
  const spec = record(specValue);
  if (!spec) {
    // A value of the wrong type was reported by the schema check already.
    if (specValue === undefined) out.push(required(path));
    return;
  }
  validateContainers(spec, path, out);
  const restartPolicy = text(spec.restartPolicy);
  if (restartPolicy !== undefined && !allowedRestart.includes(restartPolicy)) {
    out.push(notSupported(`${path}.restartPolicy`, restartPolicy, allowedRestart));
  }
  const dnsPolicy = text(spec.dnsPolicy);
  const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (dnsPolicy !== undefined && !dnsPolicies.includes(dnsPolicy)) out.push(notSupported(`${path}.dnsPolicy`, dnsPolicy, dnsPolicies));
  const grace = spec.terminationGracePeriodSeconds;
  if (typeof grace === 'number' && grace < 0) out.push(invalid(`${path}.terminationGracePeriodSeconds`, grace, 'must be greater than or equal to 0'));
}

interface Requirement {
  key: string;
  operator: string;
  values: string[];
}

function selectorRequirements(selector: Fields): Requirement[] {
  const reqs: Requirement[] = Object.entries(stringMap(selector.matchLabels)).map(([key, v]) => ({ key, operator: 'In', values: [v] }));
  for (const raw of list(selector.matchExpressions)) {
    const e = record(raw);
    if (!e) continue;
    reqs.push({ key: text(e.key) ?? '', operator: text(e.operator) ?? '', values: list(e.values).filter((v): v is string => typeof v === 'string') });
  }
  return reqs;
}

/** metav1.LabelSelector semantics: every requirement must hold. */
export function selectorMatches(selector: Fields, labels: Record<string, string>): boolean {
  return selectorRequirements(selector).every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        return has && values.includes(labels[key]);
      case 'NotIn':
        return !has || !values.includes(labels[key]);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}

function validateLabelSelector(selector: Fields, path: string, out: FieldCause[]): void {
  validateLabels(selector.matchLabels, `${path}.matchLabels`, out);
  list(selector.matchExpressions).forEach((raw, i) => {
    const e = record(raw);
    if (!e) return;
    const p = indexPath(`${path}.matchExpressions`, i);
    const operator = text(e.operator) ?? '';
    const values = list(e.values);
    if (operator === 'In' || operator === 'NotIn') {
      if (values.length === 0) out.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (operator === 'Exists' || operator === 'DoesNotExist') {
      if (values.length > 0) out.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      out.push(invalid(`${p}.operator`, operator, 'not a valid selector operator'));
    }
    const key = text(e.key) ?? '';
    for (const msg of isQualifiedName(key)) out.push(invalid(`${p}.key`, key, msg));
  });
}

export function nonNegative(spec: Fields, field: string, path: string, out: FieldCause[]): void {
  const v = spec[field];
  if (typeof v === 'number' && v < 0) out.push(invalid(`${path}.${field}`, v, 'must be greater than or equal to 0'));
}

export type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job';

/** The restart policies a workload's pod template may have. */
const TEMPLATE_RESTART_POLICIES: Record<WorkloadKind, readonly string[]> = {
  Deployment: ['Always'],
  ReplicaSet: ['Always'],
  StatefulSet: ['Always'],
  DaemonSet: ['Always'],
  Job: ['OnFailure', 'Never'],
};

/** The word the apiserver's "empty selector is invalid for ..." names (ReplicaSets share the Deployment's). */
const EMPTY_SELECTOR_NOUN: Record<WorkloadKind, string> = {
  Deployment: 'deployment',
  ReplicaSet: 'deployment',
  StatefulSet: 'statefulset',
  DaemonSet: 'daemonset',
  Job: 'job',
};

/** Workload specs: selector, template labels, template pod spec (and each kind's counts). */
export function validateWorkloadSpec(obj: KubeObject, kind: WorkloadKind, out: FieldCause[]): void {
  const spec = record(obj.spec);
  if (!spec) {
    if (obj.spec === undefined) out.push(required('spec'));
    return;
  }
  if (kind !== 'DaemonSet' && kind !== 'Job') nonNegative(spec, 'replicas', 'spec', out);
  nonNegative(spec, 'minReadySeconds', 'spec', out);
  if (kind === 'Deployment') {
    nonNegative(spec, 'revisionHistoryLimit', 'spec', out);
    nonNegative(spec, 'progressDeadlineSeconds', 'spec', out);
    const strategyType = text(record(spec.strategy)?.type);
    if (strategyType !== undefined && !['Recreate', 'RollingUpdate'].includes(strategyType)) {
      out.push(notSupported('spec.strategy.type', strategyType, ['Recreate', 'RollingUpdate']));
    }
  }
  const selector = record(spec.selector);
  const template = record(spec.template);
  if (!selector) {
    if (spec.selector === undefined || spec.selector === null) out.push(required('spec.selector'));
  }
  else {
    validateLabelSelector(selector, 'spec.selector', out);
    if (selectorRequirements(selector).length === 0) out.push(invalid('spec.selector', selector, `empty selector is invalid for ${EMPTY_SELECTOR_NOUN[kind]}`));
  }
  if (!template) {
    if (spec.template === undefined) out.push(required('spec.template'));
    return;
  }
  const templateMeta = record(template.metadata) ?? {};
  const templateLabels = stringMap(templateMeta.labels);
  validateLabels(templateMeta.labels, 'spec.template.metadata.labels', out);
  validateAnnotations(templateMeta.annotations, 'spec.template.metadata.annotations', out);
  if (selector && selectorRequirements(selector).length > 0 && !selectorMatches(selector, templateLabels)) {
    out.push(invalid('spec.template.metadata.labels', templateLabels, '`selector` does not match template `labels`'));
  }
  validatePodSpec(template.spec, 'spec.template.spec', TEMPLATE_RESTART_POLICIES[kind], out);
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

/** A Service spec at `path` (a Service's `spec`, or a MultiClusterService template's `spec.template.spec`). */
export function validateServiceSpec(specValue: unknown, path: string, out: FieldCause[]): void {
  const spec = record(specValue);
  if (!spec) {
    // A value of the wrong type was reported by the schema check already.
    if (specValue === undefined) out.push(required(path));
    return;
  }
  const type = text(spec.type) ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) out.push(notSupported(`${path}.type`, type, SERVICE_TYPES));
  const headless = spec.clusterIP === 'None';
  const ports = list(spec.ports);
  if (ports.length === 0 && !headless && type !== 'ExternalName') out.push(required(`${path}.ports`));
  if (type === 'ExternalName') {
    const externalName = text(spec.externalName) ?? '';
    if (!externalName) out.push(required(`${path}.externalName`));
    else for (const msg of isDns1123Subdomain(externalName.replace(/\.$/, ''))) out.push(invalid(`${path}.externalName`, externalName, msg));
  }
  const portNames = new Set<string>();
  ports.forEach((raw, i) => {
    const port = record(raw);
    if (!port) return;
    const p = indexPath(`${path}.ports`, i);
    const name = text(port.name) ?? '';
    if (ports.length > 1 && !name) out.push(required(`${p}.name`));
    else if (name) {
      for (const msg of isDns1123Label(name)) out.push(invalid(`${p}.name`, name, msg));
      if (portNames.has(name)) out.push(duplicate(`${p}.name`, name));
      portNames.add(name);
    }
    if (typeof port.port === 'number') for (const msg of isValidPortNum(port.port)) out.push(invalid(`${p}.port`, port.port, msg));
    else if (port.port === undefined) out.push(required(`${p}.port`));
    const protocol = text(port.protocol);
    if (protocol !== undefined && !PROTOCOLS.includes(protocol)) out.push(notSupported(`${p}.protocol`, protocol, PROTOCOLS));
    const target = port.targetPort;
    if (typeof target === 'number' && target !== 0) for (const msg of isValidPortNum(target)) out.push(invalid(`${p}.targetPort`, target, msg));
    if (typeof target === 'string') for (const msg of isValidPortName(target)) out.push(invalid(`${p}.targetPort`, target, msg));
    if (port.nodePort !== undefined && port.nodePort !== 0 && type === 'ClusterIP') {
      out.push(forbidden(`${p}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
    }
  });
  const affinity = text(spec.sessionAffinity);
  if (affinity !== undefined && !['ClientIP', 'None'].includes(affinity)) out.push(notSupported(`${path}.sessionAffinity`, affinity, ['ClientIP', 'None']));
  validateLabels(spec.selector, `${path}.selector`, out);
}
