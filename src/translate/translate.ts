// The translation: (mesh snapshot, proxy) -> Envoy v3 resources. Pure: no I/O, no clock; the
// same inputs give the same output (everything is sorted), which the golden files rely on.

import type { MeshSnapshot, ProxyIdentity } from '../registry/model.js';
import { buildOutboundClusters, checkSubsetsSelectEndpoints } from './clusters.js';
import { buildContext, type TranslationContext } from './context.js';
import type { Listener, ProxyResources, RouteConfiguration } from './envoy-types.js';
import { checkGatewayReferences, checkGatewayServers, gatewayPorts } from './gateway.js';
import { buildVirtualServiceRoutes, virtualServiceGateways } from './http-routes.js';
import { gatewayListener, HTTP_PROXY_ROUTE, proxylessListener, sidecarInbound, sidecarOutboundListener } from './listeners.js';
import { meshVirtualHosts } from './mesh-routes.js';
import { problemAt, type Problem } from './problems.js';
import { assembleRouteConfig } from './route-config.js';
import { resolveHost, serviceFqdn } from './names.js';

export function translate(snapshot: MeshSnapshot, proxy: ProxyIdentity): ProxyResources {
  const ctx = buildContext(snapshot, proxy);
  const outbound = buildOutboundClusters(ctx);
  const listeners: Listener[] = [];
  const routes: RouteConfiguration[] = [];
  const clusters = [...outbound.clusters];
  const endpoints = [...outbound.endpoints];

  switch (proxy.kind) {
    case 'sidecar': {
      listeners.push(sidecarOutboundListener(proxy));
      routes.push(assembleRouteConfig(HTTP_PROXY_ROUTE, meshVirtualHosts(ctx, proxy), snapshot.version, ctx.problems));
      const inbound = sidecarInbound(ctx, proxy);
      listeners.push(...inbound.listeners);
      clusters.push(...inbound.clusters);
      break;
    }
    case 'router': {
      for (const port of gatewayPorts(ctx, proxy)) {
        listeners.push(gatewayListener(proxy, port.port, port.routeConfigName));
        routes.push(assembleRouteConfig(port.routeConfigName, port.vhosts, snapshot.version, ctx.problems));
      }
      break;
    }
    case 'proxyless': {
      for (const mv of meshVirtualHosts(ctx, proxy)) {
        const withFault = mv.vhost.routes.some((r) => r.typed_per_filter_config !== undefined);
        for (const name of proxylessListenerNames(mv.service, mv.port, snapshot.domainSuffix)) {
          listeners.push(proxylessListener(name, withFault));
          routes.push(assembleRouteConfig(name, [mv], snapshot.version, ctx.problems));
        }
      }
      break;
    }
    default: {
      const unknown: never = proxy.kind;
      throw new Error(`not implemented: proxy kind ${String(unknown)}`);
    }
  }
  return {
    listeners: listeners.sort((a, b) => a.name.localeCompare(b.name)),
    routes: routes.sort((a, b) => a.name.localeCompare(b.name)),
    clusters: clusters.sort((a, b) => a.name.localeCompare(b.name)),
    endpoints: endpoints.sort((a, b) => a.cluster_name.localeCompare(b.cluster_name)),
    problems: ctx.problems.list(),
  };
}

/** `<fqdn>:<port>`, and for Kubernetes services `<name>.<ns>:<port>` and `<name>.<ns>.svc:<port>`. */
export function proxylessListenerNames(service: { hostname: string; name: string; namespace: string }, port: number, domainSuffix: string): string[] {
  const names = [`${service.hostname}:${port}`];
  if (service.hostname === serviceFqdn(service.name, service.namespace, domainSuffix)) {
    names.push(`${service.name}.${service.namespace}:${port}`, `${service.name}.${service.namespace}.svc:${port}`);
  }
  return names;
}

/**
 * Everything wrong with the mesh's config, independent of any proxy (for `meshwork analyze`):
 * every VirtualService route is checked as if every match applied, plus references between objects.
 */
export function analyze(snapshot: MeshSnapshot): Problem[] {
  const ctx = buildContext(snapshot, undefined);
  buildOutboundClusters(ctx);
  checkSubsetsSelectEndpoints(ctx);
  checkGatewayReferences(ctx);
  checkGatewayServers(ctx);
  for (const vs of ctx.virtualServices) {
    const ref = { kind: 'VirtualService' as const, name: vs.name, namespace: vs.namespace };
    if (vs.spec.tcp && vs.spec.tcp.length > 0) {
      ctx.problems.add(problemAt(ref, 'warning', 'unsupported', 'spec.tcp', 'TCP routes are not translated (only http routes are); they are ignored.'));
    }
    if (vs.spec.tls && vs.spec.tls.length > 0) {
      ctx.problems.add(problemAt(ref, 'warning', 'unsupported', 'spec.tls', 'TLS routes are not translated (only http routes are); they are ignored.'));
    }
    const gateways = virtualServiceGateways(vs);
    const meshBound = gateways.includes('mesh');
    if (meshBound) {
      (vs.spec.hosts ?? []).forEach((h, i) => {
        const host = resolveHost(h, vs.namespace, ctx.domainSuffix);
        if (host === '*' || host.startsWith('*.')) return;
        if (!ctx.services.has(host)) {
          ctx.problems.add(problemAt(ref, 'warning', 'unknown-host', `spec.hosts[${i}]`,
            `host "${h}" (resolved to ${host}) matches no service in the mesh, so no sidecar routes it. ` +
              `Use the Service name, or the FQDN <name>.<namespace>.svc.${ctx.domainSuffix} for a service in another namespace.`));
        }
      });
    }
    for (const gateway of gateways) {
      const singleService = meshBound ? singleServiceOf(ctx, vs.spec.hosts ?? [], vs.namespace) : undefined;
      buildVirtualServiceRoutes(ctx, vs, { gateway, proxyless: false, service: singleService });
    }
  }
  // Duplicate mesh hosts: let the mesh virtual host builder find the conflicts from every namespace.
  const namespaces = new Set(ctx.serviceList.map((s) => s.namespace));
  for (const namespace of namespaces) {
    meshVirtualHosts(ctx, { id: `analyze~${namespace}`, kind: 'sidecar', namespace, cluster: '', labels: {}, ip: '0.0.0.0' });
  }
  return ctx.problems.list();
}

/** For analysis: the service a mesh VirtualService is about when it names exactly one (the port default). */
function singleServiceOf(ctx: TranslationContext, hosts: string[], namespace: string): { hostname: string; port: number } | undefined {
  if (hosts.length !== 1) return undefined;
  const host = resolveHost(hosts[0], namespace, ctx.domainSuffix);
  const service = ctx.services.get(host);
  // A destination without a port goes to the port being served; any port stands for it here.
  if (!service || service.ports.length === 0) return undefined;
  return { hostname: host, port: service.ports[0].port };
}
