// The mesh's workloads as their pods show them (pure): one entry per (member cluster, namespace,
// workload) with its app and version labels, how many pods it has and how many are ready, whether they
// run a sidecar or are a gateway (the proxy alone), and the pods' merged-metrics URLs to scrape.
// Pods count when they are in the mesh (a proxy runs in them) or share a namespace with pods that are;
// the control plane's own pods are not workloads of the mesh. The services, per member cluster that has
// them, from a control plane's /debug/registry.
//
// Exports: PodsOfCluster, inventoryOf, registryServices, propagationOf.
import type { V1Pod } from '@kubernetes/client-node';
import type { ConfigChange } from '../controlplane/propagation-report.js';
import { hasSidecarContainer, sidecarFrontsApp } from '../registry/build.js';
import { mergedMetricsUrl } from '../telemetry/merged-metrics.js';
import { workloadNameOf } from '../telemetry/workload-table.js';
import type { ServiceInventory, WorkloadInventory } from './topology.js';
import { workloadKey } from './traffic.js';
import type { ScrapeTarget } from './telemetry-source.js';

export interface PodsOfCluster {
  /** The member cluster (the control plane's cluster id, as Istio's metrics name it). */
  cluster: string;
  pods: readonly V1Pod[];
}

const isReady = (pod: V1Pod): boolean =>
  pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const isControlPlane = (pod: V1Pod): boolean => pod.metadata?.labels?.['app'] === 'istiod';

export function inventoryOf(clusters: readonly PodsOfCluster[]): { workloads: WorkloadInventory[]; targets: ScrapeTarget[]; meshNamespaces: Set<string> } {
  const workloads = new Map<string, WorkloadInventory>();
  const targets: ScrapeTarget[] = [];
  const meshNamespaces = new Set<string>();
  for (const { pods } of clusters) for (const p of pods) if (hasSidecarContainer(p) && p.metadata?.namespace) meshNamespaces.add(p.metadata.namespace);
  for (const { cluster, pods } of clusters) {
    for (const pod of pods) {
      const namespace = pod.metadata?.namespace ?? '';
      const name = pod.metadata?.name ?? '';
      if (!meshNamespaces.has(namespace) || isControlPlane(pod) || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const labels = pod.metadata?.labels ?? {};
      const ref = { cluster, namespace, workload: workloadNameOf(name, labels), app: labels['app'] || 'unknown', version: labels['version'] || 'unknown' };
      const key = workloadKey(ref);
      const proxy = hasSidecarContainer(pod);
      const w = workloads.get(key) ?? { ...ref, pods: 0, ready: 0, sidecar: false, gateway: false, ips: [] };
      workloads.set(key, w);
      w.pods++;
      if (isReady(pod)) w.ready++;
      if (proxy) {
        w.sidecar ||= sidecarFrontsApp(pod);
        w.gateway ||= !sidecarFrontsApp(pod);
        const url = mergedMetricsUrl(pod);
        if (url) targets.push({ url, pod: `${cluster}/${namespace}/${name}` });
      }
      if (pod.status?.podIP) w.ips.push(pod.status.podIP);
    }
  }
  return { workloads: [...workloads.values()].sort((a, b) => workloadKey(a).localeCompare(workloadKey(b))), targets, meshNamespaces };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The services of /debug/registry, one per (member cluster, host): the registry lists under each cluster
 * the services that cluster has, so a host in two clusters is two entries (two service nodes).
 */
export function registryServices(registry: unknown): ServiceInventory[] {
  if (!isObject(registry) || !Array.isArray(registry.clusters)) throw new Error('not a /debug/registry answer: expected {clusters: [...]}');
  const out: ServiceInventory[] = [];
  for (const c of registry.clusters.filter(isObject)) {
    if (typeof c.clusterId !== 'string' || !c.clusterId || !Array.isArray(c.services)) continue;
    for (const s of c.services.filter(isObject)) {
      if (typeof s.hostname !== 'string' || typeof s.name !== 'string' || typeof s.namespace !== 'string') continue;
      out.push({ cluster: c.clusterId, host: s.hostname, namespace: s.namespace, name: s.name });
    }
  }
  return out;
}

/** The changes of every control plane, newest first (a change applied to several clusters shows once per cluster). */
export function propagationOf(reports: ReadonlyArray<readonly ConfigChange[]>, limit = 200): ConfigChange[] {
  return reports.flat().sort((a, b) => b.observedAt.localeCompare(a.observedAt)).slice(0, limit);
}
