// A synthetic mesh for the xDS scale benchmark: S services in namespace `sample` (or spread over K
// namespaces `ns-<k>`, service i in ns-<i mod K>), each present in two member clusters with E endpoints
// spread over them (version v1 in cluster-1, v2 in cluster-2), plus a DestinationRule + VirtualService
// (80/20 by subset) on the first service. With `sidecars`, every namespace has a Sidecar as large Istio
// users write them: egress `./*`, `istio-system/*` and the first service of each of the next three
// namespaces (its dependencies). Pure data, no Kubernetes.
import { createHash } from 'node:crypto';
import type { DestinationRule, Sidecar, VirtualService } from '../../src/config/istio-types.js';
import type { IstioObject, MeshEndpoint, MeshService, MeshSnapshot } from '../../src/registry/model.js';

export const NAMESPACE = 'sample';
export const CLUSTERS = ['cluster-1', 'cluster-2'] as const;
const SUBNET: Record<string, number> = { 'cluster-1': 10, 'cluster-2': 20 };
const PORT = 5000;

export interface MeshSpec {
  services: number;
  endpointsPerService: number;
  /** Weight of subset v1 on the first service (v2 gets the rest). */
  weightV1: number;
  /** Extra endpoints added to the first service (the endpoint-change step). */
  extraEndpoints: number;
  /** 0: every service and proxy in `sample`; K > 0: services and proxies spread over namespaces ns-0 .. ns-(K-1). */
  namespaces?: number;
  /** A Sidecar in every namespace (needs namespaces > 0). */
  sidecars?: boolean;
}

/** How many dependencies (first services of the next namespaces) each namespace's Sidecar names. */
export const SIDECAR_DEPENDENCIES = 3;

export function serviceName(i: number): string {
  return `svc-${i}`;
}

/** The namespace of service i, and of proxy i. */
export function namespaceOf(i: number, namespaces = 0): string {
  return namespaces > 0 ? `ns-${i % namespaces}` : NAMESPACE;
}

export function hostnameOf(i: number, namespaces = 0): string {
  return `${serviceName(i)}.${namespaceOf(i, namespaces)}.svc.cluster.local`;
}

/** Namespace k's Sidecar: its own namespace, istio-system, and the first service of namespaces k+1 .. k+SIDECAR_DEPENDENCIES. */
export function namespaceSidecar(k: number, namespaces: number): IstioObject<Sidecar> {
  const dependencies = Array.from({ length: Math.min(SIDECAR_DEPENDENCIES, namespaces - 1) }, (_, d) => (k + 1 + d) % namespaces);
  return {
    name: 'default',
    namespace: namespaceOf(k, namespaces),
    cluster: 'cluster-1',
    spec: { egress: [{ hosts: ['./*', 'istio-system/*', ...dependencies.map((j) => `${namespaceOf(j, namespaces)}/${hostnameOf(j, namespaces)}`)] }] },
  };
}

/** Pod IPs: the k-th pod of a cluster gets 127.<s>.<k/250>.<2 + k%250> (within the cluster's pod range). */
function podIp(cluster: string, k: number, app = false): string {
  const s = SUBNET[cluster];
  return `127.${s}.${Math.floor(k / 250) + (app ? 128 : 0)}.${2 + (k % 250)}`;
}

function endpoint(service: number, cluster: string, k: number, namespaces: number): MeshEndpoint {
  const version = cluster === 'cluster-1' ? 'v1' : 'v2';
  return {
    hostname: hostnameOf(service, namespaces),
    cluster,
    address: podIp(cluster, k),
    ports: { http: PORT },
    labels: { app: serviceName(service), version },
    locality: { region: 'local', zone: cluster },
    ready: true,
    podName: `${serviceName(service)}-${version}-${k}`,
    namespace: namespaceOf(service, namespaces),
    hasSidecar: true,
    appAddress: podIp(cluster, k, true),
  };
}

export function buildMesh(spec: MeshSpec): MeshSnapshot {
  const services: MeshService[] = [];
  const endpoints: MeshEndpoint[] = [];
  const nextPod: Record<string, number> = { 'cluster-1': 0, 'cluster-2': 0 };
  const namespaces = spec.namespaces ?? 0;
  const add = (service: number, cluster: string): void => {
    endpoints.push(endpoint(service, cluster, nextPod[cluster]++, namespaces));
  };
  for (let i = 0; i < spec.services; i++) {
    services.push({
      hostname: hostnameOf(i, namespaces),
      name: serviceName(i),
      namespace: namespaceOf(i, namespaces),
      ports: [{ name: 'http', port: PORT, protocol: 'TCP', targetPort: PORT }],
      clusters: [...CLUSTERS],
    });
    for (let e = 0; e < spec.endpointsPerService; e++) add(i, CLUSTERS[e % CLUSTERS.length]);
  }
  for (let x = 0; x < spec.extraEndpoints; x++) add(0, 'cluster-1');

  const host = hostnameOf(0, namespaces);
  const vs: VirtualService = {
    hosts: [serviceName(0)],
    http: [
      {
        route: [
          { destination: { host, subset: 'v1' }, weight: spec.weightV1 },
          { destination: { host, subset: 'v2' }, weight: 100 - spec.weightV1 },
        ],
      },
    ],
  };
  const dr: DestinationRule = { host, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] };
  const ns0 = namespaceOf(0, namespaces);
  const virtualServices: IstioObject<VirtualService>[] = [{ name: serviceName(0), namespace: ns0, spec: vs, cluster: 'cluster-1' }];
  const destinationRules: IstioObject<DestinationRule>[] = [{ name: serviceName(0), namespace: ns0, spec: dr, cluster: 'cluster-1' }];
  const sidecars = spec.sidecars && namespaces > 0 ? Array.from({ length: namespaces }, (_, k) => namespaceSidecar(k, namespaces)) : [];
  const content = {
    services, endpoints, virtualServices, destinationRules, gateways: [], serviceEntries: [], domainSuffix: 'cluster.local',
    ...(sidecars.length > 0 ? { sidecars } : {}),
  };
  // As the registry does: the version is a hash of the content, so any change is a new version.
  const version = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 12);
  return { ...content, version };
}

/** The simulated sidecar of proxy i: `sidecar~127.0.x.y~sleep-i.<ns>~<ns>.svc.cluster.local`, alternating clusters. */
export function sidecarNode(i: number, namespaces = 0): { id: string; cluster: string; namespace: string } {
  const ip = `127.0.${Math.floor(i / 250)}.${2 + (i % 250)}`;
  const namespace = namespaceOf(i, namespaces);
  return { id: `sidecar~${ip}~sleep-${i}.${namespace}~${namespace}.svc.cluster.local`, cluster: CLUSTERS[i % CLUSTERS.length], namespace };
}
