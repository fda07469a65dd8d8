// Small typed indexes over one MeshSnapshot, built once per translation: services by hostname,
// endpoints by hostname, merged (deduplicated) config, and DestinationRule lookup. Nothing here
// is mutable after construction except the problem log.

import type { DestinationRule, Gateway, ServiceEntry, VirtualService } from '../config/istio-types.js';
import { mergeConfig, type IstioObject, type MeshEndpoint, type MeshService, type MeshSnapshot, type ProxyIdentity } from '../registry/model.js';
import { hostMatches, resolveHost, visibleTo } from './names.js';
import { ProblemLog, problemAt, type ConfigRef } from './problems.js';
import { serviceEntryServices } from './service-entries.js';

/** A service as the translator sees it: a Kubernetes mesh service or one host of a ServiceEntry. */
export interface ServiceView extends MeshService {
  /** 'eds' for endpoints pushed by EDS; 'dns' for ServiceEntry hosts Envoy resolves itself. */
  discovery: 'eds' | 'dns';
  exportTo?: string[];
  /** The ServiceEntry a service comes from; undefined for Kubernetes services. */
  origin?: ConfigRef;
}

export interface TranslationContext {
  snapshot: MeshSnapshot;
  domainSuffix: string;
  /** The proxy being configured; undefined for `analyze`. */
  proxy?: ProxyIdentity;
  services: ReadonlyMap<string, ServiceView>;
  /** Sorted by hostname. */
  serviceList: readonly ServiceView[];
  endpointsByHost: ReadonlyMap<string, readonly MeshEndpoint[]>;
  virtualServices: readonly IstioObject<VirtualService>[];
  destinationRules: readonly IstioObject<DestinationRule>[];
  gateways: readonly IstioObject<Gateway>[];
  serviceEntries: readonly IstioObject<ServiceEntry>[];
  problems: ProblemLog;
}

export function buildContext(snapshot: MeshSnapshot, proxy: ProxyIdentity | undefined): TranslationContext {
  const problems = new ProblemLog();
  const local = proxy?.cluster;
  const vs = mergeConfig(snapshot.virtualServices, local);
  const dr = mergeConfig(snapshot.destinationRules, local);
  const gw = mergeConfig(snapshot.gateways, local);
  const se = mergeConfig(snapshot.serviceEntries, local);
  for (const [kind, merged] of [
    ['VirtualService', vs],
    ['DestinationRule', dr],
    ['Gateway', gw],
    ['ServiceEntry', se],
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
  for (const entry of se.objects) {
    const converted = serviceEntryServices(entry, problems);
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
    proxy,
    services,
    serviceList,
    endpointsByHost,
    virtualServices: vs.objects,
    destinationRules: dr.objects,
    gateways: gw.objects,
    serviceEntries: se.objects,
    problems,
  };
}

/** Services a proxy in `namespace` may reach (ServiceEntry exportTo; Kubernetes services are mesh-wide). */
export function serviceVisible(service: ServiceView, namespace: string | undefined): boolean {
  return namespace === undefined || visibleTo(service.exportTo, service.namespace, namespace);
}

/**
 * The DestinationRule that applies to `hostname` for a client in `clientNamespace`, as Istio picks it:
 * a rule in the client's namespace first, then one in the service's namespace, then any other
 * (exact host beats wildcard within each). `clientNamespace` undefined (analyze) skips the first step.
 */
export function destinationRuleFor(
  ctx: TranslationContext,
  hostname: string,
  clientNamespace: string | undefined,
): IstioObject<DestinationRule> | undefined {
  const service = ctx.services.get(hostname);
  const candidates = ctx.destinationRules
    .map((rule) => ({ rule, host: resolveHost(rule.spec.host ?? '', rule.namespace, ctx.domainSuffix) }))
    .filter(({ rule, host }) => host !== '' && hostMatches(host, hostname) && (clientNamespace === undefined || visibleTo(rule.spec.exportTo, rule.namespace, clientNamespace)));
  const rank = (c: { rule: IstioObject<DestinationRule>; host: string }): number => {
    const nsRank = c.rule.namespace === clientNamespace ? 0 : c.rule.namespace === service?.namespace ? 1 : 2;
    return nsRank * 2 + (c.host === hostname ? 0 : 1);
  };
  candidates.sort((a, b) => rank(a) - rank(b) || a.rule.namespace.localeCompare(b.rule.namespace) || a.rule.name.localeCompare(b.rule.name));
  return candidates[0]?.rule;
}
