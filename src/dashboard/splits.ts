// The splits panel: every VirtualService http route with more than one weighted destination, its weights
// as configured (mapped through the DestinationRule subsets to versions, `version` label, or to member
// clusters, `topology.istio.io/cluster`), and the shares the proxies it applies to observed over the
// window: Istio's istio_requests_total at reporter="source" from the sidecars (or the gateways it names)
// of the cluster the VirtualService was read from, by destination_version / destination_cluster. The
// verdict is `meshwork traffic`'s: Pearson's chi-square of the counts against the weights (alpha 0.001),
// and no verdict on too few requests. Pure.
//
// Exports: SplitConfig, SplitSpec, splitSpecs, judgeSplit, MIN_TOTAL, MIN_EXPECTED.
import type { Sample } from '../telemetry/prom-text.js';
import type { DestinationRule, VirtualService } from '../config/istio-types.js';
import { destinationRuleFor } from '../mesh-cli/intent/destination-rules.js';
import { qualifyHost } from '../mesh-cli/intent/names.js';
import type { IstioObject } from '../registry/model.js';
import { chiSquareTest } from '../stats/chisquare.js';
import { ISTIO_REQUESTS_TOTAL } from '../telemetry/istio-metric-names.js';
import type { SplitPanel } from './model.js';
import { errorMessage } from '../mesh-cli/io.js';

/** `meshwork traffic`'s alpha: a correct split is called FAIL one time in a thousand. */
export const SPLIT_ALPHA = 0.001;
/** Fewer requests than this in the window, or an expected count below MIN_EXPECTED in a row: no verdict. */
export const MIN_TOTAL = 50;
export const MIN_EXPECTED = 5;

const VERSION_LABEL = 'version';
const CLUSTER_LABEL = 'topology.istio.io/cluster';
const METRIC_LABEL = { version: 'destination_version', cluster: 'destination_cluster' } as const;

/** One member cluster's Istio config, as its API server holds it. */
export interface SplitConfig {
  /** The member cluster (its proxies follow this copy). */
  cluster: string;
  virtualServices: readonly IstioObject<VirtualService>[];
  destinationRules: readonly IstioObject<DestinationRule>[];
  domainSuffix?: string;
  rootNamespace?: string;
}

export interface SplitRow {
  key: string;
  /** The destination host of the row (FQDN). */
  host: string;
  /** Configured share, 0..1. */
  weight: number;
}

export interface SplitSpec {
  id: string;
  virtualService: { namespace: string; name: string; cluster: string };
  routeIndex: number;
  /** The first destination's host (FQDN). */
  host: string;
  dimension: SplitPanel['dimension'];
  rows: SplitRow[];
  /** Whose requests follow the route: the cluster's sidecars (`mesh`) and/or its gateways. */
  sources: { cluster: string; sidecars: boolean; gateways: boolean };
  /** Changes whenever the configured weights do: the observation window starts again then. */
  weightsKey: string;
  /** Why no verdict can be given whatever the counts (the metrics cannot tell the rows or the route apart). */
  unjudgeable?: string;
}

/** A destination host as an FQDN: `helloworld` (in namespace sample), `helloworld.sample`, `helloworld.sample.svc`. */
export function fqdnOf(host: string, namespace: string, domainSuffix: string): string {
  const q = qualifyHost(host, namespace, domainSuffix);
  const parts = q.split('.');
  if (parts.length === 2) return `${q}.svc.${domainSuffix}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${q}.${domainSuffix}`;
  return q;
}

const shortName = (fqdn: string): string => fqdn.split('.')[0] ?? fqdn;

/** The specs of one cluster's weighted routes, and what could not be read of them. */
export function splitSpecs(config: SplitConfig): { specs: SplitSpec[]; problems: string[] } {
  const domainSuffix = config.domainSuffix ?? 'cluster.local';
  const rootNamespace = config.rootNamespace ?? 'istio-system';
  const specs: SplitSpec[] = [];
  const problems: string[] = [];
  for (const vs of config.virtualServices) {
    const http = vs.spec.http ?? [];
    const gateways = vs.spec.gateways && vs.spec.gateways.length > 0 ? vs.spec.gateways : ['mesh'];
    http.forEach((route, routeIndex) => {
      const destinations = route.route ?? [];
      if (destinations.length < 2) return;
      const name = `${vs.namespace}/${vs.name}`;
      const where = `VirtualService ${name} (${config.cluster}) http[${routeIndex}]`;
      const totalWeight = destinations.reduce((a, d) => a + (d.weight ?? 0), 0);
      if (totalWeight <= 0) {
        problems.push(`${where}: ${destinations.length} destinations and no weight: not shown in the splits`);
        return;
      }
      // Each destination's key by its subset's labels: version, else member cluster, else the subset name.
      const labelled = destinations.map((d) => {
        const host = fqdnOf(d.destination.host, vs.namespace, domainSuffix);
        let labels: Record<string, string> = {};
        let ruleProblem: string | undefined;
        if (d.destination.subset) {
          try {
            const hostNamespace = host.split('.')[1] ?? vs.namespace;
            const rule = destinationRuleFor(config.destinationRules, host, { clientNamespace: vs.namespace, serviceNamespace: hostNamespace, rootNamespace, domainSuffix });
            const subset = rule?.subsets.find((s) => s.name === d.destination.subset);
            if (subset) labels = subset.labels ?? {};
            else ruleProblem = `subset ${d.destination.subset} of ${host} is in no DestinationRule`;
          } catch (err) {
            ruleProblem = errorMessage(err);
          }
        }
        return { host, subset: d.destination.subset, labels, weight: (d.weight ?? 0) / totalWeight, ruleProblem };
      });
      const byVersion = labelled.every((d) => d.labels[VERSION_LABEL]);
      const byCluster = !byVersion && labelled.every((d) => d.labels[CLUSTER_LABEL]);
      const dimension: SplitPanel['dimension'] = byVersion ? 'version' : byCluster ? 'cluster' : 'subset';
      const hosts = new Set(labelled.map((d) => d.host));
      const rows: SplitRow[] = [];
      for (const d of labelled) {
        const raw = byVersion ? d.labels[VERSION_LABEL]! : byCluster ? d.labels[CLUSTER_LABEL]! : d.subset ?? shortName(d.host);
        const key = hosts.size > 1 ? `${shortName(d.host)}:${raw}` : raw;
        const row = rows.find((r) => r.key === key && r.host === d.host);
        if (row) row.weight += d.weight;
        else rows.push({ key, host: d.host, weight: d.weight });
      }
      const problemsHere = labelled.flatMap((d) => (d.ruleProblem ? [d.ruleProblem] : []));
      const others = http.flatMap((r, i) => (i !== routeIndex && (r.route ?? []).some((d) => hosts.has(fqdnOf(d.destination.host, vs.namespace, domainSuffix))) ? [i] : []));
      const unjudgeable =
        problemsHere.length > 0
          ? problemsHere.join('; ')
          : dimension === 'subset'
            ? `the subsets select neither a \`${VERSION_LABEL}\` nor a \`${CLUSTER_LABEL}\` label, which Istio's metrics carry: the shares cannot be observed`
            : others.length > 0
              ? `http[${others.join('], http[')}] of this VirtualService also send${others.length === 1 ? 's' : ''} to ${[...hosts].join(', ')}: the metrics do not say which route a request took`
              : undefined;
      specs.push({
        id: `${name}#${routeIndex}@${config.cluster}`,
        virtualService: { namespace: vs.namespace, name: vs.name, cluster: config.cluster },
        routeIndex,
        host: labelled[0]!.host,
        dimension,
        rows,
        sources: { cluster: config.cluster, sidecars: gateways.includes('mesh'), gateways: gateways.some((g) => g !== 'mesh') },
        weightsKey: JSON.stringify(rows.map((r) => [r.host, r.key, r.weight])),
        ...(unjudgeable ? { unjudgeable } : {}),
      });
    });
  }
  return { specs, problems };
}

/**
 * The panel of one spec from the window's increases. `isGateway(workloadKey)` tells the gateways'
 * series from the sidecars'.
 */
export function judgeSplit(spec: SplitSpec, increases: readonly Sample[], isGateway: (cluster: string, namespace: string, workload: string) => boolean, alpha = SPLIT_ALPHA): SplitPanel {
  const hosts = new Set(spec.rows.map((r) => r.host));
  const counts = new Map<string, number>();
  let unplaced = 0;
  const metricLabel = spec.dimension === 'version' ? METRIC_LABEL.version : spec.dimension === 'cluster' ? METRIC_LABEL.cluster : undefined;
  for (const s of increases) {
    const l = s.labels;
    if (s.name !== ISTIO_REQUESTS_TOTAL || l.reporter !== 'source' || l.source_cluster !== spec.sources.cluster) continue;
    const host = l.destination_service ?? '';
    if (!hosts.has(host)) continue;
    const gateway = isGateway(l.source_cluster ?? '', l.source_workload_namespace ?? '', l.source_workload ?? '');
    if (gateway ? !spec.sources.gateways : !spec.sources.sidecars) continue;
    const raw = metricLabel ? l[metricLabel] : undefined;
    if (!raw || raw === 'unknown') {
      unplaced += s.value;
      continue;
    }
    const key = hosts.size > 1 ? `${shortName(host)}:${raw}` : raw;
    counts.set(`${host}|${key}`, (counts.get(`${host}|${key}`) ?? 0) + s.value);
  }
  const rows = spec.rows.map((r) => ({ key: r.key, host: r.host, configured: r.weight, count: counts.get(`${r.host}|${r.key}`) ?? 0 }));
  // Answers from a version (cluster) the route gives no weight: a row of its own, which fails the test.
  for (const [k, count] of counts) {
    const [host, key] = [k.slice(0, k.indexOf('|')), k.slice(k.indexOf('|') + 1)];
    if (!rows.some((r) => r.host === host && r.key === key)) rows.push({ key, host, configured: 0, count });
  }
  const total = rows.reduce((a, r) => a + r.count, 0);
  const base = {
    id: spec.id,
    virtualService: spec.virtualService,
    routeIndex: spec.routeIndex,
    host: spec.host,
    dimension: spec.dimension,
    rows: rows.map((r) => ({ key: r.key, configured: r.configured, observed: total > 0 ? r.count / total : 0, count: r.count })),
    total,
    alpha,
  };
  const notes: string[] = [];
  if (unplaced > 0) notes.push(`${Math.round(unplaced)} request(s) reached no known ${spec.dimension} (no healthy upstream, or a peer the mesh does not know)`);
  if (spec.unjudgeable) return { ...base, verdict: 'NOT ENOUGH DATA', note: [spec.unjudgeable, ...notes].join('; ') };
  const tooFewExpected = rows.some((r) => r.configured > 0 && r.configured * total < MIN_EXPECTED);
  if (total < MIN_TOTAL || tooFewExpected) {
    notes.unshift(`${Math.round(total)} request(s) in the window; a verdict needs at least ${MIN_TOTAL} and ${MIN_EXPECTED} expected in every row`);
    return { ...base, verdict: 'NOT ENOUGH DATA', note: notes.join('; ') };
  }
  const result = chiSquareTest(rows.map((r) => r.count), rows.map((r) => r.configured), alpha);
  return { ...base, verdict: result.pass ? 'PASS' : 'FAIL', pValue: result.pValue, ...(notes.length ? { note: notes.join('; ') } : {}) };
}
