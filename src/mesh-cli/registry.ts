// The control plane's /debug/registry, reduced to what the mesh commands need: which pod (name,
// member cluster, labels) sits behind an endpoint address, and the services and endpoints the intent
// of a request is derived from. Read defensively: it is another process's JSON.

import type { MeshServicePort } from '../registry/model.js';
import type { KnownEndpoint, KnownService } from './intent/model.js';

export interface RegistryEndpoint {
  address: string;
  cluster: string;
  podName?: string;
  namespace?: string;
  labels: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export function parseRegistry(body: unknown): RegistryEndpoint[] {
  if (!isObject(body) || !Array.isArray(body.clusters)) throw new Error('not a /debug/registry answer: expected {clusters: [...]}');
  const out: RegistryEndpoint[] = [];
  for (const cluster of body.clusters) {
    if (!isObject(cluster) || !Array.isArray(cluster.endpoints)) continue;
    for (const e of cluster.endpoints) {
      if (!isObject(e) || typeof e.address !== 'string') continue;
      const clusterId = typeof e.cluster === 'string' ? e.cluster : typeof cluster.clusterId === 'string' ? cluster.clusterId : '';
      out.push({
        address: e.address,
        cluster: clusterId,
        ...(typeof e.podName === 'string' ? { podName: e.podName } : {}),
        ...(typeof e.namespace === 'string' ? { namespace: e.namespace } : {}),
        labels: stringMap(e.labels),
      });
    }
  }
  return out;
}

function numberMap(v: unknown): Record<string, number> {
  if (!isObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

function servicePorts(v: unknown): MeshServicePort[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).flatMap((p) =>
    typeof p.port === 'number'
      ? [{
          port: p.port,
          protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
          ...(typeof p.name === 'string' ? { name: p.name } : {}),
          ...(typeof p.appProtocol === 'string' ? { appProtocol: p.appProtocol } : {}),
          ...(typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? { targetPort: p.targetPort } : {}),
        }]
      : [],
  );
}

/** The services (one per hostname, first cluster's ports first) and endpoints of every member cluster. */
export function parseRegistryMesh(body: unknown): { services: KnownService[]; endpoints: KnownEndpoint[] } {
  if (!isObject(body) || !Array.isArray(body.clusters)) throw new Error('not a /debug/registry answer: expected {clusters: [...]}');
  const services = new Map<string, KnownService>();
  const endpoints: KnownEndpoint[] = [];
  for (const cluster of body.clusters.filter(isObject)) {
    for (const s of Array.isArray(cluster.services) ? cluster.services.filter(isObject) : []) {
      if (typeof s.hostname !== 'string' || typeof s.name !== 'string' || typeof s.namespace !== 'string') continue;
      const known = services.get(s.hostname);
      const ports = servicePorts(s.ports);
      if (!known) services.set(s.hostname, { hostname: s.hostname, name: s.name, namespace: s.namespace, ports });
      else known.ports = [...known.ports, ...ports.filter((p) => !known.ports.some((k) => k.port === p.port))];
    }
    for (const e of Array.isArray(cluster.endpoints) ? cluster.endpoints.filter(isObject) : []) {
      if (typeof e.hostname !== 'string' || typeof e.address !== 'string') continue;
      const clusterId = typeof e.cluster === 'string' ? e.cluster : typeof cluster.clusterId === 'string' ? cluster.clusterId : '';
      endpoints.push({
        hostname: e.hostname,
        cluster: clusterId,
        address: e.address,
        ports: numberMap(e.ports),
        labels: stringMap(e.labels),
        // The registry says ready: false for endpoints Kubernetes reports as not ready.
        ready: e.ready !== false,
        ...(typeof e.podName === 'string' ? { podName: e.podName } : {}),
      });
    }
  }
  return { services: [...services.values()], endpoints };
}

/** Lookups by endpoint address (within a member cluster when known) and by pod name. */
export class EndpointDirectory {
  readonly #byAddress = new Map<string, RegistryEndpoint>();
  readonly #byPod = new Map<string, RegistryEndpoint>();

  constructor(endpoints: readonly RegistryEndpoint[]) {
    for (const e of endpoints) {
      this.#byAddress.set(`${e.cluster}|${e.address}`, e);
      if (!this.#byAddress.has(`|${e.address}`)) this.#byAddress.set(`|${e.address}`, e);
      if (e.podName && !this.#byPod.has(e.podName)) this.#byPod.set(e.podName, e);
    }
  }

  /** `ip` or `ip:port`; cluster narrows the search when two clusters reuse an address. */
  byAddress(address: string, cluster?: string): RegistryEndpoint | undefined {
    const ip = address.replace(/:\d+$/, '');
    return (cluster ? this.#byAddress.get(`${cluster}|${ip}`) : undefined) ?? this.#byAddress.get(`|${ip}`);
  }

  byPod(podName: string): RegistryEndpoint | undefined {
    return this.#byPod.get(podName);
  }
}
