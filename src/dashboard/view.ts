// What the dashboard page shows, computed from a DashboardState: graph elements and their labels, merged
// propagation rows, canary step text. Pure functions with no DOM, shared by the page (web/dashboard, bundled
// by Vite) and its unit tests here; the page only turns these values into Cytoscape elements and tables.
import type { CanaryView, DashboardState, Health, TopologyEdge, TopologyNode } from './model.js';
import type { ConfigChange, ProxyPropagation, ProxyPropagationState } from '../controlplane/propagation-report.js';

export interface GraphNode {
  id: string;
  /** The cluster compound node a workload, gateway or service sits in; MCIs span clusters. */
  parent?: string;
  label: string;
  kind: TopologyNode['type'] | 'cluster';
  health: Health;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  label: string;
  health: Health;
  crossCluster: boolean;
  rps: number;
}

export interface GraphElements {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export const CLUSTER_NODE_PREFIX = 'cluster:';

export function clusterNodeId(cluster: string): string {
  return CLUSTER_NODE_PREFIX + cluster;
}

/** Clusters as compound nodes (every cluster listed, and any a node names that the list lacks), then the nodes and edges. */
export function graphElements(state: DashboardState): GraphElements {
  const clusters = new Map<string, Health>();
  for (const cluster of state.clusters) clusters.set(cluster.name, cluster.controlPlane.reachable ? 'healthy' : 'failing');
  const nodes: GraphNode[] = [];
  const nodeIds = new Set<string>();
  for (const node of state.topology.nodes) {
    const inCluster = (node.type === 'workload' || node.type === 'gateway' || node.type === 'service') && node.cluster !== undefined;
    if (inCluster && !clusters.has(node.cluster!)) clusters.set(node.cluster!, 'unknown');
    nodes.push({
      id: node.id,
      ...(inCluster ? { parent: clusterNodeId(node.cluster!) } : {}),
      label: nodeLabel(node),
      kind: node.type,
      health: node.health,
    });
    nodeIds.add(node.id);
  }
  const clusterNodes: GraphNode[] = [...clusters].map(([name, health]) => ({
    id: clusterNodeId(name),
    label: name,
    kind: 'cluster',
    health,
  }));
  // An edge to a node the collector did not list would make Cytoscape throw; show it to an `unknown` node.
  const edges: GraphEdge[] = [];
  let needUnknown = false;
  for (const edge of state.topology.edges) {
    const source = nodeIds.has(edge.source) ? edge.source : 'unknown';
    const target = nodeIds.has(edge.target) ? edge.target : 'unknown';
    if (source === 'unknown' || target === 'unknown') needUnknown = true;
    edges.push({
      id: edge.id,
      source,
      target,
      label: edgeLabel(edge),
      health: edge.health,
      crossCluster: edge.crossCluster,
      rps: edge.rps,
    });
  }
  if (needUnknown && !nodeIds.has('unknown')) nodes.push({ id: 'unknown', label: 'unknown', kind: 'unknown', health: 'unknown' });
  return { nodes: [...clusterNodes, ...nodes], edges };
}

/** Kiali's versioned-app labels: `helloworld v2` for a workload; an MCI says its VIP and gateways' health. */
export function nodeLabel(node: TopologyNode): string {
  switch (node.type) {
    case 'workload':
      if (node.app !== undefined) return node.version !== undefined ? `${node.app} ${node.version}` : node.app;
      return node.label;
    case 'mci': {
      const lines = [node.label];
      if (node.vip !== undefined) lines.push(`VIP ${node.vip}`);
      if (node.backends !== undefined) {
        const healthy = node.backends.filter((b) => b.healthy).length;
        lines.push(`${healthy}/${node.backends.length} gateways healthy`);
      }
      return lines.join('\n');
    }
    default:
      return node.label;
  }
}

/** `12.3 rps · 0.0% · p99 4 ms`; the p99 part only when the window had requests to measure. */
export function edgeLabel(edge: Pick<TopologyEdge, 'rps' | 'errorRate' | 'p99Ms'>): string {
  const parts = [`${formatRate(edge.rps)} rps`, `${(edge.errorRate * 100).toFixed(1)}%`];
  if (edge.p99Ms !== undefined) parts.push(`p99 ${formatMs(edge.p99Ms)} ms`);
  return parts.join(' · ');
}

export function formatRate(rps: number): string {
  return rps >= 100 ? rps.toFixed(0) : rps.toFixed(1);
}

export function formatMs(ms: number): string {
  if (ms >= 10) return ms.toFixed(0);
  return String(Number(ms.toFixed(1)));
}

export function formatPercent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** A key that changes only when nodes or edges are added or removed (or move to another parent): when to lay out again. */
export function structureKey(elements: GraphElements): string {
  const nodes = elements.nodes.map((n) => `${n.id}<${n.parent ?? ''}`).sort();
  const edges = elements.edges.map((e) => `${e.id}:${e.source}>${e.target}`).sort();
  return `${nodes.join('|')}#${edges.join('|')}`;
}

export interface ChangeView {
  key: string;
  /** `VirtualService sample/helloworld@1234`. */
  title: string;
  change: ConfigChange;
  proxies: ProxyPropagation[];
  summary: Record<ProxyPropagationState, number>;
  /** Every proxy ACKed (none pending, sent, NACKed or disconnected) and there is at least one. */
  complete: boolean;
  /** Largest ACK latency, the scale of the timeline bar. */
  maxLatencyMs: number;
}

/**
 * One row per change, newest first. Each control plane reports the changes it saw with its own proxies;
 * the same change (source cluster, kind, object, resourceVersion) seen by several is shown once with all
 * their proxies, from the earliest observation.
 */
export function changeViews(changes: readonly ConfigChange[]): ChangeView[] {
  const byKey = new Map<string, { change: ConfigChange; proxies: Map<string, ProxyPropagation> }>();
  for (const change of changes) {
    const key = changeKey(change);
    let entry = byKey.get(key);
    if (!entry) {
      entry = { change, proxies: new Map() };
      byKey.set(key, entry);
    } else if (change.observedAt < entry.change.observedAt) {
      entry.change = { ...change, proxies: entry.change.proxies };
    }
    for (const proxy of change.proxies) entry.proxies.set(`${proxy.cluster}/${proxy.nodeId}`, proxy);
  }
  const views = [...byKey].map(([key, { change, proxies }]) => {
    const list = [...proxies.values()].sort((a, b) => a.cluster.localeCompare(b.cluster) || proxyName(a).localeCompare(proxyName(b)));
    const summary: Record<ProxyPropagationState, number> = { acked: 0, nacked: 0, sent: 0, pending: 0, disconnected: 0 };
    for (const proxy of list) summary[proxy.state] = (summary[proxy.state] ?? 0) + 1;
    return {
      key,
      title: `${change.kind} ${change.namespace}/${change.name}@${change.resourceVersion}`,
      change,
      proxies: list,
      summary,
      complete: list.length > 0 && summary.acked === list.length,
      maxLatencyMs: Math.max(0, ...list.map((p) => p.latencyMs ?? 0)),
    };
  });
  return views.sort((a, b) => b.change.observedAt.localeCompare(a.change.observedAt));
}

export function changeKey(change: Pick<ConfigChange, 'sourceCluster' | 'kind' | 'namespace' | 'name' | 'resourceVersion'>): string {
  return `${change.sourceCluster}/${change.kind}/${change.namespace}/${change.name}@${change.resourceVersion}`;
}

/** `helloworld-v1-abc.sample` when the node id names the pod, else the node id. */
export function proxyName(proxy: ProxyPropagation): string {
  return proxy.pod ?? proxy.nodeId;
}

/** `step 2 of 4` (1-based for people); `not started` before the first step. */
export function stepText(canary: Pick<CanaryView, 'stepIndex' | 'steps'>): string {
  if (canary.stepIndex < 0) return `not started (${canary.steps.length} steps)`;
  return `step ${canary.stepIndex + 1} of ${canary.steps.length}`;
}

export function canaryKey(canary: Pick<CanaryView, 'cluster' | 'namespace' | 'name'>): string {
  return `${canary.cluster}/${canary.namespace}/${canary.name}`;
}

/** How long a proxy may stay `sent` or `pending` for a change before the page calls it stale. */
export const STALE_AFTER_MS = 10_000;

/** The state to show: a push not ACKed `STALE_AFTER_MS` after the change was observed is `stale`. */
export function shownState(proxy: ProxyPropagation, change: Pick<ConfigChange, 'observedAt'>, now: string): ProxyPropagationState | 'stale' {
  if (proxy.state !== 'sent' && proxy.state !== 'pending') return proxy.state;
  return Date.parse(now) - Date.parse(change.observedAt) > STALE_AFTER_MS ? 'stale' : proxy.state;
}
