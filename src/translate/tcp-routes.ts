// VirtualService tcp[] and tls[] routes -> Envoy tcp_proxy network filters, and the gateway listeners
// that carry them, as Istio builds them (pilot/pkg/networking/core/gateway.go, networkfilter.go):
// - a TCP server: one filter chain, the first tcp route (VirtualServices oldest first) whose match
//   names the server's port and gateway (or nothing);
// - a TLS PASSTHROUGH server: a tls_inspector and one filter chain per matching tls[].match, on its
//   sniHosts (`server_names`), the ClientHello passed through untouched;
// - a tcp_proxy: one destination -> `cluster`, stat_prefix the cluster name; several ->
//   `weighted_clusters` (weight > 0 only), stat_prefix `<name>.<namespace>` of the VirtualService;
//   idle_timeout and max_downstream_connection_duration from the first destination's DestinationRule
//   (connectionPool.tcp).

import type { Gateway, GatewayServer, L4MatchAttributes, RouteDestination, VirtualService } from '../config/istio-types.js';
import { parseDuration } from '../config/istio-types.js';
import { compareByCreation, type IstioObject, type ProxyIdentity } from '../registry/model.js';
import { destinationRuleFor, type TranslationContext } from './context.js';
import { isIssue, resolveDestination } from './destinations.js';
import type { Duration, FilterChain, Listener, NetworkFilter, TcpClusterWeight, TcpProxy } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { serverHostAdmits, servedServers } from './gateway.js';
import { resolveGatewayName, virtualServiceGateways } from './http-routes.js';
import { hostIntersection, resolveHost, visibleTo } from './names.js';
import { problemAt, type ConfigRef } from '../config/problems.js';

export const TCP_PROXY_FILTER_NAME = 'envoy.filters.network.tcp_proxy';
export const TLS_INSPECTOR_NAME = 'envoy.filters.listener.tls_inspector';

/** A gateway port served by network filters: its filter chains, and whether they need the ClientHello's SNI. */
export interface GatewayL4Port {
  port: number;
  chains: FilterChain[];
  tlsInspector: boolean;
}

/** Istio's l4SingleMatch at a gateway: the match's port (if any) is the server's, its gateways (if any) include this one. */
function l4MatchApplies(match: L4MatchAttributes, vs: IstioObject<VirtualService>, serverPort: number, gatewayName: string): boolean {
  if (match.port !== undefined && match.port !== 0 && match.port !== serverPort) return false;
  const gateways = match.gateways ?? [];
  return gateways.length === 0 || gateways.map((g) => resolveGatewayName(g, vs.namespace)).includes(gatewayName);
}

/** Istio's pickMatchingGatewayHosts: some VirtualService host falls under some server host the VirtualService's namespace may use. */
function serverAdmits(ctx: TranslationContext, gateway: IstioObject<Gateway>, server: GatewayServer, vs: IstioObject<VirtualService>): boolean {
  for (const vsHost of vs.spec.hosts ?? []) {
    const resolved = resolveHost(vsHost, vs.namespace, ctx.domainSuffix);
    for (const serverHost of server.hosts ?? []) {
      const admitted = serverHostAdmits(serverHost, gateway.namespace, vs.namespace);
      if (admitted && hostIntersection(admitted.host, resolved)) return true;
    }
  }
  return false;
}

function tcpDuration(ctx: TranslationContext, text: string | undefined, ref: ConfigRef, field: string): Duration | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (parsed.ok) return parsed.duration;
  ctx.problems.add(problemAt(ref, 'warning', 'invalid-duration', field, `${parsed.error}; the TCP proxy keeps Envoy's default.`));
  return undefined;
}

/** Where one tcp/tls route sends connections, and the connection limits of its first destination's DestinationRule. */
export interface L4Target {
  /** One destination: its cluster; several: the weighted clusters (weight > 0). */
  destination: { cluster: string } | { weighted: TcpClusterWeight[] };
  statPrefix: string;
  idleTimeout?: Duration;
  maxDuration?: Duration;
  /** The DestinationRule the limits come from. */
  rule?: ConfigRef;
}

/**
 * The target of one tcp/tls route, or undefined when no destination can be used (each problem
 * reported). `listenerPort` is the port a destination without one goes to when its service has several.
 */
export function resolveL4Route(
  ctx: TranslationContext,
  vs: IstioObject<VirtualService>,
  routes: readonly RouteDestination[],
  field: string,
  listenerPort: number,
): L4Target | undefined {
  const ref: ConfigRef = { kind: 'VirtualService', name: vs.name, namespace: vs.namespace };
  const resolved: Array<{ cluster: string; weight: number; host: string }> = [];
  routes.forEach((route, i) => {
    const at = `${field}.route[${i}].destination`;
    const host = resolveHost(route.destination?.host ?? '', vs.namespace, ctx.domainSuffix);
    const r = resolveDestination(ctx, route.destination ?? { host: '' }, vs.namespace, at, { hostname: host, port: listenerPort }, listenerPort);
    if (isIssue(r)) {
      ctx.problems.add(problemAt(ref, 'error', r.code, r.field, `${r.message} This destination is left out.`));
      return;
    }
    if (r.dangling) {
      ctx.problems.add(problemAt(ref, 'error', r.dangling.code, r.dangling.field,
        `${r.dangling.message} The route is kept as Istio keeps it: connections sent there are closed (no cluster) until it is fixed.`));
    }
    resolved.push({ cluster: r.cluster, weight: route.weight ?? 0, host });
  });
  if (resolved.length === 0) return undefined;
  const limits = tcpLimits(ctx, resolved[0]!.host);
  if (routes.length === 1) return { destination: { cluster: resolved[0]!.cluster }, statPrefix: resolved[0]!.cluster, ...limits };
  const weighted: TcpClusterWeight[] = resolved.filter((r) => r.weight > 0).map((r) => ({ name: r.cluster, weight: r.weight }));
  if (weighted.length === 0) {
    ctx.problems.add(problemAt(ref, 'error', 'zero-total-weight', `${field}.route`, 'the destinations\' weights add up to 0, so no connection can be sent anywhere; this route is left out.'));
    return undefined;
  }
  return { destination: { weighted }, statPrefix: `${vs.name}.${vs.namespace}`, ...limits };
}

/** idle_timeout and max_downstream_connection_duration: the connectionPool.tcp of the DestinationRule for `hostname` (Istio reads the rule's top-level policy). */
export function tcpLimits(ctx: TranslationContext, hostname: string): { idleTimeout?: Duration; maxDuration?: Duration; rule?: ConfigRef } {
  const rule = destinationRuleFor(ctx, hostname, ctx.proxy?.namespace);
  if (!rule) return {};
  const pool = rule.spec.trafficPolicy?.connectionPool?.tcp;
  const ref: ConfigRef = { kind: 'DestinationRule', name: rule.name, namespace: rule.namespace };
  return {
    idleTimeout: tcpDuration(ctx, pool?.idleTimeout, ref, 'spec.trafficPolicy.connectionPool.tcp.idleTimeout'),
    maxDuration: tcpDuration(ctx, pool?.maxConnectionDuration, ref, 'spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration'),
    rule: ref,
  };
}

/** The tcp_proxy network filter for one tcp/tls route (see resolveL4Route). */
export function tcpProxyFilter(
  ctx: TranslationContext,
  vs: IstioObject<VirtualService>,
  routes: readonly RouteDestination[],
  field: string,
  listenerPort: number,
): NetworkFilter | undefined {
  const target = resolveL4Route(ctx, vs, routes, field, listenerPort);
  if (!target) return undefined;
  const proxy: TcpProxy = {
    '@type': TYPE_URL.tcpProxy,
    stat_prefix: target.statPrefix,
    ...('cluster' in target.destination ? { cluster: target.destination.cluster } : { weighted_clusters: { clusters: target.destination.weighted } }),
    ...(target.idleTimeout ? { idle_timeout: target.idleTimeout } : {}),
    ...(target.maxDuration ? { max_downstream_connection_duration: target.maxDuration } : {}),
  };
  return { name: TCP_PROXY_FILTER_NAME, typed_config: proxy };
}

/**
 * The TCP and TLS-passthrough ports of a gateway proxy, with their filter chains. A port with no
 * usable route gets no listener (Istio opens none either); `analyze` says so.
 */
export function gatewayL4Ports(ctx: TranslationContext, proxy: ProxyIdentity): GatewayL4Port[] {
  const byPort = new Map<number, GatewayL4Port & { sni: Map<string, string> }>();
  const virtualServices = [...ctx.virtualServices].sort(compareByCreation);
  for (const { gateway, server, kind } of servedServers(ctx, proxy)) {
    if (kind === 'http' || kind === 'https') continue;
    const gatewayName = `${gateway.namespace}/${gateway.name}`;
    const port = server.port.number;
    let entry = byPort.get(port);
    if (!entry) {
      entry = { port, chains: [], tlsInspector: false, sni: new Map() };
      byPort.set(port, entry);
    }
    const bound = virtualServices.filter((vs) =>
      virtualServiceGateways(vs).includes(gatewayName) && visibleTo(vs.spec.exportTo, vs.namespace, gateway.namespace) && serverAdmits(ctx, gateway, server, vs));
    if (kind === 'tcp') {
      const chain = firstTcpChain(ctx, bound, port, gatewayName);
      if (chain) entry.chains.push(chain);
      continue;
    }
    for (const vs of bound) {
      const ref: ConfigRef = { kind: 'VirtualService', name: vs.name, namespace: vs.namespace };
      (vs.spec.tls ?? []).forEach((tls, t) => {
        if ((tls.route ?? []).length === 0) return;
        (tls.match ?? []).forEach((match, m) => {
          if (!l4MatchApplies(match, vs, port, gatewayName)) return;
          const names = (match.sniHosts ?? []).map((h) => h.toLowerCase());
          const taken = names.filter((n) => entry.sni.has(n));
          if (taken.length > 0) {
            // Envoy refuses a listener whose filter chains match the same server names.
            ctx.problems.add(problemAt(ref, 'warning', 'duplicate-host', `spec.tls[${t}].match[${m}].sniHosts`,
              `SNI ${taken.join(', ')} on port ${port} of Gateway ${gatewayName} is already routed by ${entry.sni.get(taken[0]!)}; this match is skipped, as Istio skips it.`));
            return;
          }
          const filter = tcpProxyFilter(ctx, vs, tls.route ?? [], `spec.tls[${t}]`, port);
          if (!filter) return;
          for (const n of names) entry.sni.set(n, `VirtualService ${vs.namespace}/${vs.name}`);
          // "*" matches every name: Istio then leaves server_names out (a chain for any ClientHello).
          const serverNames = names.includes('*') ? [] : [...names].sort();
          entry.chains.push({ ...(serverNames.length > 0 ? { filter_chain_match: { server_names: serverNames } } : {}), filters: [filter] });
          if (serverNames.length > 0) entry.tlsInspector = true;
        });
      });
    }
  }
  return [...byPort.values()]
    .filter((p) => p.chains.length > 0)
    .map(({ port, chains, tlsInspector }) => ({ port, chains, tlsInspector }))
    .sort((a, b) => a.port - b.port);
}

/** The first tcp route, VirtualServices oldest first, whose match fits the server (Istio serves one per TCP server). */
function firstTcpChain(ctx: TranslationContext, bound: IstioObject<VirtualService>[], port: number, gatewayName: string): FilterChain | undefined {
  for (const vs of bound) {
    for (const [t, tcp] of (vs.spec.tcp ?? []).entries()) {
      const matches = tcp.match ?? [];
      if (matches.length > 0 && !matches.some((m) => l4MatchApplies(m, vs, port, gatewayName))) continue;
      if ((tcp.route ?? []).length === 0) continue;
      const filter = tcpProxyFilter(ctx, vs, tcp.route ?? [], `spec.tcp[${t}]`, port);
      return filter ? { filters: [filter] } : undefined;
    }
  }
  return undefined;
}

/** A gateway's TCP/TLS listener: Istio's name 0.0.0.0_<port>, bound to the gateway pod's IP here. */
export function gatewayL4Listener(proxy: ProxyIdentity, port: GatewayL4Port): Listener {
  return {
    name: `0.0.0.0_${port.port}`,
    address: { socket_address: { address: proxy.ip, port_value: port.port } },
    ...(port.tlsInspector ? { listener_filters: [{ name: TLS_INSPECTOR_NAME, typed_config: { '@type': TYPE_URL.tlsInspector } }] } : {}),
    filter_chains: port.chains,
    traffic_direction: 'OUTBOUND',
  };
}

/**
 * Analyzer check: the TCP and TLS routes of every Gateway, as a pod it selects would get them (so
 * destination problems are reported), and the TCP/TLS servers that open no port for want of a route.
 */
export function checkGatewayL4Routes(ctx: TranslationContext): void {
  for (const gateway of ctx.gateways) {
    const pod: ProxyIdentity = { id: `analyze~${gateway.namespace}~${gateway.name}`, kind: 'router', namespace: gateway.namespace, cluster: '', labels: gateway.spec.selector ?? {}, ip: '0.0.0.0' };
    const opened = new Set(gatewayL4Ports(ctx, pod).map((p) => p.port));
    for (const { gateway: g, server, index, kind } of servedServers(ctx, pod)) {
      if (g !== gateway || kind === 'http' || kind === 'https' || opened.has(server.port.number)) continue;
      const routes = kind === 'tcp' ? 'tcp' : 'tls (with a match on the sniHosts clients send)';
      ctx.problems.add(problemAt({ kind: 'Gateway', name: gateway.name, namespace: gateway.namespace }, 'warning', 'server-without-route', `spec.servers[${index}]`,
        `no VirtualService bound to this Gateway has a usable ${routes} route for port ${server.port.number} and hosts ${(server.hosts ?? []).join(', ')}, ` +
          'so the gateway opens no listener on this port (as Istio). Bind a VirtualService with such a route to the Gateway.'));
    }
  }
}
