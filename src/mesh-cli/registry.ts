// The control plane's /debug/registry, reduced to what the mesh commands need: which pod (name,
// member cluster, labels) sits behind an endpoint address. Read defensively: it is another process's JSON.

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
