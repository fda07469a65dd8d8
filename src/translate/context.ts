// Small typed indexes over one MeshSnapshot, built once per translation: services by hostname,
// endpoints by hostname, merged (deduplicated) config, and DestinationRule lookup. Nothing here
// is mutable after construction except the problem log.

import type { ProxyTopology } from './locality-lb.js';
import type { DestinationRule, Gateway, PeerAuthentication, ServiceEntry, VirtualService } from '../config/istio-types.js';
import { DEFAULT_TRUST_DOMAIN } from '../security/spiffe.js';
import { compareByCreation, mergeConfig, type IstioObject, type MeshEndpoint, type MeshService, type MeshSnapshot, type ProxyIdentity } from '../registry/model.js';
import { hostMatches, resolveHost, visibleTo } from './names.js';
import { ProblemLog, problemAt, type ConfigRef, type Problem } from '../config/problems.js';
import { serviceEntryServices } from './service-entries.js';

/** A service as the translator sees it: a Kubernetes mesh service or one host of a ServiceEntry. */
export interface ServiceView extends MeshService {
  /** 'eds' for endpoints pushed by EDS; 'dns' / 'logical-dns' for ServiceEntry hosts the proxy resolves itself (DNS / DNS_ROUND_ROBIN). */
  discovery: 'eds' | 'dns' | 'logical-dns';
  exportTo?: string[];
  /** The ServiceEntry a service comes from; undefined for Kubernetes services. */
  origin?: ConfigRef;
  /** A MESH_EXTERNAL ServiceEntry host: no auto mTLS (Istio's meshExternal). */
  meshExternal?: boolean;
  /** A ServiceEntry's subjectAltNames: identities its endpoints may present, besides their service accounts'. */
  subjectAltNames?: string[];
}

export interface TranslationContext {
  snapshot: MeshSnapshot;
  domainSuffix: string;
  /** The proxy being configured; undefined for `analyze`. */
  proxy?: ProxyIdentity;
  /** Where the proxy runs, when some rule balances by locality (endpoint priorities depend on it). */
  topology?: ProxyTopology;
  services: ReadonlyMap<string, ServiceView>;
  /** Sorted by hostname. */
  serviceList: readonly ServiceView[];
  endpointsByHost: ReadonlyMap<string, readonly MeshEndpoint[]>;
  virtualServices: readonly IstioObject<VirtualService>[];
  destinationRules: readonly IstioObject<DestinationRule>[];
  gateways: readonly IstioObject<Gateway>[];
  serviceEntries: readonly IstioObject<ServiceEntry>[];
  /** PeerAuthentications (one per namespace/name, the proxy's cluster's copy first). */
  peerAuthentications: readonly IstioObject<PeerAuthentication>[];
  /** Istio's config root namespace (meshConfig.rootNamespace): its exported DestinationRules apply mesh-wide. */
  rootNamespace: string;
  /** meshConfig.trustDomain: the trust domain of the SPIFFE identities clients verify. */
  trustDomain: string;
  /** DestinationRules merged per namespace and host, made once (see destinationRuleFor). */
  mergedRules: Map<string, MergedDestinationRule>;
  problems: ProblemLog;
}

/** Istio's default meshConfig.rootNamespace. */
export const ROOT_NAMESPACE = 'istio-system';

/**
 * The rule a proxy applies to a host. Several rules of one namespace for the same host are merged as
 * Istio merges them: the oldest is the base, later ones add only subsets whose names are new and a
 * traffic policy when the base has none. `sources` lists the rules merged (the base first).
 */
export type MergedDestinationRule = IstioObject<DestinationRule> & { sources?: readonly IstioObject<DestinationRule>[] };

/** What buildContext derives from the snapshot alone (per local cluster): made once, shared read-only by every context. */
type SnapshotIndex = Omit<TranslationContext, 'proxy' | 'mergedRules' | 'problems'> & { problems: readonly Problem[] };
const snapshotIndexes = new WeakMap<MeshSnapshot, Map<string, SnapshotIndex>>();

export function buildContext(snapshot: MeshSnapshot, proxy: ProxyIdentity | undefined): TranslationContext {
  // Scopes (a Sidecar per namespace makes many) share the snapshot's indexes instead of rebuilding them.
  let byCluster = snapshotIndexes.get(snapshot);
  if (!byCluster) snapshotIndexes.set(snapshot, (byCluster = new Map()));
  const key = proxy?.cluster ?? '';
  let index = byCluster.get(key);
  if (!index) byCluster.set(key, (index = indexSnapshot(snapshot, proxy?.cluster)));
  const problems = new ProblemLog();
  for (const problem of index.problems) problems.add(problem);
  return { ...index, proxy, mergedRules: new Map(), problems };
}

function indexSnapshot(snapshot: MeshSnapshot, local: string | undefined): SnapshotIndex {
  const problems = new ProblemLog();
  const vs = mergeConfig(snapshot.virtualServices, local);
  const dr = mergeConfig(snapshot.destinationRules, local);
  const gw = mergeConfig(snapshot.gateways, local);
  const se = mergeConfig(snapshot.serviceEntries, local);
  const pa = mergeConfig(snapshot.peerAuthentications ?? [], local);
  for (const [kind, merged] of [
    ['VirtualService', vs],
    ['DestinationRule', dr],
    ['Gateway', gw],
    ['ServiceEntry', se],
    ['PeerAuthentication', pa],
  ] as const) {
    for (const d of merged.divergent) {
      problems.add(
        problemAt({ kind, name: d.name, namespace: d.namespace }, 'warning', 'config-diverges-between-clusters', 'spec',
          `${kind} ${d.namespace}/${d.name} differs between clusters ${d.clusters.join(', ')}; each proxy uses its own ` +
            `cluster's copy. Apply the same spec to every cluster (or finish the rollout) to make them agree.`),
      );
    }
  }

  const services = new Map<string, ServiceView>();
  for (const service of snapshot.services) services.set(service.hostname, { ...service, discovery: 'eds' });
  const endpointsByHost = new Map<string, MeshEndpoint[]>();
  for (const endpoint of snapshot.endpoints) {
    const list = endpointsByHost.get(endpoint.hostname);
    if (list) list.push(endpoint);
    else endpointsByHost.set(endpoint.hostname, [endpoint]);
  }
  for (const rule of dr.objects) {
    const seen = new Set<string>();
    (rule.spec.subsets ?? []).forEach((subset, i) => {
      if (!seen.has(subset.name)) {
        seen.add(subset.name);
        return;
      }
      problems.add(
        problemAt({ kind: 'DestinationRule', name: rule.name, namespace: rule.namespace }, 'error', 'duplicate-subset', `spec.subsets[${i}].name`,
          `subset "${subset.name}" is defined more than once (Istio's validation rejects this rule); the first definition is used ` +
            `and this one is ignored. Give each subset its own name.`),
      );
    });
  }
  for (const entry of se.objects) {
    const converted = serviceEntryServices(entry, problems, snapshot.endpoints);
    for (const { service, endpoints } of converted) {
      if (services.has(service.hostname)) {
        problems.add(
          problemAt({ kind: 'ServiceEntry', name: entry.name, namespace: entry.namespace }, 'warning', 'duplicate-host', 'spec.hosts',
            `host ${service.hostname} is already a Kubernetes service; the ServiceEntry is ignored for it. Remove the host from the ServiceEntry.`),
        );
        continue;
      }
      services.set(service.hostname, service);
      endpointsByHost.set(service.hostname, [...endpoints]);
    }
  }
  const serviceList = [...services.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  return {
    snapshot,
    domainSuffix: snapshot.domainSuffix,
    services,
    serviceList,
    endpointsByHost,
    virtualServices: vs.objects,
    destinationRules: dr.objects,
    gateways: gw.objects,
    serviceEntries: se.objects,
    peerAuthentications: pa.objects,
    rootNamespace: ROOT_NAMESPACE,
    trustDomain: snapshot.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    problems: problems.list(),
  };
}

/** Services a proxy in `namespace` may reach (ServiceEntry exportTo; Kubernetes services are mesh-wide). */
export function serviceVisible(service: ServiceView, namespace: string | undefined): boolean {
  return namespace === undefined || visibleTo(service.exportTo, service.namespace, namespace);
}

/** Istio's MostSpecificHostMatch order: the exact host, then wildcards, the longest first. */
function hostSpecificity(ruleHost: string, hostname: string): number {
  return ruleHost === hostname ? Number.MAX_SAFE_INTEGER : ruleHost.length;
}

/** Subsets with a name seen before (in this rule or an earlier one) are dropped: the first definition wins. */
function mergeRules(ctx: TranslationContext, namespace: string, host: string, rules: IstioObject<DestinationRule>[]): MergedDestinationRule {
  if (rules.length === 1 && new Set((rules[0].spec.subsets ?? []).map((s) => s.name)).size === (rules[0].spec.subsets ?? []).length) return rules[0];
  const key = `${namespace}|${host}|${rules.map((r) => r.name).join(',')}`;
  const known = ctx.mergedRules.get(key);
  if (known) return known;
  const [base] = rules;
  const spec: DestinationRule = { ...base.spec, subsets: [] };
  const names = new Set<string>();
  for (const rule of rules) {
    for (const subset of rule.spec.subsets ?? []) {
      if (names.has(subset.name)) continue;
      names.add(subset.name);
      spec.subsets!.push(subset);
    }
    if (spec.trafficPolicy === undefined && rule.spec.trafficPolicy !== undefined) spec.trafficPolicy = rule.spec.trafficPolicy;
  }
  const merged: MergedDestinationRule = { ...base, spec, sources: rules };
  ctx.mergedRules.set(key, merged);
  return merged;
}

/** Whether `chosen` (from destinationRuleFor) is `rule` or was merged from it. */
export function ruleIncludes(chosen: MergedDestinationRule | undefined, rule: IstioObject<DestinationRule>): boolean {
  return chosen !== undefined && (chosen === rule || (chosen.sources ?? []).includes(rule));
}

/**
 * The DestinationRule that applies to `hostname` for a client in `clientNamespace`, as Istio picks it
 * (PushContext.destinationRule): the rules in the client's own namespace first, then rules of the
 * service's namespace exported to the client, then rules of the root namespace exported to it; rules
 * of any other namespace do not apply. Within the namespace found, the most specific host wins (exact,
 * then the longest wildcard) and the rules for that host are merged (oldest first).
 * `clientNamespace` undefined (analyze): the service's namespace, the root namespace, then any other
 * (some client could use it).
 */
export function destinationRuleFor(
  ctx: TranslationContext,
  hostname: string,
  clientNamespace: string | undefined,
): MergedDestinationRule | undefined {
  const service = ctx.services.get(hostname);
  const candidates = ctx.destinationRules
    .map((rule) => ({ rule, host: resolveHost(rule.spec.host ?? '', rule.namespace, ctx.domainSuffix) }))
    .filter(({ rule, host }) => host !== '' && hostMatches(host, hostname) &&
      (clientNamespace === undefined || rule.namespace === clientNamespace || visibleTo(rule.spec.exportTo, rule.namespace, clientNamespace)));
  const tier = (rule: IstioObject<DestinationRule>): number =>
    rule.namespace === clientNamespace ? 0 : rule.namespace === service?.namespace ? 1 : rule.namespace === ctx.rootNamespace ? 2 : clientNamespace === undefined ? 3 : -1;
  const ranked = candidates
    .map((c) => ({ ...c, tier: tier(c.rule), specificity: hostSpecificity(c.host, hostname) }))
    .filter((c) => c.tier >= 0)
    .sort((a, b) => a.tier - b.tier || b.specificity - a.specificity || a.rule.namespace.localeCompare(b.rule.namespace) || compareByCreation(a.rule, b.rule));
  const best = ranked[0];
  if (!best) return undefined;
  const same = ranked.filter((c) => c.tier === best.tier && c.rule.namespace === best.rule.namespace && c.host === best.host).map((c) => c.rule);
  return mergeRules(ctx, best.rule.namespace, best.host, same);
}
