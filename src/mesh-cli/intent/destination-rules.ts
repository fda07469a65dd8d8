// Which DestinationRule a sidecar applies to a host, by Istio's precedence (PushContext.destinationRule):
// the rules of the client's own namespace, else those of the service's namespace exported to the
// client, else those of the root namespace exported to it. Within that namespace the most specific
// host wins and the rules for it are merged oldest first (subset names not seen before are added, a
// traffic policy only where none is set yet). Then what of a rule's traffic policy changes the split.

import type { DestinationRule, LoadBalancerSettings, Subset, TrafficPolicy } from '../../config/istio-types.js';
import { compareByCreation, type IstioObject } from '../../registry/model.js';
import { Underivable } from './model.js';
import { exportedTo, hostPatternMatches, hostSpecificity, qualifyHost } from './names.js';

export interface AppliedRule {
  /** `namespace/name` of the rules merged, oldest first. */
  names: string[];
  subsets: Subset[];
  trafficPolicy?: TrafficPolicy;
}

export interface RuleScope {
  clientNamespace: string;
  serviceNamespace: string;
  rootNamespace: string;
  domainSuffix: string;
}

function candidatesIn(rules: readonly IstioObject<DestinationRule>[], namespace: string, visible: (r: IstioObject<DestinationRule>) => boolean, hostname: string, scope: RuleScope) {
  return rules
    .filter((r) => r.namespace === namespace && visible(r))
    .map((rule) => ({ rule, host: qualifyHost(rule.spec.host ?? '', rule.namespace, scope.domainSuffix) }))
    .filter((c) => c.host !== '' && hostPatternMatches(c.host, hostname));
}

function merge(rules: IstioObject<DestinationRule>[]): AppliedRule {
  const subsets: Subset[] = [];
  const names = new Set<string>();
  let trafficPolicy: TrafficPolicy | undefined;
  for (const rule of rules) {
    for (const subset of rule.spec.subsets ?? []) {
      if (names.has(subset.name)) continue;
      names.add(subset.name);
      subsets.push(subset);
    }
    trafficPolicy ??= rule.spec.trafficPolicy;
  }
  return { names: rules.map((r) => `${r.namespace}/${r.name}`), subsets, ...(trafficPolicy ? { trafficPolicy } : {}) };
}

export function destinationRuleFor(rules: readonly IstioObject<DestinationRule>[], hostname: string, scope: RuleScope): AppliedRule | undefined {
  const client = scope.clientNamespace;
  const tiers: Array<{ namespace: string; visible: (r: IstioObject<DestinationRule>) => boolean }> = [
    // A namespace's own rules apply to its proxies unless exported only elsewhere.
    { namespace: client, visible: (r) => exportedTo(r.spec.exportTo, r.namespace, r.namespace) },
    { namespace: scope.serviceNamespace, visible: (r) => exportedTo(r.spec.exportTo, r.namespace, client) },
    { namespace: scope.rootNamespace, visible: (r) => exportedTo(r.spec.exportTo, r.namespace, client) },
  ];
  for (const tier of tiers) {
    const found = candidatesIn(rules, tier.namespace, tier.visible, hostname, scope);
    if (found.length === 0) continue;
    const selecting = found.find((c) => c.rule.spec.workloadSelector);
    if (selecting) {
      throw new Underivable(`DestinationRule ${selecting.rule.namespace}/${selecting.rule.name} has a workloadSelector (it applies to some clients only): not modelled`);
    }
    const bestHost = found.reduce((a, b) => (hostSpecificity(b.host, hostname) > hostSpecificity(a.host, hostname) ? b : a)).host;
    return merge(found.filter((c) => c.host === bestHost).map((c) => c.rule).sort(compareByCreation));
  }
  return undefined;
}

/** The policies that act on traffic to `port` of `subset`: the rule's, its port's, the subset's, the subset's port's. */
function policiesFor(rule: AppliedRule, port: number, subset: Subset | undefined): TrafficPolicy[] {
  const out: TrafficPolicy[] = [];
  for (const policy of [rule.trafficPolicy, subset?.trafficPolicy]) {
    if (!policy) continue;
    out.push(policy);
    const portLevel = (policy.portLevelSettings ?? []).find((p) => p.port?.number === port);
    if (portLevel) out.push(portLevel);
  }
  return out;
}

/**
 * What in the applicable policies moves requests away from an even spread over ready endpoints.
 * Throws Underivable for what is not modelled; returns notes for what leaves the shares as they are.
 */
export function policyEffects(rule: AppliedRule | undefined, port: number, subset: Subset | undefined): string[] {
  if (!rule) return [];
  const notes: string[] = [];
  const where = `DestinationRule ${rule.names.join(', ')}`;
  // Istio's merge: a subset's (and a port's) loadBalancer and outlierDetection replace the rule's.
  const policies = policiesFor(rule, port, subset).reverse();
  const lb: LoadBalancerSettings | undefined = policies.find((p) => p.loadBalancer)?.loadBalancer;
  const outlierDetection = policies.find((p) => p.outlierDetection)?.outlierDetection;
  if (lb?.consistentHash) throw new Underivable(`${where} hashes requests onto endpoints (consistentHash): which endpoints a client's requests land on is not known from config`);
  if (lb?.simple === 'PASSTHROUGH') throw new Underivable(`${where} uses loadBalancer PASSTHROUGH (the original destination): not modelled`);
  const locality = lb?.localityLbSetting;
  if (locality && locality.enabled !== false) {
    throw new Underivable(`${where} sets localityLbSetting: each client prefers endpoints by its own locality (failover priorities, or distribute weights) and readiness moves traffic between localities: not modelled`);
  }
  if (!locality && outlierDetection) {
    throw new Underivable(`${where} sets outlierDetection, with which locality load balancing (on by default) prefers endpoints in the client's own locality: not modelled`);
  }
  if (outlierDetection) notes.push(`${where}: localityLbSetting enabled: false, so no locality preference; outlierDetection ejects failing endpoints: shares are as stated while none fails`);
  if (lb?.warmupDurationSecs) notes.push(`${where}: warmupDurationSecs ramps new endpoints up; shares are as stated once warm`);
  return notes;
}
