// Sidecar injection, as Istio's injector decides and does it: which pods get a proxy, and the pod
// after the requested templates (`sidecar` by default, `gateway` for pods that run a gateway and
// name their proxy container `istio-proxy` with image `auto`). Pure: a pod in, a JSON patch out.
import { SIDECAR_CONTAINER } from '../registry/build.js';
import { DATA_PLANE_ANNOTATION, DATA_PLANE_ENV, parseDataPlane, type DataPlaneKind } from '../agent/data-plane.js';
import {
  effectiveProxyConfig,
  PROXY_CONFIG_ANNOTATION,
  PROXY_CONFIG_ANNOTATION_ENV,
  PROXY_CONFIG_ENV,
  proxyConfigJson,
  type ProxyConfig,
} from '../config/proxy-config.js';
import type { JsonPatchOperation, JsonValue } from '../k8s/patch/index.js';
import { createJsonPatch, toJson } from '../k8s/patch/index.js';
import { addInterception, interceptionFor } from './interception.js';
import type { Container, EnvVar, Pod } from './pod.js';
import { readPod } from './pod.js';
import { MERGED_METRICS_PATH, MERGED_METRICS_PORT } from '../telemetry/istio-metric-names.js';

export const STATUS_ANNOTATION = 'sidecar.istio.io/status';
export const INJECT_LABEL = 'sidecar.istio.io/inject';
export const TEMPLATES_ANNOTATION = 'inject.istio.io/templates';
export const CANONICAL_NAME_LABEL = 'service.istio.io/canonical-name';
export const CANONICAL_REVISION_LABEL = 'service.istio.io/canonical-revision';
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
/** The sidecar's outbound HTTP-proxy listener (curl and most HTTP clients honour http_proxy). */
export const OUTBOUND_PROXY_PORT = 15001;
/** The proxy's status port: GET /healthz/ready. */
export const STATUS_PORT = 15021;
/** The proxy's Prometheus port. */
export const PROMETHEUS_PORT = 15090;
/** Image value that asks the injector to fill in the proxy image (Istio's gateway injection). */
export const AUTO_IMAGE = 'auto';

export interface InjectionContext {
  /** The control plane revision doing the injection: `asm-managed-stable`. */
  revision: string;
  /** host:port the proxies reach the control plane's xDS server on. */
  xdsAddress: string;
  /** host:port of the CA (IstioCertificateService), the control plane's TLS port: CA_ADDR. */
  caAddress?: string;
  /**
   * The mesh root PEM: MESHWORK_ROOT_CERT, with which the agent verifies the control plane and speaks
   * TLS with its token (Istio's istio-ca-root-cert ConfigMap). Without it the agent speaks plaintext.
   */
  rootCertPem?: string;
  /** meshConfig.trustDomain: TRUST_DOMAIN. */
  trustDomain?: string;
  clusterId: string;
  meshId?: string;
  proxyImage: string;
  /** The mesh's data plane; a pod's proxy.meshwork.io/data-plane annotation wins. Default meshwork. */
  dataPlane?: DataPlaneKind;
  /** Templates by name; the built-in `sidecar` and `gateway` when absent. */
  templates?: Readonly<Record<string, InjectionTemplate>>;
  /** meshConfig.defaultConfig: every pod's ProxyConfig before its proxy.istio.io/config annotation. */
  meshProxyConfig?: ProxyConfig;
  /** The mesh captures pod traffic with iptables (istio-init); absent: apps reach their sidecar through http_proxy. */
  interceptionMode?: 'REDIRECT';
}

/** Changes a private copy of the pod in place; `appContainers` are the pod's containers before injection. */
export type InjectionTemplate = (pod: Pod, ctx: TemplateContext) => void;

export interface TemplateContext extends InjectionContext {
  /** The pod's data plane: its annotation, else the mesh's. */
  dataPlane: DataPlaneKind;
  namespace: string;
  appContainers: readonly Container[];
  workload: WorkloadRef;
  /** The mesh's defaultConfig with the pod's annotation over it (the mesh's alone when the annotation is invalid). */
  proxyConfig: ProxyConfig;
  /** Whether the pod has a proxy.istio.io/config annotation (passed on to the agent by the downward API). */
  proxyConfigAnnotated: boolean;
  /** The pod's labels as injected (canonical service labels added): the agent's own side of Istio's metric labels. */
  podLabels?: Record<string, string>;
  /** What a template reports without stopping the injection. */
  warnings: string[];
}

export interface InjectionResult {
  patch: JsonPatchOperation[];
  /** Why nothing was injected (the patch is then empty). */
  skipped?: string;
  /** What is wrong with the pod but does not stop its injection (an invalid proxy.istio.io/config). */
  warnings?: string[];
}

/** Istio's policy values for the inject label and annotation. */
const YES = new Set(['y', 'yes', 'true', 'on', 'enabled']);
const NO = new Set(['n', 'no', 'false', 'off', 'disabled']);
/** Namespaces Istio never injects into, whatever their labels. */
const IGNORED_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

/** The pod's own opt-in or opt-out: the label wins over the (deprecated) annotation, as in Istio. */
function podInjectPolicy(pod: Pod): boolean | undefined {
  for (const value of [pod.metadata.labels?.[INJECT_LABEL], pod.metadata.annotations?.[INJECT_LABEL]]) {
    if (value === undefined) continue;
    const v = value.trim().toLowerCase();
    if (YES.has(v)) return true;
    if (NO.has(v)) return false;
  }
  return undefined;
}

/** Why a pod must not be injected, or undefined when it must. The namespace selection is the webhook's. */
export function skipReason(pod: Pod, namespace: string): string | undefined {
  if (pod.metadata.annotations?.[STATUS_ANNOTATION] !== undefined) return `already injected (annotation ${STATUS_ANNOTATION} is set)`;
  if (pod.spec.hostNetwork === true) return 'the pod uses the host network';
  if (IGNORED_NAMESPACES.has(namespace)) return `namespace ${namespace} is never injected`;
  if (podInjectPolicy(pod) === false) return `the pod opts out (${INJECT_LABEL}: "false")`;
  return undefined;
}

export function injectPod(podValue: unknown, ctx: InjectionContext & { namespace?: string }): InjectionResult {
  const pod = readPod(podValue);
  const namespace = pod.metadata.namespace || ctx.namespace || 'default';
  const skipped = skipReason(pod, namespace);
  if (skipped) return { patch: [], skipped };
  const templates = ctx.templates ?? BUILTIN_TEMPLATES;
  const requested = templateNames(pod);
  const after = structuredClone(pod);
  const annotation = pod.metadata.annotations?.[PROXY_CONFIG_ANNOTATION];
  // As Istio's injector (EffectiveProxyConfig): an annotation that does not parse is not applied. Istio
  // would refuse the pod; here it runs with the mesh's default, and the problem is reported (this
  // webhook's log and warnings, the agent's log, analyze).
  const proxyConfig = effectiveProxyConfig(ctx.meshProxyConfig ?? {}, annotation);
  const templateCtx: TemplateContext = {
    ...ctx,
    dataPlane: podDataPlane(pod, ctx.dataPlane ?? 'meshwork'),
    namespace,
    appContainers: pod.spec.containers.filter((c) => c.name !== SIDECAR_CONTAINER),
    workload: workloadOf(pod, namespace),
    proxyConfig: proxyConfig.config,
    proxyConfigAnnotated: annotation !== undefined,
    warnings: [],
  };
  templateCtx.podLabels = { ...(pod.metadata.labels ?? {}), ...canonicalLabels(pod, templateCtx.workload) };
  for (const name of requested) {
    const template = templates[name];
    if (!template) throw new Error(`requested template "${name}" not found; have ${Object.keys(templates).sort().join(', ')}`);
    template(after, templateCtx);
  }
  const annotations = (after.metadata.annotations ??= {});
  annotations[STATUS_ANNOTATION] = injectionStatus(pod, after, ctx.revision);
  const patch = createJsonPatch(json(pod), json(after));
  const warnings = [...(proxyConfig.annotationError ? [`${proxyConfig.annotationError}; the proxy runs with the mesh's default proxy config`] : []), ...templateCtx.warnings];
  return warnings.length > 0 ? { patch, warnings } : { patch };
}

function podDataPlane(pod: Pod, meshDefault: DataPlaneKind): DataPlaneKind {
  const value = pod.metadata.annotations?.[DATA_PLANE_ANNOTATION];
  return value === undefined ? meshDefault : parseDataPlane(value, `annotation ${DATA_PLANE_ANNOTATION}`);
}

function json(pod: Pod): JsonValue {
  return toJson(pod, 'pod');
}

function templateNames(pod: Pod): string[] {
  const value = pod.metadata.annotations?.[TEMPLATES_ANNOTATION];
  if (value === undefined || value.trim() === '') return ['sidecar'];
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Istio's status annotation: what the injection added, so tools (and a second injection) can tell. */
function injectionStatus(before: Pod, after: Pod, revision: string): string {
  const added = (list: Container[] | undefined, old: Container[] | undefined): string[] =>
    (list ?? []).map((c) => c.name).filter((name) => !(old ?? []).some((o) => o.name === name) || name === SIDECAR_CONTAINER);
  const volumes = (p: Pod): string[] => (Array.isArray(p.spec.volumes) ? p.spec.volumes : []).map((v: { name?: string }) => v.name ?? '');
  const beforeVolumes = new Set(volumes(before));
  return JSON.stringify({
    initContainers: added(after.spec.initContainers, before.spec.initContainers),
    containers: added(after.spec.containers, before.spec.containers),
    volumes: volumes(after).filter((v) => !beforeVolumes.has(v)),
    imagePullSecrets: null,
    revision,
  });
}

// ---------------------------------------------------------------------------------------------------
// Workload identity (ISTIO_META_WORKLOAD_NAME, ISTIO_META_OWNER, canonical service labels)

export interface WorkloadRef {
  name: string;
  /** `kubernetes://apis/apps/v1/namespaces/<ns>/deployments/<name>` */
  owner: string;
}

/** The pod's workload as Istio names it: a ReplicaSet's pods belong to its Deployment. */
export function workloadOf(pod: Pod, namespace: string): WorkloadRef {
  const controller = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (controller?.kind === 'ReplicaSet' && hash && controller.name.endsWith(`-${hash}`)) {
    const name = controller.name.slice(0, -hash.length - 1);
    return { name, owner: `kubernetes://apis/apps/v1/namespaces/${namespace}/deployments/${name}` };
  }
  if (controller) {
    const [group, version] = controller.apiVersion.includes('/') ? controller.apiVersion.split('/') : ['', controller.apiVersion];
    const plural = `${controller.kind.toLowerCase()}s`;
    const prefix = group ? `apis/${group}/${version}` : `api/${version}`;
    return { name: controller.name, owner: `kubernetes://${prefix}/namespaces/${namespace}/${plural}/${controller.name}` };
  }
  const name = pod.metadata.name || (pod.metadata.generateName ?? '').replace(/-$/, '') || 'unknown';
  return { name, owner: `kubernetes://api/v1/namespaces/${namespace}/pods/${name}` };
}

function canonicalLabels(pod: Pod, workload: WorkloadRef): Record<string, string> {
  const labels = pod.metadata.labels ?? {};
  return {
    [CANONICAL_NAME_LABEL]: labels[CANONICAL_NAME_LABEL] ?? labels['app.kubernetes.io/name'] ?? labels.app ?? workload.name,
    [CANONICAL_REVISION_LABEL]: labels[CANONICAL_REVISION_LABEL] ?? labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest',
  };
}

// ---------------------------------------------------------------------------------------------------
// The proxy container

function fieldRef(name: string, fieldPath: string): EnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

export const CA_ADDR_ENV = 'CA_ADDR';
export const ROOT_CERT_ENV = 'MESHWORK_ROOT_CERT';
export const TRUST_DOMAIN_ENV = 'TRUST_DOMAIN';

/** The proxy's environment, in the order Istio's templates write it (downward-API values first). */
export function proxyEnv(ctx: TemplateContext): EnvVar[] {
  const ports = ctx.appContainers.flatMap((c) => c.ports ?? []);
  const env: EnvVar[] = [
    fieldRef('POD_NAME', 'metadata.name'),
    fieldRef('POD_NAMESPACE', 'metadata.namespace'),
    fieldRef('INSTANCE_IP', 'status.podIP'),
    fieldRef('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    fieldRef('HOST_IP', 'status.hostIP'),
    // ProxyConfig.discoveryAddress (mesh defaultConfig or the pod's annotation) wins, as in Istio's
    // template; the CA is then at the same address (pilot-agent's CA_ADDR default).
    { name: 'XDS_ADDRESS', value: ctx.proxyConfig.discoveryAddress ?? ctx.xdsAddress },
    ...(ctx.proxyConfig.discoveryAddress ? [{ name: CA_ADDR_ENV, value: ctx.proxyConfig.discoveryAddress }] : ctx.caAddress ? [{ name: CA_ADDR_ENV, value: ctx.caAddress }] : []),
    ...(ctx.rootCertPem ? [{ name: ROOT_CERT_ENV, value: ctx.rootCertPem }] : []),
    ...(ctx.trustDomain ? [{ name: TRUST_DOMAIN_ENV, value: ctx.trustDomain }] : []),
    { name: 'CLUSTER_ID', value: ctx.clusterId },
    { name: 'ISTIO_META_POD_PORTS', value: JSON.stringify(ports) },
    { name: 'ISTIO_META_APP_CONTAINERS', value: ctx.appContainers.map((c) => c.name).join(',') },
    { name: 'ISTIO_META_CLUSTER_ID', value: ctx.clusterId },
    fieldRef('ISTIO_META_NODE_NAME', 'spec.nodeName'),
    { name: 'ISTIO_META_WORKLOAD_NAME', value: ctx.workload.name },
    { name: 'ISTIO_META_OWNER', value: ctx.workload.owner },
  ];
  // As older Istio's injector: the pod's labels, for the agent's own metric labels (app, version, canonical service).
  if (ctx.podLabels) env.push({ name: 'ISTIO_METAJSON_LABELS', value: JSON.stringify(ctx.podLabels) });
  if (ctx.meshId) env.push({ name: 'ISTIO_META_MESH_ID', value: ctx.meshId });
  env.push({ name: PROXY_CONFIG_ENV, value: JSON.stringify(proxyConfigJson(ctx.proxyConfig)) });
  if (ctx.proxyConfigAnnotated) env.push(fieldRef(PROXY_CONFIG_ANNOTATION_ENV, `metadata.annotations['${PROXY_CONFIG_ANNOTATION}']`));
  env.push({ name: DATA_PLANE_ENV, value: ctx.dataPlane });
  // As Istio's template: proxyMetadata (mesh defaultConfig, then the pod's annotation) becomes the
  // proxy's environment, over what the template set.
  for (const [name, value] of Object.entries(ctx.proxyConfig.proxyMetadata ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const existing = env.findIndex((e) => e.name === name);
    if (existing >= 0) env.splice(existing, 1);
    env.push({ name, value });
  }
  return env;
}

function proxyContainer(ctx: TemplateContext, mode: 'sidecar' | 'router'): Container {
  return {
    name: SIDECAR_CONTAINER,
    image: ctx.proxyImage,
    args: ['proxy', mode],
    env: proxyEnv(ctx),
    ports: [{ containerPort: PROMETHEUS_PORT, protocol: 'TCP', name: 'http-envoy-prom' }],
    readinessProbe: {
      httpGet: { path: '/healthz/ready', port: STATUS_PORT },
      initialDelaySeconds: 1,
      periodSeconds: 2,
      timeoutSeconds: 3,
      failureThreshold: 30,
    },
  };
}

/**
 * The pod's own `istio-proxy` container over the template's, as Istio merges them: the pod's fields
 * win (image only when it is not `auto`), env and ports are joined by name / port number.
 */
function mergeProxyContainer(template: Container, own: Container): Container {
  const merged: Container = { ...template, ...own };
  merged.image = own.image === undefined || own.image === AUTO_IMAGE ? template.image : own.image;
  merged.args = own.args ?? template.args;
  const ownEnv = own.env ?? [];
  merged.env = [...(template.env ?? []).filter((e) => !ownEnv.some((o) => o.name === e.name)), ...ownEnv];
  const ownPorts = own.ports ?? [];
  merged.ports = [...ownPorts, ...(template.ports ?? []).filter((p) => !ownPorts.some((o) => o.containerPort === p.containerPort))];
  merged.readinessProbe = own.readinessProbe ?? template.readinessProbe;
  return merged;
}

function placeProxy(pod: Pod, proxy: Container): void {
  const index = pod.spec.containers.findIndex((c) => c.name === SIDECAR_CONTAINER);
  if (index >= 0) pod.spec.containers[index] = mergeProxyContainer(proxy, pod.spec.containers[index]!);
  else pod.spec.containers.push(proxy);
}

/** What every app container of a sidecar pod gets: its HTTP calls go to the sidecar's outbound listener. */
export function appProxyEnv(existing: readonly EnvVar[]): EnvVar[] {
  const has = (name: string): boolean => existing.some((e) => e.name === name);
  const out: EnvVar[] = [];
  // $(INSTANCE_IP) only expands when the variable is defined earlier in the same container.
  if (!has('INSTANCE_IP')) out.push(fieldRef('INSTANCE_IP', 'status.podIP'));
  const proxyUrl = `http://$(INSTANCE_IP):${OUTBOUND_PROXY_PORT}`;
  for (const name of ['http_proxy', 'HTTP_PROXY']) if (!has(name)) out.push({ name, value: proxyUrl });
  for (const name of ['no_proxy', 'NO_PROXY']) if (!has(name)) out.push({ name, value: 'localhost,127.0.0.1' });
  return out;
}

function setLabels(pod: Pod, labels: Record<string, string>): void {
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), ...labels };
}

/** As Istio's injector: scrapers find the pod's merged metrics (the agent's, its Istio metrics, the data plane's) on 15020. */
function setPrometheusAnnotations(pod: Pod): void {
  const annotations = (pod.metadata.annotations ??= {});
  annotations['prometheus.io/scrape'] ??= 'true';
  annotations['prometheus.io/port'] ??= String(MERGED_METRICS_PORT);
  annotations['prometheus.io/path'] ??= MERGED_METRICS_PATH;
}

const sidecarTemplate: InjectionTemplate = (pod, ctx) => {
  const interception = interceptionFor(pod, ctx.interceptionMode, ctx.dataPlane);
  if (!interception.capture && interception.warning) ctx.warnings.push(interception.warning);
  for (const container of pod.spec.containers) {
    if (container.name === SIDECAR_CONTAINER || interception.capture) continue;
    container.env = [...(container.env ?? []), ...appProxyEnv(container.env ?? [])];
  }
  const proxy = proxyContainer(ctx, 'sidecar');
  if (interception.capture) addInterception(pod, proxy, ctx.proxyImage);
  placeProxy(pod, proxy);
  setLabels(pod, { ...canonicalLabels(pod, ctx.workload), [TLS_MODE_LABEL]: 'istio' });
  setPrometheusAnnotations(pod);
  const first = ctx.appContainers[0];
  if (first) {
    // kubectl logs/exec pick the app, not the proxy, when no container is named (as with Istio).
    const annotations = (pod.metadata.annotations ??= {});
    annotations['kubectl.kubernetes.io/default-container'] ??= first.name;
    annotations['kubectl.kubernetes.io/default-logs-container'] ??= first.name;
  }
};

const gatewayTemplate: InjectionTemplate = (pod, ctx) => {
  placeProxy(pod, proxyContainer(ctx, 'router'));
  setLabels(pod, canonicalLabels(pod, ctx.workload));
  setPrometheusAnnotations(pod);
};

export const BUILTIN_TEMPLATES: Readonly<Record<string, InjectionTemplate>> = { sidecar: sidecarTemplate, gateway: gatewayTemplate };
