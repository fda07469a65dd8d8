// DestinationRule consistentHash -> the route's hash_policy, as Istio writes it (route.go
// HashForHTTPDestination / hashForService / ConsistentHashToHashPolicy): the key is chosen per
// destination of a route -- the subset's port-level setting, else the subset's, else the rule's
// port-level one (only for a destination naming its port), else the rule's -- and every destination
// that has one appends its hash policy to the route. A route with a single hashed destination retries
// without the previous_hosts predicate (Istio's DefaultConsistentHashPolicy): a retry should stay on
// the key's host. The cluster side (ring hash, Maglev) is in cluster-policy.ts.
//
// Proxyless gRPC clients hash only on headers: the other keys are left out of their routes (the
// DestinationRule is reported for them where the cluster is translated).

import { parseDuration, type DestinationRule, type HTTPRouteDestination, type LoadBalancerSettings, type PortTrafficPolicy } from '../config/istio-types.js';
import { destinationRuleFor, type TranslationContext } from './context.js';
import type { HashPolicy, RouteAction } from './envoy-types.js';
import { resolveHost } from './names.js';

export type ConsistentHash = NonNullable<LoadBalancerSettings['consistentHash']>;

function portLevelHash(settings: PortTrafficPolicy[] | undefined, port: number | undefined): ConsistentHash | undefined {
  if (port === undefined) return undefined;
  return settings?.find((s) => s.port?.number === port)?.loadBalancer?.consistentHash;
}

/** Istio's HashForHTTPDestination: the consistentHash a VirtualService destination routes with. */
export function destinationHash(rule: DestinationRule | undefined, subset: string | undefined, explicitPort: number | undefined): ConsistentHash | undefined {
  if (!rule) return undefined;
  const s = subset ? rule.subsets?.find((x) => x.name === subset) : undefined;
  return (
    portLevelHash(s?.trafficPolicy?.portLevelSettings, explicitPort) ??
    s?.trafficPolicy?.loadBalancer?.consistentHash ??
    portLevelHash(rule.trafficPolicy?.portLevelSettings, explicitPort) ??
    rule.trafficPolicy?.loadBalancer?.consistentHash
  );
}

/** Istio's hashForService: the consistentHash of a service's default route (no VirtualService). */
export function serviceHash(rule: DestinationRule | undefined, port: number): ConsistentHash | undefined {
  return portLevelHash(rule?.trafficPolicy?.portLevelSettings, port) ?? rule?.trafficPolicy?.loadBalancer?.consistentHash;
}

/** Istio's ConsistentHashToHashPolicy (undefined when the consistentHash names no key, or `useSourceIp: false`). */
export function hashPolicyOf(ch: ConsistentHash | undefined): HashPolicy | undefined {
  if (!ch) return undefined;
  if (ch.httpHeaderName !== undefined) return { header: { header_name: ch.httpHeaderName } };
  if (ch.httpCookie !== undefined) {
    const c = ch.httpCookie;
    const cookie: Extract<HashPolicy, { cookie: unknown }>['cookie'] = { name: c.name ?? '' };
    if (c.path) cookie.path = c.path;
    // An unparsable ttl is reported with the DestinationRule (cluster-policy.ts); the cookie is then only read, not made.
    const ttl = c.ttl === undefined ? undefined : parseDuration(c.ttl);
    if (ttl?.ok) cookie.ttl = ttl.duration;
    if (c.attributes && c.attributes.length > 0) cookie.attributes = c.attributes.map((a) => (a.value ? { name: a.name ?? '', value: a.value } : { name: a.name ?? '' }));
    return { cookie };
  }
  if (ch.useSourceIp !== undefined) return ch.useSourceIp ? { connection_properties: { source_ip: true } } : undefined;
  if (ch.httpQueryParameterName !== undefined) return { query_parameter: { name: ch.httpQueryParameterName } };
  return undefined;
}

/** The hash policies a proxyless gRPC client can evaluate: header ones. */
export function proxylessHashPolicy(p: HashPolicy | undefined): HashPolicy | undefined {
  return p && 'header' in p ? p : undefined;
}

/**
 * The hook http-routes.ts calls for a VirtualService route: appends each destination's hash policy
 * and, for a single hashed destination, takes the previous_hosts predicate out of the retry policy.
 */
export function applyDestinationHashes(ctx: TranslationContext, action: RouteAction, destinations: readonly HTTPRouteDestination[], configNamespace: string, proxyless: boolean): void {
  const counted = destinations.length === 1 ? destinations : destinations.filter((d) => (d.weight ?? 0) !== 0);
  const policies: HashPolicy[] = [];
  for (const d of counted) {
    const hostname = resolveHost(d.destination?.host ?? '', configNamespace, ctx.domainSuffix);
    const rule = destinationRuleFor(ctx, hostname, ctx.proxy?.namespace)?.spec;
    const policy = hashPolicyOf(destinationHash(rule, d.destination?.subset || undefined, d.destination?.port?.number));
    const usable = proxyless ? proxylessHashPolicy(policy) : policy;
    if (usable) policies.push(usable);
  }
  if (policies.length === 0) return;
  action.hash_policy = policies;
  if (destinations.length === 1) dropHostPredicate(action);
}

/** The hook for a service's default route (mesh-routes.ts). */
export function applyServiceHash(ctx: TranslationContext, action: RouteAction, hostname: string, port: number, proxyless: boolean): void {
  const rule = destinationRuleFor(ctx, hostname, ctx.proxy?.namespace)?.spec;
  const policy = hashPolicyOf(serviceHash(rule, port));
  const usable = proxyless ? proxylessHashPolicy(policy) : policy;
  if (!usable) return;
  action.hash_policy = [usable];
  dropHostPredicate(action);
}

function dropHostPredicate(action: RouteAction): void {
  if (!action.retry_policy?.retry_host_predicate) return;
  const { retry_host_predicate: _dropped, ...rest } = action.retry_policy;
  action.retry_policy = rest;
}
