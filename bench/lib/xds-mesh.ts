// A synthetic mesh for the xDS scale benchmark: S services in namespace `sample`, each present in two
// member clusters with E endpoints spread over them (version v1 in cluster-1, v2 in cluster-2), plus
// a DestinationRule + VirtualService (80/20 by subset) on the first service. Pure data, no Kubernetes.
import { createHash } from 'node:crypto';
import type { DestinationRule, VirtualService } from '../../src/config/istio-types.js';
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
}

export function serviceName(i: number): string {
  return `svc-${i}`;
}

export function hostnameOf(i: number): string {
  return `${serviceName(i)}.${NAMESPACE}.svc.cluster.local`;
}

/** Pod IPs: the k-th pod of a cluster gets 127.<s>.<k/250>.<2 + k%250> (within the cluster's pod range). */
function podIp(cluster: string, k: number, app = false): string {
  const s = SUBNET[cluster];
  return `127.${s}.${Math.floor(k / 250) + (app ? 128 : 0)}.${2 + (k % 250)}`;
}

function endpoint(service: number, cluster: string, k: number): MeshEndpoint {
  const version = cluster === 'cluster-1' ? 'v1' : 'v2';
  return {
    hostname: hostnameOf(service),
    cluster,
    address: podIp(cluster, k),
    ports: { http: PORT },
    labels: { app: serviceName(service), version },
    locality: { region: 'local', zone: cluster },
    ready: true,
    podName: `${serviceName(service)}-${version}-${k}`,
    namespace: NAMESPACE,
    hasSidecar: true,
    appAddress: podIp(cluster, k, true),
  };
}

export function buildMesh(spec: MeshSpec): MeshSnapshot {
  const services: MeshService[] = [];
  const endpoints: MeshEndpoint[] = [];
  const nextPod: Record<string, number> = { 'cluster-1': 0, 'cluster-2': 0 };
  const add = (service: number, cluster: string): void => {
    endpoints.push(endpoint(service, cluster, nextPod[cluster]++));
  };
  for (let i = 0; i < spec.services; i++) {
    services.push({
      hostname: hostnameOf(i),
      name: serviceName(i),
      namespace: NAMESPACE,
      ports: [{ name: 'http', port: PORT, protocol: 'TCP', targetPort: PORT }],
      clusters: [...CLUSTERS],
    });
    for (let e = 0; e < spec.endpointsPerService; e++) add(i, CLUSTERS[e % CLUSTERS.length]);
  }
  for (let x = 0; x < spec.extraEndpoints; x++) add(0, 'cluster-1');

  const host = hostnameOf(0);
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
  const virtualServices: IstioObject<VirtualService>[] = [{ name: serviceName(0), namespace: NAMESPACE, spec: vs, cluster: 'cluster-1' }];
  const destinationRules: IstioObject<DestinationRule>[] = [{ name: serviceName(0), namespace: NAMESPACE, spec: dr, cluster: 'cluster-1' }];
  const content = { services, endpoints, virtualServices, destinationRules, gateways: [], serviceEntries: [], domainSuffix: 'cluster.local' };
  // As the registry does: the version is a hash of the content, so any change is a new version.
  const version = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 12);
  return { ...content, version };
}

/** The simulated sidecar of proxy i: `sidecar~127.0.x.y~sleep-i.sample~sample.svc.cluster.local`, alternating clusters. */
export function sidecarNode(i: number): { id: string; cluster: string } {
  const ip = `127.0.${Math.floor(i / 250)}.${2 + (i % 250)}`;
  return { id: `sidecar~${ip}~sleep-${i}.${NAMESPACE}~${NAMESPACE}.svc.cluster.local`, cluster: CLUSTERS[i % CLUSTERS.length] };
}
