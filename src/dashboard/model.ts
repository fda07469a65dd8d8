// The dashboard's data model: what `meshwork dashboard` pushes to the page (GET /api/state once, then
// Server-Sent Events on GET /api/events: `event: state` with a whole DashboardState, every refresh).
// Types only, shared by the collector (src/dashboard/*.ts, Node) and the page (web/dashboard/, bundled by
// Vite). Rates are per second over `windowSeconds`; shares are 0..1.

import type { ConfigChange } from '../controlplane/propagation-report.js';

export type Health = 'healthy' | 'degraded' | 'failing' | 'idle' | 'unknown';

export interface DashboardState {
  /** ISO time this state was collected. */
  collectedAt: string;
  windowSeconds: number;
  clusters: ClusterInfo[];
  topology: Topology;
  splits: SplitPanel[];
  propagation: ConfigChange[];
  canaries: CanaryView[];
  /** Sources that could not be read this round (a control plane down, a pod not scraped), said plainly. */
  problems: string[];
}

export interface ClusterInfo {
  name: string;
  /** kubeconfig context. */
  context: string;
  controlPlane: { reachable: boolean; version?: string; proxies: number; error?: string };
}

export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

/**
 * Kiali's versioned-app graph of a multi-cluster mesh: a service node per host per destination cluster, a
 * workload node per app version per cluster.
 */
export interface TopologyNode {
  /**
   * Stable id: `svc:<cluster>/<host>` (the cluster the requests went to; `svc:unknown/<host>` when no
   * one knows), `wl:<cluster>/<namespace>/<workload>`, `mci:<ns>/<name>`, `unknown`.
   */
  id: string;
  type: 'service' | 'workload' | 'gateway' | 'mci' | 'unknown';
  label: string;
  /** For workloads, gateways and services (the member cluster they are in); undefined for MCIs and `unknown`. */
  cluster?: string;
  namespace?: string;
  app?: string;
  version?: string;
  /** workload: ready pods; mci: gateways healthy per health check. */
  instances?: number;
  health: Health;
  /** MultiClusterIngress: VIP and each backend gateway's health-check state as the edge sees it. */
  vip?: string;
  backends?: Array<{ cluster: string; address: string; healthy: boolean; detail?: string }>;
}

export interface TopologyEdge {
  id: string;
  source: string;
  target: string;
  /** Requests/s, share of 5xx (0..1), p99 ms (histogram_quantile over the window), undefined without data. */
  rps: number;
  errorRate: number;
  p99Ms?: number;
  /**
   * The requests left one member cluster for another: the source workload's cluster (source_cluster) is
   * not the cluster of the service node or workload they went to (destination_cluster). Edges from a
   * service node to its workloads never cross; edges from `unknown` callers are never marked.
   */
  crossCluster: boolean;
  /** `mutual_tls` | `none`, from connection_security_policy. */
  security?: string;
  health: Health;
}

export interface SplitPanel {
  /** `<namespace>/<virtualservice>` + route index, e.g. `sample/helloworld#0`. */
  id: string;
  virtualService: { namespace: string; name: string; cluster: string };
  routeIndex: number;
  host: string;
  /** By version (`v1`) or by cluster (`cluster-1`), from the subsets' labels. */
  dimension: 'version' | 'cluster' | 'subset';
  rows: Array<{ key: string; configured: number; observed: number; count: number }>;
  total: number;
  /** The chi-square verdict of the observed counts against the configured weights (same test as `meshwork traffic`). */
  verdict: 'PASS' | 'FAIL' | 'NOT ENOUGH DATA';
  pValue?: number;
  alpha: number;
  /** Why there is no verdict, or what the counts leave out, in words. */
  note?: string;
}

export interface CanaryView {
  namespace: string;
  name: string;
  cluster: string;
  phase: string;
  /** The weight of the canary side now, and the steps (percent) it goes through. */
  canaryWeight: number;
  steps: number[];
  /** Index in `steps` of the current step, -1 before the first. */
  stepIndex: number;
  failedChecks: number;
  lastAnalysis?: Array<{ metric: string; value?: number; threshold: number; passed: boolean; detail?: string }>;
  conditions: Array<{ type: string; status: string; reason?: string; message?: string }>;
  updatedAt?: string;
  /** The destination host and the two subsets. */
  host?: string;
  baselineSubset?: string;
  canarySubset?: string;
  /** The last check's verdict and its reasons (`request-success-rate 79.2 % < min 99 %`). */
  lastVerdict?: 'pass' | 'fail' | 'inconclusive';
  lastReasons?: string[];
  /** The controller's message (why it failed, what it waits for). */
  message?: string;
}

/**
 * Where the server gets the state from: the collector in `meshwork dashboard` (control planes, pods'
 * telemetry, Canaries of every kubeconfig context), or a fixture in tests of the page.
 * The server (src/dashboard/server.ts) calls `collect` every refresh and pushes the result to every page.
 */
export interface DashboardSource {
  collect(): Promise<DashboardState>;
  close(): Promise<void>;
}
