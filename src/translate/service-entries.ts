// ServiceEntry -> services the mesh can route to, one per host, as Istio translates them:
// - STATIC: the endpoints' addresses (with their ports, labels, locality and weight) go to EDS;
// - workloadSelector: the mesh's pods in the entry's namespace whose labels match are the endpoints
//   (read from the registry's endpoints, so a pod that backs no Kubernetes Service is not seen);
// - DNS: the proxy resolves the endpoints' addresses (or the host itself when there are none) and
//   keeps every address (a STRICT_DNS cluster); DNS_ROUND_ROBIN keeps the first (LOGICAL_DNS);
// - NONE (pass the connection to the address the app dialled) has nothing to pass to: apps reach the
//   mesh through the sidecar's HTTP proxy listener, which sees a host name, never an address. Reported.
// location (MESH_EXTERNAL / MESH_INTERNAL) changes mTLS and telemetry in Istio; this mesh has neither
// (traffic between proxies is plaintext), so it changes nothing here, and MESH_INTERNAL says so.

import type { ServiceEntry, WorkloadEntry } from '../config/istio-types.js';
import type { IstioObject, MeshEndpoint, MeshServicePort } from '../registry/model.js';
import type { ServiceView } from './context.js';
import { endpointPortKey, labelsMatch } from './names.js';
import { problemAt, type ProblemLog } from '../config/problems.js';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function serviceEntryServices(
  entry: IstioObject<ServiceEntry>,
  problems: ProblemLog,
  /** The registry's endpoints: the pods a workloadSelector may select. */
  meshEndpoints: readonly MeshEndpoint[] = [],
): Array<{ service: ServiceView; endpoints: MeshEndpoint[] }> {
  const ref = { kind: 'ServiceEntry' as const, name: entry.name, namespace: entry.namespace };
  const spec = entry.spec;
  const resolution = spec.resolution ?? 'NONE';
  if (resolution === 'NONE') {
    problems.add(problemAt(ref, 'warning', 'unsupported', 'spec.resolution',
      'resolution NONE passes a connection on to the address the app dialled; apps here reach the mesh through the ' +
        'sidecar\'s HTTP proxy listener, which only sees the host name, so there is no address to pass to. ' +
        'This ServiceEntry is not served: use STATIC with endpoints (or a workloadSelector), or DNS.'));
    return [];
  }
  if (spec.workloadSelector && resolution !== 'STATIC') {
    problems.add(problemAt(ref, 'error', 'invalid-route', 'spec.workloadSelector',
      `a workloadSelector needs resolution STATIC (the selected pods' addresses), not ${resolution}; this ServiceEntry is not served.`));
    return [];
  }
  if (spec.workloadSelector && spec.endpoints && spec.endpoints.length > 0) {
    problems.add(problemAt(ref, 'error', 'invalid-route', 'spec.workloadSelector',
      'set either workloadSelector or endpoints, not both (Istio\'s validation refuses both); this ServiceEntry is not served.'));
    return [];
  }
  const ports: MeshServicePort[] = (spec.ports ?? []).map((p) => ({
    name: p.name,
    port: p.number,
    protocol: 'TCP',
    appProtocol: p.protocol?.toLowerCase(),
    targetPort: p.targetPort,
  }));
  if (ports.length === 0) {
    problems.add(problemAt(ref, 'error', 'unknown-port', 'spec.ports', 'a ServiceEntry needs at least one port; add spec.ports.'));
    return [];
  }
  reportUnusedEndpointFields(entry, problems);
  const out: Array<{ service: ServiceView; endpoints: MeshEndpoint[] }> = [];
  (spec.hosts ?? []).forEach((rawHost, hostIndex) => {
    const host = rawHost.toLowerCase();
    if (host.includes('*')) {
      problems.add(problemAt(ref, 'warning', 'unsupported', `spec.hosts[${hostIndex}]`,
        `wildcard host ${host} is not supported; list each host explicitly.`));
      return;
    }
    const service: ServiceView = {
      hostname: host,
      name: host,
      namespace: entry.namespace,
      ports,
      clusters: [entry.cluster],
      discovery: resolution === 'STATIC' ? 'eds' : resolution === 'DNS_ROUND_ROBIN' ? 'logical-dns' : 'dns',
      exportTo: spec.exportTo,
      origin: ref,
      // Istio's auto mTLS never applies to MESH_EXTERNAL (the default) entries.
      meshExternal: spec.location !== 'MESH_INTERNAL',
      ...(spec.subjectAltNames && spec.subjectAltNames.length > 0 ? { subjectAltNames: spec.subjectAltNames } : {}),
    };
    const endpoints = spec.workloadSelector
      ? selectedWorkloads(entry, host, ports, meshEndpoints)
      : listedEndpoints(entry, host, ports, resolution, problems);
    if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
      problems.add(problemAt(ref, 'error', 'invalid-route', 'spec.endpoints',
        'DNS_ROUND_ROBIN resolves one name (Envoy\'s LOGICAL_DNS takes one endpoint); use DNS for several endpoints. This host is not served.'));
      return;
    }
    out.push({ service, endpoints });
  });
  return out;
}

/** The endpoint port of each service port: the endpoint's own port by name, else targetPort, else the port. */
function portMap(ports: readonly MeshServicePort[], byName: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of ports) out[endpointPortKey(p)] = (p.name ? byName?.[p.name] : undefined) ?? (typeof p.targetPort === 'number' ? p.targetPort : p.port);
  return out;
}

function listedEndpoints(entry: IstioObject<ServiceEntry>, host: string, ports: readonly MeshServicePort[], resolution: string, problems: ProblemLog): MeshEndpoint[] {
  const ref = { kind: 'ServiceEntry' as const, name: entry.name, namespace: entry.namespace };
  const spec = entry.spec;
  // DNS without endpoints resolves the host itself.
  const workloads: WorkloadEntry[] = spec.endpoints && spec.endpoints.length > 0 ? spec.endpoints : resolution === 'STATIC' ? [] : [{ address: host }];
  const endpoints: MeshEndpoint[] = [];
  workloads.forEach((w, i) => {
    const address = w.address ?? '';
    if (resolution === 'STATIC' && !IPV4.test(address)) {
      problems.add(problemAt(ref, 'error', 'invalid-route', `spec.endpoints[${i}].address`,
        `STATIC resolution needs IP addresses, got "${address}"; use resolution DNS for host names.`));
      return;
    }
    const [region = '', zone = '', subZone = ''] = (w.locality ?? '').split('/');
    const endpoint: MeshEndpoint = {
      hostname: host,
      cluster: entry.cluster,
      address,
      ports: portMap(ports, w.ports),
      labels: w.labels ?? {},
      locality: { region, zone, ...(subZone ? { subZone } : {}) },
      ready: true,
      namespace: entry.namespace,
      hasSidecar: false,
    };
    if (w.weight !== undefined && w.weight > 0) endpoint.weight = w.weight;
    if (w.serviceAccount) endpoint.serviceAccount = w.serviceAccount;
    endpoints.push(endpoint);
  });
  return endpoints;
}

/**
 * Istio's workloadSelector: the pods of the entry's namespace whose labels match, each once (a pod backing
 * several Services appears once per Service in the registry), at its pod IP, ready or not as the pod is.
 */
function selectedWorkloads(entry: IstioObject<ServiceEntry>, host: string, ports: readonly MeshServicePort[], meshEndpoints: readonly MeshEndpoint[]): MeshEndpoint[] {
  const selector = entry.spec.workloadSelector?.labels ?? {};
  const seen = new Set<string>();
  const out: MeshEndpoint[] = [];
  for (const e of meshEndpoints) {
    if (e.namespace !== entry.namespace || !labelsMatch(selector, e.labels)) continue;
    const key = `${e.cluster}/${e.address}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      hostname: host,
      cluster: e.cluster,
      address: e.address,
      ports: portMap(ports, undefined),
      labels: e.labels,
      locality: e.locality,
      ready: e.ready,
      podName: e.podName,
      namespace: e.namespace,
      hasSidecar: e.hasSidecar,
      ...(e.appAddress !== undefined ? { appAddress: e.appAddress } : {}),
      ...(e.serviceAccount !== undefined ? { serviceAccount: e.serviceAccount } : {}),
    });
  }
  return out;
}

/** WorkloadEntry fields with no effect in this mesh: reported, never dropped in silence. */
function reportUnusedEndpointFields(entry: IstioObject<ServiceEntry>, problems: ProblemLog): void {
  const ref = { kind: 'ServiceEntry' as const, name: entry.name, namespace: entry.namespace };
  (entry.spec.endpoints ?? []).forEach((w, i) => {
    if (w.network) {
      problems.add(problemAt(ref, 'warning', 'unsupported', `spec.endpoints[${i}].network`,
        'networks (reaching endpoints through another network\'s east-west gateway) are not supported: the endpoint is dialled directly.'));
    }
  });
}
