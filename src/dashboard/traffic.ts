// Request traffic between workloads over the window, from the increases of Istio's series: requests, 5xx
// and duration buckets per (source workload, destination service, destination workload). Kiali's rule
// picks the reporter: a request into a workload with a sidecar is counted where it arrived
// (reporter="destination", which also sees callers outside the mesh); one into a workload without a
// sidecar (or nowhere: no healthy upstream) only its sender saw (reporter="source"). Each carries the
// destination_cluster it went to, which places its service node. Pure.
//
// Exports: WorkloadRef, EdgeTraffic, edgeTraffic, workloadKey, p99Of.
import type { Sample } from '../telemetry/prom-text.js';
import { histogramQuantile } from '../canary/analysis.js';
import { ISTIO_REQUEST_DURATION, ISTIO_REQUESTS_TOTAL } from '../telemetry/istio-metric-names.js';

export interface WorkloadRef {
  cluster: string;
  namespace: string;
  workload: string;
  app: string;
  version: string;
}

export interface EdgeTraffic {
  /** Undefined: a caller the mesh does not know (outside it, or without a sidecar and unseen). */
  source?: WorkloadRef;
  /** destination_service, e.g. `helloworld.sample.svc.cluster.local` (`unknown` when the sender could not tell). */
  service: string;
  /** Undefined: the request reached no workload (no healthy upstream, or one the mesh does not know). */
  destination?: WorkloadRef;
  /**
   * destination_cluster: the member cluster the request went to (its service node's cluster). Undefined
   * when the metric says `unknown` (no upstream was reached).
   */
  destinationCluster?: string;
  requests: number;
  /** Answered 5xx. */
  errors: number;
  /** Cumulative duration buckets (le ms -> count) of these requests, for the p99. */
  buckets: Map<number, number>;
  /** connection_security_policy at the destination (`mutual_tls`, `none`); undefined at reporter=source. */
  security?: string;
}

export const REQUEST_SERIES = [ISTIO_REQUESTS_TOTAL, `${ISTIO_REQUEST_DURATION}_bucket`];

const UNKNOWN = 'unknown';

function side(labels: Record<string, string>, prefix: 'source' | 'destination'): WorkloadRef | undefined {
  const workload = labels[`${prefix}_workload`];
  if (!workload || workload === UNKNOWN) return undefined;
  return {
    cluster: labels[`${prefix}_cluster`] ?? UNKNOWN,
    namespace: labels[`${prefix}_workload_namespace`] ?? UNKNOWN,
    workload,
    app: labels[`${prefix}_app`] ?? UNKNOWN,
    version: labels[`${prefix}_version`] ?? UNKNOWN,
  };
}

/** `cluster/namespace/workload`: a workload node's identity. */
export function workloadKey(w: Pick<WorkloadRef, 'cluster' | 'namespace' | 'workload'>): string {
  return `${w.cluster}/${w.namespace}/${w.workload}`;
}

/**
 * Whether the series counts a request under Kiali's rule. `hasSidecar(workloadKey)` says whether the
 * destination workload runs one (unknown workloads: true when the destination side reported them).
 */
export function counted(labels: Record<string, string>, hasSidecar: (key: string) => boolean): boolean {
  if (labels.reporter === 'destination') return true;
  if (labels.reporter !== 'source') return false;
  const destination = side(labels, 'destination');
  return destination === undefined || !hasSidecar(workloadKey(destination));
}

/** The traffic of every (source, service, destination) over the window's increases. */
export function edgeTraffic(increases: readonly Sample[], hasSidecar: (key: string) => boolean): EdgeTraffic[] {
  const edges = new Map<string, EdgeTraffic>();
  const edgeOf = (labels: Record<string, string>): EdgeTraffic => {
    const source = side(labels, 'source');
    const destination = side(labels, 'destination');
    const service = labels.destination_service || UNKNOWN;
    const security = labels.reporter === 'destination' ? labels.connection_security_policy : undefined;
    const cluster = labels.destination_cluster && labels.destination_cluster !== UNKNOWN ? labels.destination_cluster : undefined;
    const key = `${source ? workloadKey(source) : UNKNOWN}|${service}|${cluster ?? UNKNOWN}|${destination ? workloadKey(destination) : UNKNOWN}`;
    let edge = edges.get(key);
    if (!edge) {
      edge = {
        ...(source ? { source } : {}),
        service,
        ...(destination ? { destination } : {}),
        ...(cluster ? { destinationCluster: cluster } : {}),
        requests: 0,
        errors: 0,
        buckets: new Map(),
        ...(security && security !== UNKNOWN ? { security } : {}),
      };
      edges.set(key, edge);
    }
    return edge;
  };
  for (const s of increases) {
    if (!counted(s.labels, hasSidecar)) continue;
    if (s.name === ISTIO_REQUESTS_TOTAL) {
      const edge = edgeOf(s.labels);
      edge.requests += s.value;
      if (/^5\d\d$/.test(s.labels.response_code ?? '')) edge.errors += s.value;
    } else if (s.name === `${ISTIO_REQUEST_DURATION}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (Number.isNaN(le)) continue;
      const edge = edgeOf(s.labels);
      edge.buckets.set(le, (edge.buckets.get(le) ?? 0) + s.value);
    }
  }
  return [...edges.values()].filter((e) => e.requests > 0);
}

/** Prometheus' histogram_quantile(0.99) over summed cumulative buckets; undefined without observations. */
export function p99Of(buckets: ReadonlyMap<number, number>): number | undefined {
  return histogramQuantile(0.99, [...buckets].map(([le, count]) => ({ le, count })));
}

/** Sums the buckets of several edges (cumulative counts add up bucket by bucket). */
export function mergeBuckets(into: Map<number, number>, from: ReadonlyMap<number, number>): void {
  for (const [le, count] of from) into.set(le, (into.get(le) ?? 0) + count);
}
