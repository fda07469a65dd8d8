// Listeners as the proxy sees them: an address to bind and the HTTP connection manager behind it.

import type { FaultConfig } from './fault.js';
import type { RouteTable } from './route.js';

export type RouteSource = { kind: 'rds'; routeConfigName: string } | { kind: 'inline'; table: RouteTable };

export interface HttpConnectionManager {
  statPrefix: string;
  routes: RouteSource;
  /** The listener-level fault filter config (http_filters entry 'envoy.filters.http.fault'), if any. */
  fault: FaultConfig | undefined;
  /** Whether the fault filter is in the chain at all (per-route fault configs need it). */
  faultFilterPresent: boolean;
  stripAnyHostPort: boolean;
  stripMatchingHostPort: boolean;
}

export interface Listener {
  name: string;
  address: { host: string; port: number };
  http: HttpConnectionManager;
}
