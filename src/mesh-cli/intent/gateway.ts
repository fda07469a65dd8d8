// The routes an ingress gateway pod applies to a request: the Gateways whose selector matches the pod
// and that serve HTTP on the port; the VirtualServices bound to them whose hosts (within what the
// server admits) cover the Host header, the most specific host winning as Envoy picks its virtual
// host; their routes merged as pilot merges them (VirtualServices oldest first, catch-alls last).

import type { Gateway, GatewayServer, VirtualService } from '../../config/istio-types.js';
import { compareByCreation, type IstioObject } from '../../registry/model.js';
import { gatewayName } from './http-match.js';
import { Underivable, type IntentInput } from './model.js';
import { exportedTo, hostPatternMatches, hostSpecificity, qualifyHost, selects } from './names.js';
import { isCatchAll, routeEntries, type RouteEntry } from './routes.js';

const HTTP_SERVERS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

/** A server host `ns/host` admits VirtualServices of that namespace (`*` any, `.` the Gateway's own). */
function admittedHost(serverHost: string, gatewayNamespace: string, vsNamespace: string): string | undefined {
  const slash = serverHost.indexOf('/');
  if (slash < 0) return serverHost.toLowerCase();
  const ns = serverHost.slice(0, slash);
  if (ns === '*' || (ns === '.' && vsNamespace === gatewayNamespace) || ns === vsNamespace) return serverHost.slice(slash + 1).toLowerCase();
  return undefined;
}

/** The narrower of two host patterns that overlap. */
function intersection(a: string, b: string): string | undefined {
  if (hostPatternMatches(a, b)) return b;
  if (hostPatternMatches(b, a)) return a;
  return undefined;
}

export interface GatewayRoutes {
  /** `namespace/name` of the Gateways serving the port. */
  gateways: string[];
  /** `namespace/name` of the VirtualServices whose routes were merged, oldest first. */
  virtualServices: string[];
  entries: RouteEntry[];
}

export function gatewayRoutes(input: IntentInput, hostName: string, port: number, domainSuffix: string): GatewayRoutes {
  const selecting = (input.config.gateways ?? []).filter((g) => selects(g.spec.selector ?? {}, input.source.labels));
  const serving: Array<{ gateway: IstioObject<Gateway>; server: GatewayServer }> = selecting.flatMap((gateway) =>
    (gateway.spec.servers ?? []).filter((s) => s.port?.number === port).map((server) => ({ gateway, server })),
  );
  if (serving.length === 0) throw new Underivable(`no Gateway selecting this gateway pod (labels ${JSON.stringify(input.source.labels)}) has a server on port ${port}`);
  const other = serving.find((s) => !HTTP_SERVERS.has((s.server.port.protocol ?? '').toUpperCase()));
  if (other) throw new Underivable(`Gateway ${other.gateway.namespace}/${other.gateway.name} serves ${other.server.port.protocol} on port ${port}: only HTTP servers are modelled`);

  const virtualServices = [...input.config.virtualServices].sort(compareByCreation);
  const candidates: Array<{ vs: IstioObject<VirtualService>; gateway: string; host: string }> = [];
  for (const { gateway, server } of serving) {
    const name = `${gateway.namespace}/${gateway.name}`;
    for (const vs of virtualServices) {
      if (!(vs.spec.gateways ?? []).some((g) => gatewayName(g, vs.namespace) === name)) continue;
      if (!exportedTo(vs.spec.exportTo, vs.namespace, gateway.namespace)) continue;
      for (const vsHost of vs.spec.hosts ?? []) {
        for (const serverHost of server.hosts ?? []) {
          const admitted = admittedHost(serverHost, gateway.namespace, vs.namespace);
          const host = admitted && intersection(admitted, qualifyHost(vsHost, vs.namespace, domainSuffix));
          if (host && hostPatternMatches(host, hostName)) candidates.push({ vs, gateway: name, host });
        }
      }
    }
  }
  const gateways = [...new Set(serving.map((s) => `${s.gateway.namespace}/${s.gateway.name}`))];
  if (candidates.length === 0) return { gateways, virtualServices: [], entries: [] };
  const best = candidates.reduce((a, b) => (hostSpecificity(b.host, hostName) > hostSpecificity(a.host, hostName) ? b : a)).host;
  const chosen = candidates.filter((c) => c.host === best).filter((c, i, all) => all.findIndex((o) => o.vs === c.vs) === i);
  const entries = chosen.flatMap((c) => routeEntries(c.vs, { source: input.source, port, gateway: c.gateway }));
  return {
    gateways,
    virtualServices: chosen.map((c) => `${c.vs.namespace}/${c.vs.name}`),
    entries: [...entries.filter((e) => !isCatchAll(e.match)), ...entries.filter((e) => isCatchAll(e.match))],
  };
}
