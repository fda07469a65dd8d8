// Canary analysis, the pure part: which series belong to a side (its DestinationRule subset labels as
// Istio's metric labels), the PromQL for Prometheus, the measurement from two scrapes of the proxies
// (counter deltas; p99 from bucket deltas with Prometheus' histogram_quantile interpolation), and the
// verdict with its reasons.
//
// Exports: subsetLabels, sideSelector, promQueries, measureDelta, histogramQuantile, verdict, formatPercent.
import { ISTIO_REQUEST_DURATION, ISTIO_REQUESTS_TOTAL } from '../telemetry/istio-metric-names.js';
import type { Sample } from '../telemetry/prom-text.js';
import { hostMatches } from './routes.js';
import type { CanaryAnalysisResult, CanaryMetric, SideMeasurement } from '../config/canary/types.js';

/** Pod labels a subset may select on, and the Istio metric label that carries them at reporter=destination. */
export const SUBSET_LABEL_TO_METRIC_LABEL: Readonly<Record<string, string>> = {
  version: 'destination_version',
  'topology.istio.io/cluster': 'destination_cluster',
};

export interface SideSelector {
  /** Equality matchers on istio_requests_total and the duration histogram. */
  labels: Record<string, string>;
  /** Subset labels no metric carries: not used to tell the sides apart (reported). */
  ignored: string[];
}

/** The series of one side: reporter=destination, the service, and its subset labels mapped to metric labels. */
export function sideSelector(subset: string, subsetLabels: Record<string, string>, service: string, namespace: string): SideSelector {
  const labels: Record<string, string> = { reporter: 'destination', destination_service_name: service, destination_service_namespace: namespace };
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(subsetLabels)) {
    const metricLabel = SUBSET_LABEL_TO_METRIC_LABEL[k];
    if (metricLabel) labels[metricLabel] = v;
    else ignored.push(k);
  }
  if (Object.keys(labels).length === 3) {
    throw new Error(`subset ${subset} selects ${Object.keys(subsetLabels).join(', ') || 'no label'}: Istio's metrics tell subsets apart only by ${Object.keys(SUBSET_LABEL_TO_METRIC_LABEL).join(' or ')}; give the subset one of those labels`);
  }
  return { labels, ignored };
}

function matchers(labels: Record<string, string>, extra = ''): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return `{${[...parts, ...(extra ? [extra] : [])].join(',')}}`;
}

/** A PromQL range from milliseconds: `30s`, `1500ms`. */
function promRange(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

/** The three queries of one side over the interval (instant queries against /api/v1/query). */
export function promQueries(selector: SideSelector, intervalMs: number): { requests: string; errors: string; p99: string } {
  const r = promRange(intervalMs);
  return {
    requests: `sum(increase(${ISTIO_REQUESTS_TOTAL}${matchers(selector.labels)}[${r}]))`,
    errors: `sum(increase(${ISTIO_REQUESTS_TOTAL}${matchers(selector.labels, 'response_code=~"5.."')}[${r}]))`,
    p99: `histogram_quantile(0.99, sum by (le) (rate(${ISTIO_REQUEST_DURATION}_bucket${matchers(selector.labels)}[${r}])))`,
  };
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

function seriesKey(sample: Sample): string {
  return `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

/** Counter increase of each series from `before` to `after`; a series that went down restarted (Prometheus' reset rule). */
function deltas(before: readonly Sample[], after: readonly Sample[], name: string, labels: Record<string, string>): Sample[] {
  const prior = new Map(before.filter((s) => s.name === name).map((s) => [seriesKey(s), s.value]));
  return after
    .filter((s) => s.name === name && matches(s, labels))
    .map((s) => {
      const was = prior.get(seriesKey(s)) ?? 0;
      return { ...s, value: s.value >= was ? s.value - was : s.value };
    });
}

/**
 * Prometheus' histogram_quantile over cumulative buckets (upper bound `le`, count): linear
 * interpolation within the bucket holding the rank; the lowest bucket starts at 0; a rank in the +Inf
 * bucket gives the highest finite bound. Undefined without observations.
 */
export function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Infinity) return undefined;
  const total = sorted[sorted.length - 1]!.count;
  if (total <= 0) return undefined;
  const rank = q * total;
  const i = sorted.findIndex((b) => b.count >= rank);
  if (i === sorted.length - 1) return sorted[sorted.length - 2]!.le;
  const bucket = sorted[i]!;
  const start = i === 0 ? (bucket.le > 0 ? 0 : bucket.le) : sorted[i - 1]!.le;
  const below = i === 0 ? 0 : sorted[i - 1]!.count;
  const inBucket = bucket.count - below;
  if (inBucket <= 0) return bucket.le;
  return start + (bucket.le - start) * ((rank - below) / inBucket);
}

/** One side's measurement from two scrapes of the destination proxies (`before` may be empty: counters from zero). */
export function measureDelta(before: readonly Sample[], after: readonly Sample[], selector: SideSelector): SideMeasurement {
  const requests = deltas(before, after, ISTIO_REQUESTS_TOTAL, selector.labels);
  const total = requests.reduce((a, s) => a + s.value, 0);
  if (total <= 0) return { requests: 0 };
  const errors = requests.filter((s) => /^5\d\d$/.test(s.labels.response_code ?? '')).reduce((a, s) => a + s.value, 0);
  const byLe = new Map<number, number>();
  for (const s of deltas(before, after, `${ISTIO_REQUEST_DURATION}_bucket`, selector.labels)) {
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    if (!Number.isNaN(le)) byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const p99 = histogramQuantile(0.99, [...byLe].map(([le, count]) => ({ le, count })));
  return { requests: total, successRate: (100 * (total - errors)) / total, ...(p99 !== undefined ? { p99Ms: p99 } : {}) };
}

/** A percent with one decimal: `79.2`, `100`. */
export function formatPercent(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/**
 * The verdict on the canary side: inconclusive under minRequests, fail on any threshold crossed. The
 * baseline is measured for the record (status, audit) and not judged: thresholds are absolute, as Flagger's.
 */
export function verdict(
  canary: SideMeasurement,
  metrics: readonly CanaryMetric[],
  minRequests: number,
): Pick<CanaryAnalysisResult, 'verdict' | 'reasons'> {
  if (canary.requests < minRequests) {
    return { verdict: 'inconclusive', reasons: [`canary served ${Math.round(canary.requests)} request${canary.requests === 1 ? '' : 's'} < minRequests ${minRequests}`] };
  }
  const failed: string[] = [];
  const missing: string[] = [];
  for (const m of metrics) {
    if (m.name === 'request-success-rate' && m.thresholdRange.min !== undefined) {
      if (canary.successRate === undefined) missing.push('request-success-rate: no canary requests measured');
      else if (canary.successRate < m.thresholdRange.min) failed.push(`request-success-rate ${formatPercent(canary.successRate)} % < min ${m.thresholdRange.min} %`);
    }
    if (m.name === 'request-duration' && m.thresholdRange.max !== undefined) {
      if (canary.p99Ms === undefined) missing.push(`request-duration: no ${ISTIO_REQUEST_DURATION} histogram for the canary`);
      else if (canary.p99Ms > m.thresholdRange.max) failed.push(`request-duration p99 ${Math.round(canary.p99Ms * 10) / 10} ms > max ${m.thresholdRange.max} ms`);
    }
  }
  if (failed.length > 0) return { verdict: 'fail', reasons: failed };
  if (missing.length > 0) return { verdict: 'inconclusive', reasons: missing };
  return { verdict: 'pass', reasons: [] };
}

/**
 * The labels of `subset` in the DestinationRules (of the Canary's namespace) for `host`; throws naming
 * what is missing. Several rules for the host merge their subsets, the first definition winning (Istio's).
 */
export function subsetLabels(destinationRules: ReadonlyArray<{ metadata?: { name?: string }; spec?: unknown }>, host: string, namespace: string, subset: string, where: string): Record<string, string> {
  const forHost = destinationRules.filter((dr) => {
    const h = (dr.spec as { host?: unknown } | undefined)?.host;
    return typeof h === 'string' && hostMatches(h, host, namespace);
  });
  if (forHost.length === 0) throw new Error(`${where}: no DestinationRule in namespace ${namespace} for host ${host}: the subsets must be defined there`);
  for (const dr of forHost) {
    const subsets = (dr.spec as { subsets?: Array<{ name?: unknown; labels?: Record<string, string> }> }).subsets ?? [];
    const found = subsets.find((s) => s.name === subset);
    if (found) return { ...(found.labels ?? {}) };
  }
  throw new Error(`${where}: DestinationRule ${forHost.map((d) => `${namespace}/${d.metadata?.name ?? '?'}`).join(', ')} for host ${host} has no subset ${subset}`);
}
