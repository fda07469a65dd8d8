// Locality load balancing as Istio translates it (pilot's loadbalancer package): the calling proxy's
// own locality gets priority 0, the rest of its region and zone the next ones, other regions after
// (or the `failover` region before them); `failoverPriority` labels split localities further;
// `distribute` sets locality weights instead. Pure.
//
// One difference on purpose (istio#48084): Istio assigns failover priorities only when the cluster
// has outlierDetection, so a `failover` written without it does nothing. Here a localityLbSetting the
// user wrote applies as written; endpoint health from readiness (UNHEALTHY) moves load between
// priorities. Without a written setting, priorities apply only where Istio applies them (the mesh
// default, locality LB on, with outlierDetection), so clusters without either keep spreading evenly
// over every member cluster, as Istio's do.

import type { DestinationRule, LocalityLbSetting, TrafficPolicy } from '../config/istio-types.js';
import type { Locality, MeshEndpoint } from '../registry/model.js';
import { REGION_LABEL, SUBZONE_LABEL, ZONE_LABEL } from '../registry/locality.js';

/** The member cluster as a failoverPriority label (the network label, topology.istio.io/network, is read from the pod's labels). */
export const CLUSTER_LABEL = 'topology.istio.io/cluster';

/** What a proxy's locality load balancing reads of it. */
export interface ProxyTopology {
  locality: Locality;
  /** The member cluster it runs in (the `topology.istio.io/cluster` label's value). */
  cluster: string;
  /** Its labels (only those failoverPriority reads matter). */
  labels: Record<string, string>;
}

/** How locality load balancing applies to one cluster. */
export interface LocalityLbPlan {
  /** The rule's setting, or `{}` for Istio's default (locality LB on mesh-wide) under outlierDetection. */
  setting: LocalityLbSetting;
  /** Envoy's `locality_weighted_lb_config` (Istio sets it for distribute, failover and failoverPriority). */
  localityWeighted: boolean;
}

/** The plan for a cluster's effective traffic policy; undefined: every endpoint at priority 0, as today. */
export function localityLbPlan(policy: TrafficPolicy): LocalityLbPlan | undefined {
  const setting = policy.loadBalancer?.localityLbSetting;
  if (setting?.enabled === false) return undefined;
  if (setting === undefined) {
    // Istio's mesh default (localityLbSetting enabled) takes effect with outlierDetection only.
    return policy.outlierDetection ? { setting: {}, localityWeighted: false } : undefined;
  }
  const localityWeighted = (setting.distribute?.length ?? 0) > 0 || (setting.failover?.length ?? 0) > 0 || (setting.failoverPriority?.length ?? 0) > 0;
  return { setting, localityWeighted };
}

/** Every traffic policy a DestinationRule writes (top level, subsets, their port-level settings) with its field path. */
export function rulePolicies(rule: DestinationRule): Array<[string, TrafficPolicy]> {
  const out: Array<[string, TrafficPolicy | undefined]> = [['spec.trafficPolicy', rule.trafficPolicy]];
  (rule.subsets ?? []).forEach((subset, i) => out.push([`spec.subsets[${i}].trafficPolicy`, subset.trafficPolicy]));
  for (const [at, policy] of [...out]) (policy?.portLevelSettings ?? []).forEach((p, i) => out.push([`${at}.portLevelSettings[${i}]`, p]));
  return out.filter((e): e is [string, TrafficPolicy] => e[1] !== undefined);
}

/** Whether some rule can make endpoints depend on the calling proxy's locality. */
export function rulesUseLocality(rules: readonly DestinationRule[]): boolean {
  return rules.some((rule) => rulePolicies(rule).some(([, p]) => localityLbPlan(p) !== undefined));
}

/** Labels failoverPriority compares: the workload's own plus its topology, as Istio augments them. */
export function topologyLabels(labels: Record<string, string>, locality: Locality, cluster: string): Record<string, string> {
  return {
    ...labels,
    [REGION_LABEL]: locality.region,
    [ZONE_LABEL]: locality.zone,
    ...(locality.subZone ? { [SUBZONE_LABEL]: locality.subZone } : {}),
    [CLUSTER_LABEL]: cluster,
  };
}

/**
 * The labels a DestinationRule subset selects an endpoint by: its own plus its topology (Istio augments
 * endpoint labels so, e.g., a subset can select one member cluster by `topology.istio.io/cluster`).
 */
export function endpointSelectorLabels(e: MeshEndpoint): Record<string, string> {
  return topologyLabels(e.labels, e.locality, e.cluster);
}

/** Endpoints of one locality (one priority once split). */
export interface LocalityGroup {
  locality: Locality;
  endpoints: MeshEndpoint[];
  priority: number;
  /** Set by `distribute`; otherwise the builder's own weight. */
  weight?: number;
}

/** Istio's LocalityMatch: `region/zone/subzone`, each part `*` or absent for any. */
export function localityMatches(locality: Locality, pattern: string): boolean {
  const [region = '', zone = '', subZone = ''] = pattern.split('/');
  return (region === '*' || region === locality.region) &&
    (zone === '*' || zone === '' || zone === locality.zone) &&
    (subZone === '*' || subZone === '' || subZone === (locality.subZone ?? ''));
}

/** 0: same subzone, 1: same zone, 2: same region, 3: elsewhere (Istio's LbPriority). */
function proximity(proxy: Locality, endpoint: Locality): number {
  if (proxy.region !== endpoint.region) return 3;
  if (proxy.zone !== endpoint.zone) return 2;
  return (proxy.subZone ?? '') === (endpoint.subZone ?? '') ? 0 : 1;
}

/** Priorities numbered 0..N without gaps, order kept. */
function densePriorities(groups: LocalityGroup[]): void {
  const used = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  for (const g of groups) g.priority = used.indexOf(g.priority);
}

/** failoverPriority: each locality split by how many of the listed labels match the proxy's, in order. */
function splitByFailoverPriority(groups: LocalityGroup[], proxy: ProxyTopology, failoverPriority: string[]): LocalityGroup[] {
  const proxyLabels = topologyLabels(proxy.labels, proxy.locality, proxy.cluster);
  const rules = failoverPriority.map((entry) => {
    const at = entry.indexOf('=');
    return at < 0 ? { label: entry, value: proxyLabels[entry] } : { label: entry.slice(0, at), value: entry.slice(at + 1) };
  });
  const out: LocalityGroup[] = [];
  for (const group of groups) {
    const byPriority = new Map<number, MeshEndpoint[]>();
    for (const e of group.endpoints) {
      const labels = topologyLabels(e.labels, e.locality, e.cluster);
      const mismatch = rules.findIndex((r) => r.value !== labels[r.label]);
      const priority = mismatch < 0 ? 0 : rules.length - mismatch;
      byPriority.set(priority, [...(byPriority.get(priority) ?? []), e]);
    }
    for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
      out.push({ locality: group.locality, endpoints: byPriority.get(priority)!, priority });
    }
  }
  densePriorities(out);
  return out;
}

/** Region/zone/subzone proximity on top of the priorities so far; `failover` sends another region before the rest. */
function applyLocalityFailover(groups: LocalityGroup[], proxy: Locality, failover: NonNullable<LocalityLbSetting['failover']>): void {
  for (const group of groups) {
    let priority = proximity(proxy, group.locality);
    if (priority === 3) {
      const rule = failover.find((f) => f.from === proxy.region);
      if (rule && group.locality.region !== rule.to) priority = 4;
    }
    group.priority = group.priority * 5 + priority;
  }
  densePriorities(groups);
}

/**
 * `distribute`: the first entry whose `from` matches the proxy sets the weights; each `to` weight is
 * shared among the localities it matches in proportion to their weight; localities no `to` matches
 * get no traffic (they are dropped).
 */
function applyDistribute(groups: LocalityGroup[], proxy: Locality, distribute: NonNullable<LocalityLbSetting['distribute']>, weightOf: (g: LocalityGroup) => number): LocalityGroup[] {
  const entry = distribute.find((d) => localityMatches(proxy, d.from ?? ''));
  if (!entry) return groups;
  const unmatched = new Set(groups);
  for (const [pattern, weight] of Object.entries(entry.to ?? {})) {
    const matched = [...unmatched].filter((g) => localityMatches(g.locality, pattern));
    const total = matched.reduce((sum, g) => sum + weightOf(g), 0);
    for (const g of matched) {
      unmatched.delete(g);
      const share = (weightOf(g) * weight) / total;
      if (share > 0) g.weight = Math.ceil(share);
    }
  }
  return groups.filter((g) => !unmatched.has(g));
}

/** Priorities and weights of a cluster's localities for one proxy, by the plan. */
export function applyLocalityLb(groups: LocalityGroup[], plan: LocalityLbPlan, proxy: ProxyTopology, weightOf: (g: LocalityGroup) => number): LocalityGroup[] {
  const { distribute, failover = [], failoverPriority = [] } = plan.setting;
  if (distribute && distribute.length > 0) return applyDistribute(groups, proxy.locality, distribute, weightOf);
  if (failoverPriority.length === 0) {
    applyLocalityFailover(groups, proxy.locality, failover);
    return groups;
  }
  const split = splitByFailoverPriority(groups, proxy, failoverPriority);
  if (failover.length > 0) applyLocalityFailover(split, proxy.locality, failover);
  return split;
}
