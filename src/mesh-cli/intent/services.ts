// The services a proxy in the client's namespace can call, with their endpoints: Kubernetes services
// of every member cluster (from the registry) and the hosts of ServiceEntries exported to the client.

import type { ServiceEntry } from '../../config/istio-types.js';
import type { IstioObject, MeshServicePort } from '../../registry/model.js';
import { Underivable, type KnownEndpoint, type KnownService } from './model.js';
import { exportedTo, kubernetesHostNames } from './names.js';

export interface CatalogEndpoint {
  address: string;
  /** Target port per service port key (port name, or the number as a string). */
  ports: Readonly<Record<string, number>>;
  labels: Readonly<Record<string, string>>;
  ready: boolean;
  cluster?: string;
  pod?: string;
}

export interface CatalogService {
  hostname: string;
  namespace: string;
  ports: readonly MeshServicePort[];
  /** The Host header names it answers for from the client's namespace. */
  hostNames: string[];
  endpoints: CatalogEndpoint[];
  /** `ServiceEntry ns/name` for ServiceEntry hosts. */
  origin?: string;
  /** Set when its endpoints cannot be known from config (a ServiceEntry with resolution NONE, or weighted endpoints). */
  unknownEndpoints?: string;
}

/** The key a MeshEndpoint uses for a service port in its `ports`. */
export function portKey(port: MeshServicePort): string {
  return port.name ?? String(port.port);
}

function kubernetesService(service: KnownService, endpoints: readonly KnownEndpoint[], clientNamespace: string): CatalogService {
  return {
    hostname: service.hostname,
    namespace: service.namespace,
    ports: service.ports,
    hostNames: kubernetesHostNames(service.name, service.namespace, service.hostname, clientNamespace),
    endpoints: endpoints
      .filter((e) => e.hostname === service.hostname)
      .map((e) => ({ address: e.address, ports: e.ports, labels: e.labels, ready: e.ready, cluster: e.cluster, ...(e.podName ? { pod: e.podName } : {}) })),
  };
}

/**
 * Istio's workloadSelector: the pods of the entry's namespace whose labels match (each once, though a pod
 * backing several Services is listed once per Service), at their pod IPs, on the entry's target ports.
 */
function selectedWorkloads(entry: IstioObject<ServiceEntry>, ports: readonly MeshServicePort[], services: readonly KnownService[], endpoints: readonly KnownEndpoint[]): CatalogEndpoint[] {
  const selector = entry.spec.workloadSelector?.labels ?? {};
  const inNamespace = new Set(services.filter((s) => s.namespace === entry.namespace).map((s) => s.hostname));
  const seen = new Set<string>();
  const out: CatalogEndpoint[] = [];
  for (const e of endpoints) {
    if (!inNamespace.has(e.hostname) || !Object.entries(selector).every(([k, v]) => e.labels[k] === v)) continue;
    const key = `${e.cluster}/${e.address}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const portMap = Object.fromEntries(ports.map((p) => [portKey(p), typeof p.targetPort === 'number' ? p.targetPort : p.port]));
    out.push({ address: e.address, ports: portMap, labels: e.labels, ready: e.ready, cluster: e.cluster, ...(e.podName ? { pod: e.podName } : {}) });
  }
  return out;
}

function serviceEntryHosts(entry: IstioObject<ServiceEntry>, services: readonly KnownService[], knownEndpoints: readonly KnownEndpoint[]): CatalogService[] {
  const spec = entry.spec;
  const origin = `ServiceEntry ${entry.namespace}/${entry.name}`;
  const ports: MeshServicePort[] = (spec.ports ?? []).map((p) => ({
    ...(p.name ? { name: p.name } : {}),
    port: p.number,
    protocol: 'TCP',
    ...(p.protocol ? { appProtocol: p.protocol.toLowerCase() } : {}),
    ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
  }));
  const resolution = spec.resolution ?? 'NONE';
  let unknownEndpoints: string | undefined;
  if (resolution === 'NONE') unknownEndpoints = `${origin} has resolution NONE: the mesh does not serve it (no address to pass the request to)`;
  else if (spec.workloadSelector && resolution !== 'STATIC') unknownEndpoints = `${origin} selects workloads with resolution ${resolution}: the mesh does not serve it`;
  else if ((spec.endpoints ?? []).some((we) => we.weight !== undefined && we.weight > 1)) unknownEndpoints = `${origin} weighs its endpoints (weight): the split between them is not modelled`;
  return (spec.hosts ?? []).filter((h) => !h.startsWith('*')).map((host) => {
    const hostname = host.toLowerCase();
    // DNS without endpoints: Envoy resolves the host itself, one logical endpoint.
    const declared = spec.endpoints && spec.endpoints.length > 0 ? spec.endpoints : resolution.startsWith('DNS') ? [{ address: hostname }] : [];
    const endpoints: CatalogEndpoint[] = spec.workloadSelector ? selectedWorkloads(entry, ports, services, knownEndpoints) : declared.map((we) => ({
      address: we.address ?? hostname,
      ports: Object.fromEntries(ports.map((p) => [portKey(p), (p.name && we.ports?.[p.name]) || (typeof p.targetPort === 'number' ? p.targetPort : p.port)])),
      labels: we.labels ?? {},
      ready: true,
    }));
    return { hostname, namespace: entry.namespace, ports, hostNames: [hostname], endpoints, origin, ...(unknownEndpoints ? { unknownEndpoints } : {}) };
  });
}

export class ServiceCatalog {
  readonly #byHostname = new Map<string, CatalogService>();

  constructor(services: readonly KnownService[], endpoints: readonly KnownEndpoint[], serviceEntries: readonly IstioObject<ServiceEntry>[], clientNamespace: string) {
    for (const s of services) if (!this.#byHostname.has(s.hostname)) this.#byHostname.set(s.hostname, kubernetesService(s, endpoints, clientNamespace));
    for (const entry of serviceEntries) {
      if (!exportedTo(entry.spec.exportTo, entry.namespace, clientNamespace)) continue;
      for (const service of serviceEntryHosts(entry, services, endpoints)) {
        // Kubernetes keeps a name its Service has.
        if (this.#byHostname.has(service.hostname)) continue;
        this.#byHostname.set(service.hostname, service);
      }
    }
  }

  get(hostname: string): CatalogService | undefined {
    return this.#byHostname.get(hostname);
  }

  /** The service a Host header name (without port) reaches. */
  forHostName(name: string): CatalogService | undefined {
    return this.#byHostname.get(name) ?? [...this.#byHostname.values()].find((s) => s.hostNames.includes(name));
  }
}

/** A service's endpoints for one port and subset selector, or why there can be none known. */
export function endpointsOf(service: CatalogService, port: MeshServicePort, matches: (labels: Readonly<Record<string, string>>) => boolean): CatalogEndpoint[] {
  if (service.unknownEndpoints) throw new Underivable(service.unknownEndpoints);
  const key = portKey(port);
  // Istio augments endpoint labels with the member cluster, so a subset can select one cluster.
  return service.endpoints.filter((e) => e.ports[key] !== undefined && matches(e.cluster ? { ...e.labels, 'topology.istio.io/cluster': e.cluster } : e.labels));
}
