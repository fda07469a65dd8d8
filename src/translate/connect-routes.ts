// Mesh (sidecar) tcp and tls routes. Here apps reach the mesh through their sidecar's HTTP proxy
// (http_proxy / https_proxy, no iptables), so a connection to a TCP or TLS service port arrives as an
// HTTP/1.1 `CONNECT host:port` on the outbound listener -- what curl, Go, Java and Python send for a
// TLS or raw destination through a proxy. Envoy's CONNECT termination stands in for Istio's per-port
// outbound TCP listener: one virtual host per service port and name, whose connect_matcher route sends
// the tunnel where Istio's tcp_proxy would send the connection:
// - a TCP port: the first tcp route of the service's VirtualService whose match applies to this
//   client (port, sourceLabels, sourceNamespace, gateways "mesh"), else the service itself;
// - a TLS/HTTPS port: the tls routes' sniHosts are matched against the CONNECT host (a client that
//   tunnels TLS names in CONNECT the server it puts in its ClientHello): a virtual host per SNI name
//   (`*.example.com:443` matches any subdomain); the service's own names go to the service unless a
//   tls route claims them.
// The tunnel's idle timeout is the DestinationRule's connectionPool.tcp.idleTimeout, else 1 h (the
// tcp_proxy default Istio relies on); maxConnectionDuration has no CONNECT equivalent and is reported.

import type { L4MatchAttributes, VirtualService } from '../config/istio-types.js';
import type { IstioObject, ProxyIdentity } from '../registry/model.js';
import { serviceVisible, type TranslationContext } from './context.js';
import type { Duration, Route, RouteAction } from './envoy-types.js';
import { resolveGatewayName, virtualServiceGateways } from './http-routes.js';
import { claimingVirtualService, meshVirtualServices } from './mesh-routes.js';
import { labelsMatch, outboundClusterName, portProtocol, resolveHost, serviceDomains } from './names.js';
import { problemAt, type ConfigRef } from '../config/problems.js';
import type { SourcedVirtualHost } from './route-config.js';
import { resolveL4Route, tcpLimits, type L4Target } from './tcp-routes.js';

/** Envoy's tcp_proxy idle_timeout default, which Istio's outbound TCP listeners keep. */
const TCP_IDLE_DEFAULT: Duration = { seconds: 3600, nanos: 0 };

/** Istio's sidecar L4 match: every condition given holds for this client and port. */
function l4MatchApplies(ctx: TranslationContext, match: L4MatchAttributes, vs: IstioObject<VirtualService>, field: string, port: number, proxy: ProxyIdentity): boolean {
  if ((match.destinationSubnets ?? []).length > 0) {
    ctx.problems.add(problemAt({ kind: 'VirtualService', name: vs.name, namespace: vs.namespace }, 'warning', 'unsupported', `${field}.destinationSubnets`,
      'destinationSubnets is not honoured for the mesh: apps reach TCP services through their proxy by name (CONNECT host:port), not by destination IP; this match is skipped.'));
    return false;
  }
  if (match.port !== undefined && match.port !== 0 && match.port !== port) return false;
  const gateways = match.gateways ?? [];
  if (gateways.length > 0 && !gateways.map((g) => resolveGatewayName(g, vs.namespace)).includes('mesh')) return false;
  if (match.sourceLabels && !labelsMatch(match.sourceLabels, proxy.labels)) return false;
  if (match.sourceNamespace && match.sourceNamespace !== proxy.namespace) return false;
  return true;
}

function connectRoute(ctx: TranslationContext, target: L4Target): Route {
  const { destination } = target;
  if (target.maxDuration && target.rule) {
    ctx.problems.add(problemAt(target.rule, 'warning', 'unsupported', 'spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration',
      'maxConnectionDuration is not applied to mesh TCP connections (they are CONNECT tunnels through the sidecar\'s HTTP proxy here); gateways apply it.'));
  }
  const action: RouteAction = {
    ...('cluster' in destination
      ? { cluster: destination.cluster }
      : { weighted_clusters: { clusters: destination.weighted.map((c) => ({ name: c.name, weight: { value: c.weight } })) } }),
    timeout: { seconds: 0, nanos: 0 },
    idle_timeout: target.idleTimeout ?? TCP_IDLE_DEFAULT,
    upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }],
  };
  return { name: 'connect', match: { connect_matcher: {} }, route: action };
}

/** The CONNECT virtual hosts of a sidecar's outbound route configuration: one per TCP/TLS service port and name. */
export function meshConnectVirtualHosts(ctx: TranslationContext, proxy: ProxyIdentity): SourcedVirtualHost[] {
  const candidates = meshVirtualServices(ctx, proxy.namespace);
  const out: SourcedVirtualHost[] = [];
  const sniTaken = new Set<string>();
  for (const service of ctx.serviceList) {
    if (!serviceVisible(service, proxy.namespace)) continue;
    const vs = claimingVirtualService(ctx, candidates, service.hostname);
    const ref: ConfigRef | undefined = vs && { kind: 'VirtualService', name: vs.name, namespace: vs.namespace };
    for (const port of service.ports) {
      const protocol = portProtocol(port);
      if (protocol !== 'tcp' && protocol !== 'tls') continue;
      // CONNECT always names a port: only the host:port forms of the service's names.
      const domains = serviceDomains(service, port.port, proxy.namespace).filter((d) => d.endsWith(`:${port.port}`));
      const own = outboundClusterName(port.port, undefined, service.hostname);
      let target: L4Target = { destination: { cluster: own }, statPrefix: own, ...tcpLimits(ctx, service.hostname) };
      const sniHosts: SourcedVirtualHost[] = [];
      if (vs && protocol === 'tcp') {
        for (const [t, tcp] of (vs.spec.tcp ?? []).entries()) {
          const matches = tcp.match ?? [];
          if (matches.length > 0 && !matches.some((m, i) => l4MatchApplies(ctx, m, vs, `spec.tcp[${t}].match[${i}]`, port.port, proxy))) continue;
          if ((tcp.route ?? []).length === 0) continue;
          const resolved = resolveL4Route(ctx, vs, tcp.route ?? [], `spec.tcp[${t}]`, port.port);
          if (resolved) target = resolved;
          break;
        }
      }
      if (vs && protocol === 'tls') {
        (vs.spec.tls ?? []).forEach((tls, t) => {
          if ((tls.route ?? []).length === 0) return;
          (tls.match ?? []).forEach((match, m) => {
            if (!l4MatchApplies(ctx, match, vs, `spec.tls[${t}].match[${m}]`, port.port, proxy)) return;
            const names = (match.sniHosts ?? []).map((h) => `${h.toLowerCase()}:${port.port}`).filter((d) => !sniTaken.has(d));
            if (names.length === 0) return;
            const resolved = resolveL4Route(ctx, vs, tls.route ?? [], `spec.tls[${t}]`, port.port);
            if (!resolved) return;
            for (const n of names) sniTaken.add(n);
            sniHosts.push({ source: ref, vhost: { name: `${names[0]}|tls[${t}].match[${m}]`, domains: names, routes: [connectRoute(ctx, resolved)] } });
          });
        });
      }
      out.push(...sniHosts);
      const left = domains.filter((d) => !sniTaken.has(d));
      if (left.length > 0) out.push({ source: ref ?? service.origin, vhost: { name: `${service.hostname}:${port.port}`, domains: left, routes: [connectRoute(ctx, target)] } });
    }
  }
  return out;
}

/**
 * Analyzer check: mesh tcp/tls routes that no port of their service can use. Istio sniffs a port
 * without a declared protocol and applies tcp routes to TCP traffic on it; here such a port is HTTP
 * (no sniffing), so the routes do nothing there, which is said rather than left to be found.
 */
export function checkMeshL4Routes(ctx: TranslationContext): void {
  for (const vs of ctx.virtualServices) {
    if (!virtualServiceGateways(vs).includes('mesh')) continue;
    const hosts = (vs.spec.hosts ?? []).map((h) => resolveHost(h, vs.namespace, ctx.domainSuffix));
    // A wildcard host may cover services of any protocol: nothing to say for sure.
    if (hosts.some((h) => h.includes('*'))) continue;
    for (const kind of ['tcp', 'tls'] as const) {
      if ((vs.spec[kind] ?? []).length === 0) continue;
      const ports = hosts.flatMap((h) => ctx.services.get(h)?.ports ?? []);
      const wanted = kind === 'tcp' ? 'tcp' : 'tls';
      if (ports.some((p) => portProtocol(p) === wanted)) continue;
      const undeclared = ports.filter((p) => !p.appProtocol && !p.name);
      ctx.problems.add(problemAt({ kind: 'VirtualService', name: vs.name, namespace: vs.namespace }, 'warning', 'unsupported', `spec.${kind}`,
        `no port of ${hosts.join(', ') || 'its hosts'} is ${kind === 'tcp' ? 'TCP' : 'TLS/HTTPS'}, so these ${kind} routes apply nowhere in the mesh` +
          (undeclared.length > 0
            ? `; port ${undeclared.map((p) => p.port).join(', ')} declares no protocol, which Istio would sniff but this mesh serves as HTTP. Name it ${kind}-<suffix> or set appProtocol: ${kind}.`
            : ' (as in Istio, they apply only to ports of that protocol).')));
    }
  }
}
