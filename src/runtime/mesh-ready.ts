// Whether the mesh on the local clusters is serving with current config: every running pod with a
// sidecar (or gateway proxy) is connected to its cluster's control plane and has ACKed every type it
// was sent. `meshwork up -d` reports ready only then: after a crash the pods were adopted, but their
// control planes must first find the API servers again and push.
import { parseNodeId } from '../controlplane/identity.js';
import type { LocalCluster } from '../local/cluster.js';
import { POD_TYPE } from '../local/kubelet/events.js';
import { SIDECAR_CONTAINER } from '../registry/build.js';
import { asPod, type Pod } from '../local/kubelet/pod-types.js';

/** The control plane's debug port (/debug/syncz), as istiod's. */
const DEBUG_PORT = 15014;

const isRunning = (p: Pod): boolean => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp;

/** What is not synced yet, one line each ("sleep-abc.sample (cluster-1): not connected"); empty when all are. */
export async function unsyncedProxies(clusters: readonly Pick<LocalCluster, 'name' | 'store'>[]): Promise<string[]> {
  const pending: string[] = [];
  for (const cluster of clusters) {
    const pods = cluster.store.list(POD_TYPE).items.map(asPod).filter(isRunning);
    const controlPlanes = pods.filter((p) => p.metadata.namespace === 'istio-system' && p.metadata.labels?.app === 'istiod' && p.status?.podIP);
    const proxies = pods.filter((p) => p.spec.containers.some((c) => c.name === SIDECAR_CONTAINER));
    if (proxies.length === 0) continue;
    if (controlPlanes.length === 0) continue; // no mesh installed here: nothing to push to these proxies
    const synced = new Map<string, string | undefined>(); // "pod.ns" -> undefined when synced, else why not
    for (const cp of controlPlanes) {
      try {
        const res = await fetch(`http://${cp.status!.podIP}:${DEBUG_PORT}/debug/syncz`, { signal: AbortSignal.timeout(3000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        for (const [name, why] of syncStates(await res.json())) if (!synced.has(name) || why === undefined) synced.set(name, why);
      } catch (err) {
        pending.push(`${cp.metadata.name}.istio-system (${cluster.name}): control plane not answering (${(err as Error).message})`);
      }
    }
    for (const p of proxies) {
      const name = `${p.metadata.name}.${p.metadata.namespace ?? 'default'}`;
      if (!synced.has(name)) pending.push(`${name} (${cluster.name}): not connected to a control plane`);
      else if (synced.get(name) !== undefined) pending.push(`${name} (${cluster.name}): ${synced.get(name)}`);
    }
  }
  return pending;
}

/** pod.namespace -> undefined when every type it was sent is ACKed, else the types that are not. */
export function syncStates(syncz: unknown): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const proxies = (syncz as { proxies?: unknown }).proxies; // connected ones (disconnected are listed apart)
  if (!Array.isArray(proxies)) throw new Error('not a /debug/syncz answer');
  for (const p of proxies as Array<{ nodeId?: unknown; types?: Record<string, { state?: unknown }> }>) {
    if (typeof p.nodeId !== 'string') continue;
    const node = parseNodeId(p.nodeId);
    if (!node?.podName || !node.namespace) continue;
    const podNs = `${node.podName}.${node.namespace}`;
    const behind = Object.entries(p.types ?? {})
      .filter(([, t]) => t.state !== 'SYNCED' && t.state !== 'NOT SENT')
      .map(([type, t]) => `${type} ${String(t.state)}`);
    const anySynced = Object.values(p.types ?? {}).some((t) => t.state === 'SYNCED');
    const why = behind.length > 0 ? behind.join(', ') : anySynced ? undefined : 'no config received yet';
    if (!out.has(podNs) || why === undefined) out.set(podNs, why);
  }
  return out;
}
