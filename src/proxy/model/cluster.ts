// Clusters and endpoints as the proxy sees them (from CDS and EDS / static load assignments).

import type { TransportSocketMatch, UpstreamTransportSpec } from './tls.js';

export type LbPolicy = 'round_robin' | 'least_request' | 'random' | 'ring_hash' | 'maglev';

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface Endpoint {
  host: string;
  port: number;
  weight: number;
  health: HealthStatus;
  priority: number;
  locality: { region: string; zone: string; subZone: string };
  /** The locality's load_balancing_weight (0 when unset: no traffic under locality-weighted balancing). */
  localityWeight: number;
  /** metadata.filter_metadata['envoy.transport_socket_match']: what picks the cluster's transport_socket_matches entry. */
  transportMatch?: Readonly<Record<string, unknown>>;
}

export interface EndpointSet {
  clusterName: string;
  endpoints: Endpoint[];
}

export interface OutlierDetection {
  consecutive5xx: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
  enforcingConsecutive5xx: number;
  /** Eject one host even when that goes over maxEjectionPercent (always_eject_one_host). */
  alwaysEjectOneHost: boolean;
  consecutiveGatewayFailure: number;
  /** Envoy's default is 0: gateway failures are counted, not acted on, unless this is set. */
  enforcingConsecutiveGatewayFailure: number;
  splitExternalLocalOriginErrors: boolean;
  consecutiveLocalOriginFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
}

/**
 * STRICT_DNS (every address of every endpoint's name) or LOGICAL_DNS (the first address of the one
 * endpoint's name), re-resolved every refreshMs. `endpoints` carry names where hosts carry addresses.
 */
export interface DnsDiscovery {
  kind: 'dns';
  logical: boolean;
  endpoints: EndpointSet;
  /** dns_lookup_family: 4 (V4_ONLY), 6 (V6_ONLY), or 0 (any; AUTO, V4_PREFERRED and ALL keep every address family). */
  family: 0 | 4 | 6;
  refreshMs: number;
}

export interface Cluster {
  name: string;
  discovery: { kind: 'eds'; serviceName: string } | { kind: 'static'; endpoints: EndpointSet } | DnsDiscovery;
  lbPolicy: LbPolicy;
  connectTimeoutMs: number;
  http2: boolean;
  outlier: OutlierDetection | undefined;
  /** common_lb_config.healthy_panic_threshold in percent (Envoy's default 50). */
  panicThresholdPercent: number;
  /** common_lb_config.locality_weighted_lb_config: pick a locality by weight first. */
  localityWeighted: boolean;
  /** least_request_lb_config.choice_count: hosts sampled per pick (Envoy's default 2). */
  choiceCount: number;
  /** ring_hash_lb_config / maglev_lb_config (Envoy's defaults when absent). */
  hashLb: { minimumRingSize: number; maximumRingSize: number; tableSize: number };
  /** The default-priority circuit breaker thresholds (Envoy's defaults: 1024, 1024, 1024, 3). */
  limits: CircuitBreakerLimits;
  /** common_http_protocol_options: upstream connections closed after this many requests / this long idle. */
  maxRequestsPerConnection: number | undefined;
  idleTimeoutMs: number | undefined;
  /**
   * Fields the cluster sets that this proxy accepts without acting on them (`slow_start_config`):
   * Envoy honours them on the same config; reported when the cluster is taken on.
   */
  unenforced: string[];
  /** transport_socket (undefined: raw_buffer). */
  transport?: UpstreamTransportSpec;
  /** transport_socket_matches, in order: the first whose fields all equal the endpoint's transportMatch wins, else `transport`. */
  transportSocketMatches?: TransportSocketMatch[];
}

/** Envoy's defaults for ring_hash_lb_config and maglev_lb_config. */
export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

export interface CircuitBreakerLimits {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

export function endpointKey(e: { host: string; port: number }): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
