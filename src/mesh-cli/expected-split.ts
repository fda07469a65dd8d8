// The split the mesh is configured to produce for one request, derived from a proxy's config: walk
// the config as Envoy would (listener -> route -> weighted clusters -> endpoints, with the translator's
// simulator), then give every endpoint its share: the route weight of its Envoy cluster divided among
// that cluster's endpoints. Envoy's default balancers (round robin, random, least request) spread
// evenly over healthy hosts; when fewer than the panic threshold (50%) are healthy, over all hosts;
// endpoints in several priorities (locality load balancing) get Envoy's priority load.
// Endpoints are then grouped by what an answer can tell: version, member cluster, instance.

import { DEFAULT_PANIC_THRESHOLD, effectiveLocalityWeight, priorityLoad } from '../proxy/cluster/priority-load.js';
import { simulate, type SimulatedEndpoint } from '../translate/simulate.js';
import type { ProxyResources } from '../translate/envoy-types.js';
import type { EndpointDirectory } from './registry.js';

export type SplitDimension = 'version' | 'cluster' | 'instance';

/** An endpoint's part of all requests, with what an answer can tell about it. */
export interface ShareHolder {
  address: string;
  memberCluster?: string;
  pod?: string;
  version?: string;
  /** Fraction of all requests (0..1). */
  share: number;
}

export interface EndpointShare extends ShareHolder {
  /** The Envoy cluster that sends to it: outbound|5000|v1|helloworld.sample.svc.cluster.local */
  envoyCluster: string;
}

/** Endpoint shares and the share that fails: the proxy's view, or the intent (mesh-cli/intent). */
export interface Shares {
  endpoints: readonly ShareHolder[];
  /** Fraction of requests expected to fail. */
  failShare: number;
}

export interface ExpectedSplit extends Shares {
  routeConfig: string;
  virtualHost: string;
  route: string;
  /** Route weights as configured: [envoy cluster, weight]. */
  weights: Array<[string, number]>;
  endpoints: EndpointShare[];
  notes: string[];
}

export interface SplitRequest {
  host: string;
  path: string;
  /** The listener the request arrives on: a gateway's server port; default a sidecar's outbound HTTP proxy. */
  listenerPort?: number;
}

/** `outbound|5000|v1|helloworld...` -> 'v1'; undefined for the subset-less cluster. */
export function subsetOf(envoyCluster: string): string | undefined {
  const parts = envoyCluster.split('|');
  return parts.length === 4 && parts[0] === 'outbound' && parts[2] !== '' ? parts[2] : undefined;
}

function lbConfig(resources: ProxyResources, envoyCluster: string): { panicThreshold: number; localityWeighted: boolean } {
  const cluster = resources.clusters.find((c) => c.name === envoyCluster);
  return {
    panicThreshold: cluster?.common_lb_config?.healthy_panic_threshold?.value ?? DEFAULT_PANIC_THRESHOLD,
    localityWeighted: cluster?.common_lb_config?.locality_weighted_lb_config !== undefined,
  };
}

/**
 * The endpoints Envoy balances over and each one's fraction of the cluster's requests: the priority
 * load (health x 1.4 per priority, spill-over), then within a priority its healthy endpoints, or all
 * of them in panic; with locality weights, each locality by its weight scaled by its health.
 */
function balancedEndpoints(endpoints: SimulatedEndpoint[], lb: { panicThreshold: number; localityWeighted: boolean }): { used: Array<{ endpoint: SimulatedEndpoint; fraction: number }>; panic: boolean } {
  const levels: SimulatedEndpoint[][] = [];
  for (const e of endpoints) (levels[e.priority] ??= []).push(e);
  for (let i = 0; i < levels.length; i++) levels[i] ??= [];
  const { load, panic } = priorityLoad(levels.map((l) => ({ hosts: l.length, healthy: l.filter((e) => e.healthy).length })), lb.panicThreshold);
  const used: Array<{ endpoint: SimulatedEndpoint; fraction: number }> = [];
  levels.forEach((level, p) => {
    const share = (load[p] ?? 0) / 100;
    const candidates = panic[p] ? level : level.filter((e) => e.healthy);
    if (share === 0 || candidates.length === 0) return;
    if (panic[p] || !lb.localityWeighted) {
      for (const endpoint of candidates) used.push({ endpoint, fraction: share / candidates.length });
      return;
    }
    const localities = new Map<string, { weight: number; all: number; healthy: SimulatedEndpoint[] }>();
    for (const e of level) {
      const l = localities.get(e.locality) ?? { weight: e.localityWeight, all: 0, healthy: [] };
      l.all++;
      if (e.healthy) l.healthy.push(e);
      localities.set(e.locality, l);
    }
    const effective = [...localities.values()].map((l) => ({ ...l, eff: effectiveLocalityWeight(l.weight, l.all, l.healthy.length) }));
    const total = effective.reduce((sum, l) => sum + l.eff, 0);
    for (const l of effective) for (const endpoint of l.healthy) if (total > 0 && l.eff > 0) used.push({ endpoint, fraction: (share * l.eff) / total / l.healthy.length });
  });
  return { used, panic: panic.some((inPanic, p) => inPanic && (load[p] ?? 0) > 0) };
}

export function expectedSplit(resources: ProxyResources, request: SplitRequest, directory: EndpointDirectory | undefined): ExpectedSplit {
  const result = simulate(resources, { listenerPort: request.listenerPort ?? 'http_proxy', host: request.host, path: request.path });
  if (result.outcome !== 'routed') {
    const where = [result.listener && `listener ${result.listener}`, result.routeConfig && `route config ${result.routeConfig}`, result.virtualHost && `virtual host ${result.virtualHost}`]
      .filter(Boolean)
      .join(', ');
    throw new Error(`the proxy's config does not route ${request.host}${request.path}: ${result.outcome}${where ? ` (${where})` : ''}`);
  }
  const notes: string[] = [];
  const total = result.clusters.reduce((sum, c) => sum + c.weight, 0);
  if (total <= 0) throw new Error(`route ${result.route ?? '?'} has weights summing to ${total}`);
  const endpoints: EndpointShare[] = [];
  let failShare = 0;
  for (const target of result.clusters) {
    const targetShare = target.weight / total;
    if (targetShare === 0) continue;
    if (target.missing) {
      failShare += targetShare;
      notes.push(`${target.name} does not exist (no Cluster, e.g. a subset no DestinationRule defines): its ${(targetShare * 100).toFixed(1)}% of requests fail with 503`);
      continue;
    }
    const { used, panic } = balancedEndpoints(target.endpoints, lbConfig(resources, target.name));
    if (used.length === 0) {
      failShare += targetShare;
      notes.push(`${target.name} has no endpoints: its ${(targetShare * 100).toFixed(1)}% of requests fail`);
      continue;
    }
    if (panic) notes.push(`${target.name}: fewer than the panic threshold of endpoints are healthy: traffic spreads over all of a priority's endpoints`);
    if (target.endpoints.some((e) => e.priority > 0)) notes.push(`${target.name}: endpoints in ${new Set(target.endpoints.map((e) => e.priority)).size} priorities (locality load balancing): shares follow Envoy's priority load`);
    for (const { endpoint: e, fraction } of used) {
      const known = directory?.byAddress(e.address, e.cluster);
      const version = known?.labels.version ?? subsetOf(target.name);
      const memberCluster = e.cluster ?? known?.cluster;
      endpoints.push({
        address: e.address,
        envoyCluster: target.name,
        ...(memberCluster ? { memberCluster } : {}),
        ...(known?.podName ? { pod: known.podName } : {}),
        ...(version ? { version } : {}),
        share: targetShare * fraction,
      });
    }
  }
  if (directory && endpoints.some((e) => !e.pod)) notes.push('some endpoints are not in the control plane\'s registry: their version is taken from the subset name');
  return {
    routeConfig: result.routeConfig ?? '',
    virtualHost: result.virtualHost ?? '',
    route: result.route ?? '',
    weights: result.clusters.map((c) => [c.name, c.weight]),
    endpoints,
    failShare,
    notes,
  };
}

export function endpointKey(e: ShareHolder, by: SplitDimension): string {
  if (by === 'version') return e.version ?? 'unknown';
  if (by === 'cluster') return e.memberCluster ?? 'unknown';
  return e.pod ?? e.address;
}

/** Shares per category, normalized over the requests expected to succeed. */
export function groupShares(split: Shares, by: SplitDimension): Map<string, number> {
  const succeeding = 1 - split.failShare;
  const out = new Map<string, number>();
  for (const e of split.endpoints) {
    const key = endpointKey(e, by);
    out.set(key, (out.get(key) ?? 0) + e.share / succeeding);
  }
  return out;
}
