// Clusters and endpoints as the proxy sees them (from CDS and EDS / static load assignments).

export type LbPolicy = 'round_robin' | 'least_request' | 'random';

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
  /**
   * Circuit-breaker limits the cluster sets (`max_pending_requests 5`) that this proxy does not enforce:
   * accepted (Envoy enforces them on the same config), and reported when the cluster is taken on.
   */
  unenforcedLimits: string[];
}

export function endpointKey(e: { host: string; port: number }): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
