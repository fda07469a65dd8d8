// Virtual hosts for mesh traffic (sidecars and proxyless clients): one per service port, with the
// routes of the VirtualService bound to the mesh that claims the service's host, or the default
// route to the whole service.

import type { VirtualService } from '../config/istio-types.js';
import { compareByCreation, type IstioObject, type ProxyIdentity } from '../registry/model.js';
import { serviceVisible, type ServiceView, type TranslationContext } from './context.js';
import { applyServiceHash } from './hash-policy.js';
import { buildVirtualServiceRoutes, defaultRoute, virtualServiceGateways } from './http-routes.js';
import { hostMatches, isHttpProtocol, outboundClusterName, portProtocol, resolveHost, serviceDomains, visibleTo } from './names.js';
import { problemAt } from '../config/problems.js';
import type { SourcedVirtualHost } from './route-config.js';

export interface MeshVirtualHost extends SourcedVirtualHost {
  service: ServiceView;
  port: number;
}

/** The mesh-bound VirtualServices visible from `namespace`, with their hosts resolved. */
export function meshVirtualServices(ctx: TranslationContext, namespace: string): Array<{ vs: IstioObject<VirtualService>; hosts: string[] }> {
  const out: Array<{ vs: IstioObject<VirtualService>; hosts: string[] }> = [];
  for (const vs of ctx.virtualServices) {
    if (!virtualServiceGateways(vs).includes('mesh')) continue;
    if (!visibleTo(vs.spec.exportTo, vs.namespace, namespace)) continue;
    const hosts: string[] = [];
    (vs.spec.hosts ?? []).forEach((h, i) => {
      const host = resolveHost(h, vs.namespace, ctx.domainSuffix);
      if (host === '*') {
        ctx.problems.add(problemAt({ kind: 'VirtualService', name: vs.name, namespace: vs.namespace }, 'warning', 'unsupported', `spec.hosts[${i}]`,
          'host "*" is only allowed for VirtualServices bound to gateways; it is ignored for the mesh. Name the services instead.'));
        return;
      }
      hosts.push(host);
    });
    out.push({ vs, hosts });
  }
  return out;
}

/**
 * The VirtualService that claims `hostname` for the mesh: an exact host beats a wildcard; then the
 * oldest (creation time, then name, then namespace), as Istio picks it. Sidecars do not merge them.
 */
export function claimingVirtualService(
  ctx: TranslationContext,
  candidates: Array<{ vs: IstioObject<VirtualService>; hosts: string[] }>,
  hostname: string,
): IstioObject<VirtualService> | undefined {
  const matching = candidates
    .map((c) => ({ vs: c.vs, exact: c.hosts.includes(hostname), any: c.hosts.some((h) => hostMatches(h, hostname)) }))
    .filter((c) => c.any)
    .sort((a, b) => Number(b.exact) - Number(a.exact) || compareByCreation(a.vs, b.vs));
  const winner = matching[0];
  for (const loser of matching.slice(1)) {
    if (loser.exact !== winner.exact) continue;
    ctx.problems.add(problemAt({ kind: 'VirtualService', name: loser.vs.name, namespace: loser.vs.namespace }, 'warning', 'duplicate-host', 'spec.hosts',
      `host ${hostname} is also claimed by VirtualService ${winner.vs.namespace}/${winner.vs.name}, which is used; ` +
        `this one is ignored for that host. Merge the two VirtualServices' routes into one.`));
  }
  return winner?.vs;
}

export function meshVirtualHosts(ctx: TranslationContext, proxy: ProxyIdentity): MeshVirtualHost[] {
  const candidates = meshVirtualServices(ctx, proxy.namespace);
  const out: MeshVirtualHost[] = [];
  // Kubernetes services first: when a ServiceEntry host collides with a name clients use for a
  // Service, the Service keeps the name and the ServiceEntry is reported.
  const services = [...ctx.serviceList].sort((a, b) => Number(a.origin !== undefined) - Number(b.origin !== undefined));
  for (const service of services) {
    if (!serviceVisible(service, proxy.namespace)) continue;
    const vs = claimingVirtualService(ctx, candidates, service.hostname);
    for (const port of service.ports) {
      if (!isHttpProtocol(portProtocol(port))) continue;
      const scope = {
        gateway: 'mesh',
        port: port.port,
        service: { hostname: service.hostname, port: port.port },
        proxy,
        proxyless: proxy.kind === 'proxyless',
      };
      const routes = vs ? buildVirtualServiceRoutes(ctx, vs, scope) : [];
      // A VirtualService that contributes no route for this port (its matches name another port,
      // or every route had an error and was left out) leaves the service reachable as without it.
      if (routes.length === 0) {
        const route = defaultRoute(service.hostname, port.port, outboundClusterName(port.port, undefined, service.hostname));
        if ('route' in route) applyServiceHash(ctx, route.route, service.hostname, port.port, scope.proxyless);
        routes.push(route);
      }
      out.push({
        service,
        port: port.port,
        source: vs ? { kind: 'VirtualService', name: vs.name, namespace: vs.namespace } : service.origin,
        vhost: { name: `${service.hostname}:${port.port}`, domains: serviceDomains(service, port.port, proxy.namespace), routes },
      });
    }
  }
  return out;
}
