// The topology panel, Kiali's versioned-app graph: a workload node per (cluster, namespace, workload) from
// the pods (ready pods as instances, shown with no traffic too), a service node per (destination cluster,
// host) as Kiali draws a multi-cluster mesh, edges source workload -> service -> destination workload with
// the window's request rate, 5xx share and p99 (cross-cluster where the caller's cluster is not the
// service node's), and
// a node per MultiClusterIngress with its gateways as the edge's health checks see them. Health as
// Kiali colours it: >= 20 % failing, > 0.1 % degraded, no traffic idle. Pure.
//
// Exports: WorkloadInventory, ServiceInventory, MciView, TopologyInput, buildTopology, healthOfErrors.
import type { Health, Topology, TopologyEdge, TopologyNode } from './model.js';
import { mergeBuckets, p99Of, workloadKey, type EdgeTraffic, type WorkloadRef } from './traffic.js';

/** A workload as its pods show it. */
export interface WorkloadInventory extends WorkloadRef {
  pods: number;
  ready: number;
  sidecar: boolean;
  /** A gateway (ingress/egress): the proxy is the pod's only container. */
  gateway: boolean;
  /** Pod IPs, to tell which workload an MCI backend address is. */
  ips: string[];
}

export interface ServiceInventory {
  /** The member cluster that has the Service (a host in two clusters is two service nodes). */
  cluster: string;
  host: string;
  namespace: string;
  name: string;
}

export interface MciBackend {
  id: string;
  cluster: string;
  /** ip:port the edge sends to. */
  address: string;
  healthy: boolean;
  detail?: string;
  /** Requests the edge sent to it over the window, when known. */
  requests?: number;
}

export interface MciView {
  namespace: string;
  name: string;
  vip?: string;
  /** Why the edge's own view could not be read (then health is unknown). */
  error?: string;
  backends: MciBackend[];
}

export interface TopologyInput {
  workloads: readonly WorkloadInventory[];
  services: readonly ServiceInventory[];
  traffic: readonly EdgeTraffic[];
  windowSeconds: number;
  mcis?: readonly MciView[];
}

/** Kiali's request health thresholds: >= 20 % errors failing, > 0.1 % degraded. */
export const FAILING_ERROR_RATE = 0.2;
export const DEGRADED_ERROR_RATE = 0.001;

export function healthOfErrors(requests: number, errors: number): Health {
  if (requests <= 0) return 'idle';
  const rate = errors / requests;
  if (rate >= FAILING_ERROR_RATE) return 'failing';
  if (rate > DEGRADED_ERROR_RATE) return 'degraded';
  return 'healthy';
}

const SEVERITY: Record<Health, number> = { unknown: 0, idle: 1, healthy: 2, degraded: 3, failing: 4 };
const worst = (...hs: Health[]): Health => hs.reduce((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), 'unknown');

/** `svc:<cluster>/<host>`: one node per destination cluster, so only edges that cross clusters look like they do. */
export const serviceNodeId = (cluster: string, host: string): string => `svc:${cluster}/${host}`;
export const workloadNodeId = (w: Pick<WorkloadRef, 'cluster' | 'namespace' | 'workload'>): string => `wl:${workloadKey(w)}`;
export const UNKNOWN_NODE = 'unknown';
/** Istio's value for a cluster nobody knows: the service node of such requests is `svc:unknown/<host>`, in no cluster. */
const UNKNOWN_CLUSTER = 'unknown';

function workloadLabel(w: WorkloadRef): string {
  const app = w.app && w.app !== 'unknown' ? w.app : w.workload;
  return w.version && w.version !== 'unknown' ? `${app} ${w.version}` : w.workload;
}

interface EdgeAcc {
  source: string;
  target: string;
  requests: number;
  errors: number;
  buckets: Map<number, number>;
  crossCluster: boolean;
  security: Set<string>;
}

export function buildTopology(input: TopologyInput): Topology {
  const seconds = input.windowSeconds > 0 ? input.windowSeconds : 1;
  const nodes = new Map<string, TopologyNode>();
  const inventory = new Map(input.workloads.map((w) => [workloadKey(w), w]));

  const addWorkload = (w: WorkloadRef): string => {
    const id = workloadNodeId(w);
    if (!nodes.has(id)) {
      const inv = inventory.get(workloadKey(w));
      nodes.set(id, {
        id,
        type: inv?.gateway ? 'gateway' : 'workload',
        label: inv?.gateway ? w.workload : workloadLabel(w),
        cluster: w.cluster,
        namespace: w.namespace,
        ...(w.app && w.app !== 'unknown' ? { app: w.app } : {}),
        ...(w.version && w.version !== 'unknown' ? { version: w.version } : {}),
        ...(inv ? { instances: inv.ready } : {}),
        health: 'unknown',
      });
    }
    return id;
  };
  /** `cluster` undefined: nobody knows where the request went (an `unknown` node outside the clusters). */
  const addService = (cluster: string | undefined, host: string, namespace?: string): string => {
    const id = serviceNodeId(cluster ?? UNKNOWN_CLUSTER, host);
    if (!nodes.has(id)) {
      const parts = host.split('.');
      const ns = namespace ?? (parts.length >= 3 && parts[2] === 'svc' ? parts[1] : undefined);
      nodes.set(id, {
        id,
        type: 'service',
        label: parts.length >= 3 && parts[2] === 'svc' ? parts[0]! : host,
        ...(cluster ? { cluster } : {}),
        ...(ns ? { namespace: ns } : {}),
        health: 'unknown',
      });
    }
    return id;
  };

  for (const w of input.workloads) addWorkload(w);
  for (const s of input.services) addService(s.cluster, s.host, s.namespace);

  const edges = new Map<string, EdgeAcc>();
  const contribute = (source: string, target: string, t: EdgeTraffic, crossCluster: boolean): void => {
    const id = `${source}->${target}`;
    let e = edges.get(id);
    if (!e) {
      e = { source, target, requests: 0, errors: 0, buckets: new Map(), crossCluster, security: new Set() };
      edges.set(id, e);
    }
    e.requests += t.requests;
    e.errors += t.errors;
    mergeBuckets(e.buckets, t.buckets);
    if (t.security) e.security.add(t.security);
  };
  for (const t of input.traffic) {
    let source = UNKNOWN_NODE;
    if (t.source) source = addWorkload(t.source);
    else if (!nodes.has(UNKNOWN_NODE)) nodes.set(UNKNOWN_NODE, { id: UNKNOWN_NODE, type: 'unknown', label: 'unknown', health: 'unknown' });
    const destination = t.destination ? addWorkload(t.destination) : undefined;
    // Where the request went (destination_cluster); one that reached no workload stopped in its caller's cluster.
    const cluster = t.destination?.cluster ?? t.destinationCluster ?? t.source?.cluster;
    // Cross-cluster only when both ends are known and differ: the service node sits in the destination's cluster,
    // so the hop service -> workload never crosses.
    const crosses = t.source !== undefined && cluster !== undefined && t.source.cluster !== cluster;
    if (t.service === 'unknown' || t.service === '') {
      if (destination) contribute(source, destination, t, crosses);
      continue;
    }
    const service = addService(cluster, t.service);
    contribute(source, service, t, crosses);
    if (destination) contribute(service, destination, t, false);
  }

  const mciEdges: TopologyEdge[] = [];
  for (const mci of input.mcis ?? []) {
    const id = `mci:${mci.namespace}/${mci.name}`;
    const healthy = mci.backends.filter((b) => b.healthy).length;
    const health: Health = mci.error ? 'unknown' : mci.backends.length === 0 || healthy === 0 ? 'failing' : healthy < mci.backends.length ? 'degraded' : 'healthy';
    nodes.set(id, {
      id,
      type: 'mci',
      label: mci.name,
      namespace: mci.namespace,
      instances: healthy,
      health,
      ...(mci.vip ? { vip: mci.vip } : {}),
      backends: mci.backends.map((b) => ({ cluster: b.cluster, address: b.address, healthy: b.healthy, ...(b.detail ? { detail: b.detail } : {}) })),
    });
    for (const b of mci.backends) {
      const ip = b.address.replace(/:\d+$/, '');
      const gateway = input.workloads.find((w) => w.cluster === b.cluster && w.ips.includes(ip)) ?? input.workloads.find((w) => w.ips.includes(ip));
      if (!gateway) continue;
      const requests = b.requests ?? 0;
      mciEdges.push({
        id: `${id}->${workloadNodeId(gateway)}`,
        source: id,
        target: workloadNodeId(gateway),
        rps: requests / seconds,
        errorRate: 0,
        crossCluster: false,
        health: b.healthy ? (requests > 0 ? 'healthy' : 'idle') : 'failing',
      });
    }
  }

  const out: TopologyEdge[] = [...edges.entries()].map(([id, e]) => {
    const p99 = p99Of(e.buckets);
    const security = e.security.size === 0 ? undefined : e.security.size === 1 ? [...e.security][0] : 'none';
    return {
      id,
      source: e.source,
      target: e.target,
      rps: e.requests / seconds,
      errorRate: e.requests > 0 ? e.errors / e.requests : 0,
      ...(p99 !== undefined ? { p99Ms: p99 } : {}),
      crossCluster: e.crossCluster,
      ...(security ? { security } : {}),
      health: healthOfErrors(e.requests, e.errors),
    };
  });

  // A node's traffic health: what arrives at it (services, destinations), or, for a pure caller, what it sends.
  for (const node of nodes.values()) {
    if (node.type === 'mci') continue;
    const inbound = [...edges.values()].filter((e) => e.target === node.id);
    const outbound = [...edges.values()].filter((e) => e.source === node.id);
    const judged = inbound.length > 0 ? inbound : outbound;
    const traffic = healthOfErrors(judged.reduce((a, e) => a + e.requests, 0), judged.reduce((a, e) => a + e.errors, 0));
    const inv = node.id.startsWith('wl:') ? inventory.get(node.id.slice(3)) : undefined;
    const pods: Health = !inv ? 'unknown' : inv.pods > 0 && inv.ready === 0 ? 'failing' : inv.ready < inv.pods ? 'degraded' : 'unknown';
    node.health = worst(traffic, pods);
  }

  return {
    nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
    edges: [...out, ...mciEdges].sort((a, b) => a.id.localeCompare(b.id)),
  };
}
