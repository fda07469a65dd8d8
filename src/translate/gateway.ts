// Ingress gateway (router) config: Gateways whose selector matches the proxy's labels open a
// listener per server port; VirtualServices bound to those Gateways fill RouteConfiguration
// `http.<port>` with one virtual host per host. Unmatched requests fall through to Envoy's 404.

import type { Gateway, GatewayServer, VirtualService } from '../config/istio-types.js';
import type { IstioObject, ProxyIdentity } from '../registry/model.js';
import type { TranslationContext } from './context.js';
import { buildVirtualServiceRoutes, virtualServiceGateways } from './http-routes.js';
import { hostIntersection, labelsMatch, resolveHost, visibleTo } from './names.js';
import { problemAt, type ConfigRef } from './problems.js';
import type { SourcedVirtualHost } from './route-config.js';

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

export interface GatewayPort {
  port: number;
  routeConfigName: string;
  vhosts: SourcedVirtualHost[];
}

/** Gateways select gateway pods by label, in any namespace (Istio's default). */
export function gatewaysForProxy(ctx: TranslationContext, proxy: ProxyIdentity): IstioObject<Gateway>[] {
  return ctx.gateways.filter((g) => labelsMatch(g.spec.selector ?? {}, proxy.labels));
}

/** Whether a server host `ns/host` admits a VirtualService from `vsNamespace`. */
function serverHostAdmits(serverHost: string, gatewayNamespace: string, vsNamespace: string): { host: string } | undefined {
  const slash = serverHost.indexOf('/');
  if (slash < 0) return { host: serverHost.toLowerCase() };
  const ns = serverHost.slice(0, slash);
  const host = serverHost.slice(slash + 1).toLowerCase();
  if (ns === '*' || (ns === '.' && vsNamespace === gatewayNamespace) || ns === vsNamespace) return { host };
  return undefined;
}

function gatewayDomains(host: string): string[] {
  // A Host header may carry a port ("example.com:8080"); `*` already matches everything.
  return host === '*' ? ['*'] : [host, `${host}:*`];
}

function serverSupported(ctx: TranslationContext, gateway: IstioObject<Gateway>, server: GatewayServer, index: number): boolean {
  const ref: ConfigRef = { kind: 'Gateway', name: gateway.name, namespace: gateway.namespace };
  const protocol = (server.port?.protocol ?? '').toUpperCase();
  if (HTTP_PROTOCOLS.has(protocol)) return true;
  ctx.problems.add(problemAt(ref, 'warning', 'unsupported', `spec.servers[${index}].port.protocol`,
    protocol === 'HTTPS'
      ? 'HTTPS servers (TLS termination at the gateway) are not supported yet; this server is skipped. Serve HTTP on this port meanwhile.'
      : `protocol ${protocol || '(none)'} is not supported (HTTP, HTTP2, GRPC are); this server is skipped.`));
  return false;
}

export function gatewayPorts(ctx: TranslationContext, proxy: ProxyIdentity): GatewayPort[] {
  const byPort = new Map<number, GatewayPort>();
  const claimed = new Map<string, { port: number; vs: IstioObject<VirtualService> }>();
  for (const gateway of gatewaysForProxy(ctx, proxy)) {
    const gatewayName = `${gateway.namespace}/${gateway.name}`;
    (gateway.spec.servers ?? []).forEach((server, serverIndex) => {
      if (!serverSupported(ctx, gateway, server, serverIndex)) return;
      const port = server.port.number;
      let entry = byPort.get(port);
      if (!entry) {
        entry = { port, routeConfigName: `http.${port}`, vhosts: [] };
        byPort.set(port, entry);
      }
      for (const vs of ctx.virtualServices) {
        if (!virtualServiceGateways(vs).includes(gatewayName)) continue;
        if (!visibleTo(vs.spec.exportTo, vs.namespace, gateway.namespace)) continue;
        const hosts = new Set<string>();
        for (const vsHost of vs.spec.hosts ?? []) {
          const resolved = resolveHost(vsHost, vs.namespace, ctx.domainSuffix);
          for (const serverHost of server.hosts ?? []) {
            const admitted = serverHostAdmits(serverHost, gateway.namespace, vs.namespace);
            if (!admitted) continue;
            const host = hostIntersection(admitted.host, resolved);
            if (host) hosts.add(host);
          }
        }
        if (hosts.size === 0) continue;
        const routes = buildVirtualServiceRoutes(ctx, vs, { gateway: gatewayName, port, proxy, proxyless: false });
        for (const host of [...hosts].sort()) {
          const key = `${port}|${host}`;
          const owner = claimed.get(key);
          if (owner) {
            if (owner.vs !== vs) {
              ctx.problems.add(problemAt({ kind: 'VirtualService', name: vs.name, namespace: vs.namespace }, 'warning', 'duplicate-host', 'spec.hosts',
                `host ${host} on gateway port ${port} is already served by VirtualService ${owner.vs.namespace}/${owner.vs.name}; ` +
                  'this one is ignored for it. Merge their routes into one VirtualService.'));
            }
            continue;
          }
          claimed.set(key, { port, vs });
          entry.vhosts.push({
            source: { kind: 'VirtualService', name: vs.name, namespace: vs.namespace },
            vhost: {
              name: `${host}:${port}`,
              domains: gatewayDomains(host),
              routes,
              ...(server.tls?.httpsRedirect ? { require_tls: 'ALL' as const } : {}),
            },
          });
        }
      }
    });
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

/** Analyzer check: Gateway servers this mesh cannot serve. */
export function checkGatewayServers(ctx: TranslationContext): void {
  for (const gateway of ctx.gateways) (gateway.spec.servers ?? []).forEach((server, i) => serverSupported(ctx, gateway, server, i));
}

/** Analyzer check: VirtualService gateways that name no Gateway. */
export function checkGatewayReferences(ctx: TranslationContext): void {
  const known = new Set(ctx.gateways.map((g) => `${g.namespace}/${g.name}`));
  for (const vs of ctx.virtualServices) {
    (vs.spec.gateways ?? []).forEach((g, i) => {
      const resolved = virtualServiceGateways({ ...vs, spec: { gateways: [g] } })[0];
      if (resolved === 'mesh' || known.has(resolved)) return;
      ctx.problems.add(problemAt({ kind: 'VirtualService', name: vs.name, namespace: vs.namespace }, 'error', 'unknown-gateway', `spec.gateways[${i}]`,
        `gateway "${g}" (resolved to ${resolved}) does not exist; apply the Gateway or write "<namespace>/<name>" for one in another namespace.`));
    });
  }
}
