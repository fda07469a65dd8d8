// The GKE multi-cluster ingress resources as the controller reads them, and the pure decisions taken
// from them: the Service a MultiClusterService derives in every member cluster, the health check a
// BackendConfig sets, and the plan of a MultiClusterIngress's edge (or the reason it cannot have one).
import { createHash } from 'node:crypto';
import type { KubeObject } from '../k8s/object.js';
import { GCLB_HEALTH_CHECK_DEFAULTS, type HealthCheckSpec } from '../edge/health.js';
import type { GatewayCredential } from '../security/credentials.js';

export const BACKEND_CONFIG_ANNOTATIONS = ['cloud.google.com/backend-config', 'beta.cloud.google.com/backend-config'] as const;
/** GKE's backend protocol per port name (HTTP, HTTPS, HTTP2), on MultiClusterServices as on Services for Ingress. */
export const APP_PROTOCOLS_ANNOTATIONS = ['networking.gke.io/app-protocols', 'cloud.google.com/app-protocols'] as const;
/** Marks a derived Service in a member cluster: the MultiClusterService (same namespace) it comes from. */
export const DERIVED_FROM_LABEL = 'networking.gke.io/derived-from-mcs';

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

export interface MultiClusterService {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ports: ServicePort[];
  selector: Record<string, string>;
  /** The raw backend-config annotation, parsed later (its errors belong to the MCI that uses it). */
  backendConfigAnnotation?: string;
  /** The raw `networking.gke.io/app-protocols` annotation: the protocol the load balancer speaks to each port. */
  appProtocolsAnnotation?: string;
}

export interface MultiClusterIngressBackend {
  serviceName: string;
  servicePort: number | string;
}

export interface MultiClusterIngress {
  name: string;
  namespace: string;
  backend?: MultiClusterIngressBackend;
  hasRules: boolean;
  /** spec.template.spec.tls[].secretName: Secrets of the MCI's namespace in the config cluster, HTTPS on 443. */
  tlsSecretNames: string[];
  status: Record<string, unknown>;
}

export interface BackendConfig {
  name: string;
  namespace: string;
  healthCheck?: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringMap = (v: unknown): Record<string, string> =>
  isRecord(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
const path = (obj: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((o, k) => (isRecord(o) ? o[k] : undefined), obj);

export function parseMultiClusterService(obj: KubeObject): MultiClusterService {
  const spec = path(obj, 'spec', 'template', 'spec');
  const rawPorts = path(spec, 'ports');
  const ports: ServicePort[] = (Array.isArray(rawPorts) ? rawPorts : []).filter(isRecord).map((p) => ({
    ...(typeof p.name === 'string' ? { name: p.name } : {}),
    port: Number(p.port),
    ...(typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? { targetPort: p.targetPort } : {}),
    ...(typeof p.protocol === 'string' ? { protocol: p.protocol } : {}),
  }));
  const annotations = obj.metadata.annotations ?? {};
  const annotation = BACKEND_CONFIG_ANNOTATIONS.map((k) => annotations[k]).find((v) => v !== undefined);
  const appProtocols = APP_PROTOCOLS_ANNOTATIONS.map((k) => annotations[k]).find((v) => v !== undefined);
  return {
    name: obj.metadata.name ?? '',
    namespace: obj.metadata.namespace ?? 'default',
    labels: obj.metadata.labels ?? {},
    ports,
    selector: stringMap(path(spec, 'selector')),
    ...(annotation !== undefined ? { backendConfigAnnotation: annotation } : {}),
    ...(appProtocols !== undefined ? { appProtocolsAnnotation: appProtocols } : {}),
  };
}

export function parseMultiClusterIngress(obj: KubeObject): MultiClusterIngress {
  const spec = path(obj, 'spec', 'template', 'spec');
  const backend = path(spec, 'backend');
  const serviceName = path(backend, 'serviceName');
  const servicePort = path(backend, 'servicePort');
  const rules = path(spec, 'rules');
  return {
    name: obj.metadata.name ?? '',
    namespace: obj.metadata.namespace ?? 'default',
    ...(typeof serviceName === 'string' && (typeof servicePort === 'number' || typeof servicePort === 'string') ? { backend: { serviceName, servicePort } } : {}),
    hasRules: Array.isArray(rules) && rules.length > 0,
    tlsSecretNames: (Array.isArray(path(spec, 'tls')) ? (path(spec, 'tls') as unknown[]) : []).map((t) => path(t, 'secretName')).filter((n): n is string => typeof n === 'string' && n !== ''),
    status: isRecord(obj.status) ? obj.status : {},
  };
}

export function parseBackendConfig(obj: KubeObject): BackendConfig {
  const hc = path(obj, 'spec', 'healthCheck');
  return { name: obj.metadata.name ?? '', namespace: obj.metadata.namespace ?? 'default', ...(isRecord(hc) ? { healthCheck: hc } : {}) };
}

/** GKE's naming of derived Services (`mci-<mcs>-<suffix>`), so they never clash with a Service the user applied under the MCS's name. */
export function derivedServiceName(mcs: Pick<MultiClusterService, 'name' | 'namespace'>): string {
  const suffix = createHash('sha256').update(`${mcs.namespace}/${mcs.name}`).digest('hex').slice(0, 8);
  const prefix = `mci-${mcs.name}`.slice(0, 63 - suffix.length - 1).replace(/-+$/, '');
  return `${prefix}-${suffix}`;
}

/** The ClusterIP Service a MultiClusterService makes in each member cluster (same namespace). */
export function derivedService(mcs: MultiClusterService): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: derivedServiceName(mcs),
      namespace: mcs.namespace,
      labels: { ...mcs.labels, [DERIVED_FROM_LABEL]: mcs.name },
      annotations: { 'networking.gke.io/multiclusterservice': `${mcs.namespace}/${mcs.name}` },
    },
    spec: {
      type: 'ClusterIP',
      selector: mcs.selector,
      ports: mcs.ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort ?? p.port })),
    },
  };
}

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string; message: string };

/** `{"default": "name", "ports": {"80": "other"}}`: the BackendConfig name for one service port. */
export function backendConfigNameFor(annotation: string | undefined, port: ServicePort): Result<string | undefined> {
  if (annotation === undefined) return { ok: true, value: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(annotation);
  } catch (err) {
    return { ok: false, reason: 'InvalidBackendConfigAnnotation', message: `annotation cloud.google.com/backend-config is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isRecord(parsed)) return { ok: false, reason: 'InvalidBackendConfigAnnotation', message: 'annotation cloud.google.com/backend-config must be a JSON object like {"default": "<name>"}' };
  const ports = stringMap(parsed.ports);
  const byPort = ports[String(port.port)] ?? (port.name !== undefined ? ports[port.name] : undefined);
  const name = byPort ?? parsed.default;
  if (name !== undefined && typeof name !== 'string') return { ok: false, reason: 'InvalidBackendConfigAnnotation', message: 'annotation cloud.google.com/backend-config: "default" must be a BackendConfig name' };
  return { ok: true, value: name };
}

const validPort = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;

/** The health check for a backend port: the BackendConfig's, with GCLB's defaults; without one, GET / on the serving port. */
export function healthCheckFor(bc: BackendConfig | undefined, servingPort: ServicePort): Result<HealthCheckSpec> {
  const hc = bc?.healthCheck ?? {};
  const where = bc ? `BackendConfig ${bc.namespace}/${bc.name}: spec.healthCheck` : 'health check';
  const bad = (message: string): Result<HealthCheckSpec> => ({ ok: false, reason: 'InvalidBackendConfig', message: `${where}.${message}` });
  const type = hc.type ?? 'HTTP';
  if (type !== 'HTTP') return bad(`type ${JSON.stringify(type)} is not supported by the local edge (supported: HTTP)`);
  const port = hc.port ?? (typeof servingPort.targetPort === 'number' ? servingPort.targetPort : servingPort.port);
  if (!validPort(port)) return bad(`port ${JSON.stringify(port)} is not a valid port (an integer from 1 to 65535)`);
  const requestPath = hc.requestPath ?? '/';
  if (typeof requestPath !== 'string' || !requestPath.startsWith('/')) return bad(`requestPath ${JSON.stringify(requestPath)} must start with "/"`);
  // It goes into a request line: printable ASCII, no spaces (Envoy refuses control characters too).
  if (!/^\/[\x21-\x7e]*$/.test(requestPath)) return bad(`requestPath ${JSON.stringify(requestPath)} must be printable ASCII without spaces`);
  const spec: HealthCheckSpec = { type: 'HTTP', port, requestPath, ...GCLB_HEALTH_CHECK_DEFAULTS };
  for (const key of ['checkIntervalSec', 'timeoutSec', 'healthyThreshold', 'unhealthyThreshold'] as const) {
    const v = hc[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 300) return bad(`${key} ${JSON.stringify(v)} must be an integer from 1 to 300`);
    spec[key] = v;
  }
  if (spec.timeoutSec > spec.checkIntervalSec) return bad(`timeoutSec ${spec.timeoutSec} must not exceed checkIntervalSec ${spec.checkIntervalSec}`);
  return { ok: true, value: spec };
}

export interface EdgePlan {
  mcs: MultiClusterService;
  derivedServiceName: string;
  servicePort: ServicePort;
  healthCheck: HealthCheckSpec;
  /** The certificates HTTPS on 443 presents, in spec.template.spec.tls order (absent: no tls, HTTP only). */
  tls?: EdgeCertificate[];
}

export interface EdgeCertificate {
  secretName: string;
  certificateChainPem: string;
  privateKeyPem: string;
}

/** What the MCI's edge serves, or the reason it cannot (the status condition's reason and message). */
/**
 * The protocol the edge speaks to the gateways for a port: HTTP unless the app-protocols annotation
 * names the port. HTTPS and HTTP2 backends (TLS from the load balancer to the gateway) are refused:
 * the edge's health checks share the backend connection's transport, so they need more than a flag.
 */
function backendProtocol(mcs: MultiClusterService, port: ServicePort): Result<'HTTP'> {
  if (mcs.appProtocolsAnnotation === undefined) return { ok: true, value: 'HTTP' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(mcs.appProtocolsAnnotation);
  } catch {
    return { ok: false, reason: 'InvalidAppProtocols', message: `MultiClusterService ${mcs.namespace}/${mcs.name}: the app-protocols annotation is not JSON ({"<port name>": "HTTP" | "HTTPS" | "HTTP2"})` };
  }
  const value = isRecord(parsed) && port.name !== undefined ? parsed[port.name] : undefined;
  if (value === undefined || value === 'HTTP') return { ok: true, value: 'HTTP' };
  return {
    ok: false,
    reason: 'UnsupportedAppProtocol',
    message: `MultiClusterService ${mcs.namespace}/${mcs.name}: port ${port.name} has app protocol ${String(value)}; the local edge speaks HTTP to the gateways only (TLS to backends is not implemented). Remove the annotation's entry, or give the gateway an HTTP port for the edge.`,
  };
}

export function planEdge(mci: MultiClusterIngress, services: readonly MultiClusterService[], backendConfigs: readonly BackendConfig[], credentials: readonly GatewayCredential[] = []): Result<EdgePlan> {
  if (mci.hasRules) return { ok: false, reason: 'UnsupportedRules', message: 'spec.template.spec.rules is not implemented by the local edge: use spec.template.spec.backend' };
  if (!mci.backend) return { ok: false, reason: 'MissingBackend', message: 'spec.template.spec.backend (serviceName, servicePort) is required' };
  const { serviceName, servicePort } = mci.backend;
  const mcs = services.find((s) => s.namespace === mci.namespace && s.name === serviceName);
  if (!mcs) {
    return { ok: false, reason: 'BackendServiceNotFound', message: `MultiClusterService ${mci.namespace}/${serviceName} (spec.template.spec.backend.serviceName) does not exist in the config cluster` };
  }
  const port = mcs.ports.find((p) => (typeof servicePort === 'number' ? p.port === servicePort : p.name === servicePort));
  if (!port) {
    const known = mcs.ports.map((p) => (p.name ? `${p.name}/${p.port}` : String(p.port))).join(', ');
    return { ok: false, reason: 'BackendPortNotFound', message: `MultiClusterService ${mcs.namespace}/${mcs.name} has no port ${servicePort} (ports: ${known || 'none'})` };
  }
  const bcName = backendConfigNameFor(mcs.backendConfigAnnotation, port);
  if (!bcName.ok) return { ok: false, reason: bcName.reason, message: `MultiClusterService ${mcs.namespace}/${mcs.name}: ${bcName.message}` };
  let bc: BackendConfig | undefined;
  if (bcName.value !== undefined) {
    bc = backendConfigs.find((b) => b.namespace === mcs.namespace && b.name === bcName.value);
    if (!bc) return { ok: false, reason: 'BackendConfigNotFound', message: `BackendConfig ${mcs.namespace}/${bcName.value} (annotation of MultiClusterService ${mcs.name}) does not exist` };
  }
  const healthCheck = healthCheckFor(bc, port);
  if (!healthCheck.ok) return healthCheck;
  const protocol = backendProtocol(mcs, port);
  if (!protocol.ok) return protocol;
  const tls: EdgeCertificate[] = [];
  for (const secretName of mci.tlsSecretNames) {
    const credential = credentials.find((c) => c.namespace === mci.namespace && c.name === secretName);
    if (!credential?.certificateChainPem || !credential.privateKeyPem) {
      const why = credential ? (credential.problem ?? 'it has no tls.crt and tls.key') : 'it does not exist';
      return { ok: false, reason: 'TLSSecretInvalid', message: `Secret ${mci.namespace}/${secretName} (spec.template.spec.tls) cannot be used: ${why}. Create it in the config cluster: kubectl create secret tls ${secretName} -n ${mci.namespace} --cert=... --key=...` };
    }
    tls.push({ secretName, certificateChainPem: credential.certificateChainPem, privateKeyPem: credential.privateKeyPem });
  }
  return { ok: true, value: { mcs, derivedServiceName: derivedServiceName(mcs), servicePort: port, healthCheck: healthCheck.value, ...(tls.length > 0 ? { tls } : {}) } };
}
