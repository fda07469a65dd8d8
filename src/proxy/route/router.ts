// The router of one listener: built from a route table, rebuilt whenever that table changes.
// route() answers "which virtual host and route serve this request", nothing more.

import type { Route, RouteTable, VirtualHost } from '../model/route.js';
import { matchRoute, type MatchRequest } from './match.js';
import { buildVirtualHostIndex, portOf, stripPort } from './vhost.js';

export interface RouteDecision {
  virtualHost: VirtualHost;
  route: Route;
}

export interface HostPortPolicy {
  stripAnyHostPort: boolean;
  stripMatchingHostPort: boolean;
  listenerPort: number;
}

export class Router {
  private readonly vhosts;

  constructor(
    readonly table: RouteTable,
    private readonly hostPort: HostPortPolicy,
  ) {
    this.vhosts = buildVirtualHostIndex(table.virtualHosts);
  }

  /** The authority used for virtual host selection after HCM port stripping. */
  hostForMatching(authority: string): string {
    if (this.hostPort.stripAnyHostPort) return stripPort(authority);
    if (this.hostPort.stripMatchingHostPort && portOf(authority) === this.hostPort.listenerPort) return stripPort(authority);
    return authority;
  }

  /** undefined: no virtual host or no route matched (404 NR). */
  route(req: MatchRequest): RouteDecision | undefined {
    const found = this.find(req);
    return found?.route && (found as RouteDecision);
  }

  /** The virtual host (undefined: none) and its route for the request (undefined: none matched). */
  find(req: MatchRequest): { virtualHost: VirtualHost; route: Route | undefined } | undefined {
    const virtualHost = this.vhosts.find(this.hostForMatching(req.authority));
    return virtualHost && { virtualHost, route: virtualHost.routes.find((r) => matchRoute(r.match, req)) };
  }
}
