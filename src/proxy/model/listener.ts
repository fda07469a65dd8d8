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
  /** Where the CORS filter sits (per-route CORS policies need it): before or after the fault filter, or absent. */
  corsFilter: 'before-fault' | 'after-fault' | undefined;
  stripAnyHostPort: boolean;
  stripMatchingHostPort: boolean;
  /** How the request's forwarding headers are trusted and rewritten (x-forwarded-*, x-envoy-*, XFCC). */
  trust: TrustBoundary;
}

/** Envoy's HttpConnectionManager.ForwardClientCertDetails. */
export type ForwardClientCert = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

/** An IPv4 or IPv6 CIDR range (internal_address_config.cidr_ranges). */
export interface CidrRange {
  prefix: string;
  length: number;
}

export interface TrustBoundary {
  /** use_remote_address: the peer's address is the client's; it is appended to x-forwarded-for. */
  useRemoteAddress: boolean;
  /** xff_num_trusted_hops: proxies in front of this one whose x-forwarded-for entries are trusted. */
  xffNumTrustedHops: number;
  skipXffAppend: boolean;
  forwardClientCert: ForwardClientCert;
  /** internal_address_config.cidr_ranges: the addresses whose requests are internal (none by default). */
  internalCidrs: CidrRange[];
  preserveExternalRequestId: boolean;
}

export interface Listener {
  name: string;
  address: { host: string; port: number };
  http: HttpConnectionManager;
}
