// The Canary resource (rollouts.meshwork.io/v1alpha1): progressive traffic shifting between two subsets of
// one service, across versions or across clusters, with analysis and rollback. The analysis block follows
// Flagger's (interval, threshold, stepWeight/maxWeight/stepWeights, metrics with thresholdRange, webhooks)
// so its users find their way; the target is Istio's own: a host, the VirtualServices that route to it,
// and two DestinationRule subsets (a version canary: `version` labels; an infrastructure canary: subsets
// selecting Istio's `topology.istio.io/cluster` endpoint label).

export const CANARY_GROUP = 'rollouts.meshwork.io';
export const CANARY_VERSION = 'v1alpha1';
export const CANARY_API_VERSION = `${CANARY_GROUP}/${CANARY_VERSION}`;
export const CANARY_KIND = 'Canary';
export const CANARY_PLURAL = 'canaries';
/** The field manager of every write the controller makes (server-side ownership of the weights). */
export const CANARY_FIELD_MANAGER = 'meshwork-canary';

export interface CanarySide {
  /** A subset of the host's DestinationRule (in the Canary's namespace, in each driven cluster). */
  subset: string;
}

export interface CanaryMetric {
  /**
   * `request-success-rate`: percent of the side's requests not answered 5xx (thresholdRange.min);
   * `request-duration`: the side's p99 in milliseconds (thresholdRange.max). Flagger's names.
   */
  name: 'request-success-rate' | 'request-duration';
  thresholdRange: { min?: number; max?: number };
}

export interface CanaryWebhook {
  name: string;
  /** `pre-step`: before every weight change, non-2xx fails the check; `confirm-promotion`: before 100 %, non-2xx waits. */
  type: 'pre-step' | 'confirm-promotion';
  url: string;
  /** Go duration, default 10s. */
  timeout?: string;
}

export interface CanaryAnalysis {
  /** Go duration between checks (and weight steps), e.g. `30s`, `1m`. */
  interval: string;
  /** Failed checks in a row that roll the canary back. Default 2. */
  threshold?: number;
  /** The canary's weight per step, increasing, in percent; promotion (100) after the last. */
  stepWeights?: number[];
  /** Or: the canary's weight grows by stepWeight up to maxWeight (default 50), then promotion. */
  stepWeight?: number;
  maxWeight?: number;
  /** A check with fewer canary requests than this is inconclusive: it neither advances nor counts as failed. Default 20. */
  minRequests?: number;
  metrics: CanaryMetric[];
  /** Prometheus' HTTP API base URL; without it the controller scrapes the proxies itself. */
  prometheus?: { address: string };
  webhooks?: CanaryWebhook[];
}

export interface CanarySpec {
  /** The destination host the routes send to, as written in the VirtualServices (`helloworld` or its FQDN). */
  host: string;
  /** VirtualServices in the Canary's namespace whose routes to `host` the controller drives. Default: [short name of host]. */
  virtualServices?: string[];
  /** Member clusters whose copies of those VirtualServices are driven. Default: every member cluster that has one. */
  clusters?: string[];
  baseline: CanarySide;
  canary: CanarySide;
  analysis: CanaryAnalysis;
  /** Stop at the current step (weights stay); false resumes. */
  paused?: boolean;
  /** Go to 100 % canary now, skipping the remaining steps and analysis. */
  promote?: boolean;
  /** Restore the stable routes and stop (phase Aborted). */
  abort?: boolean;
}

export type CanaryPhase =
  | 'Initializing' // the controller records the stable routes before the first change
  | 'Progressing' // stepping through the weights
  | 'Paused' // by spec.paused, or by a human edit of the owned weights (condition ManualWeightChange)
  | 'Promoting' // final step: canary 100 %
  | 'Succeeded' // canary at 100 %, done
  | 'RolledBack' // analysis failed `threshold` times in a row; stable routes restored
  | 'Aborted' // by spec.abort; stable routes restored
  | 'Failed'; // the target cannot be driven (no such VirtualService/subset, write refused): message says why

/** One driven route: http[routeIndex] of a VirtualService in one member cluster. */
export interface RouteRef {
  cluster: string;
  virtualService: string;
  /** Index into spec.http. */
  routeIndex: number;
}

export interface SideMeasurement {
  requests: number;
  /** Percent of requests not answered 5xx; absent without requests. */
  successRate?: number;
  /** p99 latency in ms (histogram quantile, as Prometheus' histogram_quantile); absent without requests. */
  p99Ms?: number;
}

export interface CanaryAnalysisResult {
  /** RFC 3339. */
  time: string;
  /** The canary weight the traffic was measured at. */
  canaryWeight: number;
  /** `prometheus` or `proxies`. */
  source: 'prometheus' | 'proxies';
  canary: SideMeasurement;
  baseline: SideMeasurement;
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** One per failed threshold or reason for inconclusive, e.g. `request-success-rate 79.2 % < min 99 %`. */
  reasons: string[];
}

export interface CanaryCondition {
  type: 'Promoted' | 'Paused' | 'ManualWeightChange' | 'AnalysisFailed' | 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface RouteSnapshot extends RouteRef {
  /** The route's `route` array (HTTPRouteDestination[]) as the user wrote it, restored on rollback/abort. */
  stable: unknown[];
  /** The weights the controller wrote last, by subset: a differing live value is a human edit. */
  applied?: Record<string, number>;
}

export interface CanaryStatus {
  phase: CanaryPhase;
  observedGeneration?: number;
  /** Index of the step whose weight is in force; -1 before the first. */
  currentStep: number;
  canaryWeight: number;
  /** Consecutive failed checks. */
  failedChecks: number;
  routes: RouteSnapshot[];
  lastAnalysis?: CanaryAnalysisResult;
  /** RFC 3339: when the current step's weights were written (the next check is interval after). */
  lastStepTime?: string;
  conditions: CanaryCondition[];
  message?: string;
}

export interface Canary {
  apiVersion: typeof CANARY_API_VERSION;
  kind: typeof CANARY_KIND;
  metadata: { name: string; namespace: string; generation?: number; resourceVersion?: string; uid?: string; creationTimestamp?: string };
  spec: CanarySpec;
  status?: CanaryStatus;
}
