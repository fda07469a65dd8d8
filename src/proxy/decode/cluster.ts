// envoy.config.cluster.v3.Cluster -> Cluster.

import { DEFAULT_MAGLEV_TABLE_SIZE, DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE, type CircuitBreakerLimits, type Cluster, type LbPolicy, type OutlierDetection } from '../model/cluster.js';
import { err, ok, type Result } from '../result.js';
import { structToPlain } from '../../xds/status.js';
import { DEFAULT_PANIC_THRESHOLD } from '../cluster/priority-load.js';
import { decodeEndpointsInto } from './endpoint.js';
import { durationMs, enumName, isObj, join, obj, objs, Problems, str, wrappedBool, wrappedNum, type Obj } from './fields.js';
import { decodeUpstreamTransport } from './tls.js';
import type { TransportSocketMatch } from '../model/tls.js';

const HTTP_PROTOCOL_OPTIONS_URL = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';


const LB_POLICIES: Record<string, LbPolicy> = {
  ROUND_ROBIN: 'round_robin',
  LEAST_REQUEST: 'least_request',
  RANDOM: 'random',
  RING_HASH: 'ring_hash',
  MAGLEV: 'maglev',
};

/** Outlier detection by success rate and failure percentage: accepted (Envoy acts on them when enforced), not acted on here. */
const OUTLIER_UNENFORCED = ['enforcing_success_rate', 'enforcing_failure_percentage', 'enforcing_local_origin_success_rate', 'enforcing_failure_percentage_local_origin'];

function decodeOutlier(o: Obj, path: string, p: Problems, unenforced: string[]): OutlierDetection {
  // Istio turns success-rate ejection off (0); Envoy's defaults (100 and 0) mean the same here only when off.
  for (const f of OUTLIER_UNENFORCED) {
    const v = wrappedNum(o, f, path, p) ?? (f === 'enforcing_success_rate' ? 100 : 0);
    if (v > 0) unenforced.push(`${path}.${f} ${v}`);
  }
  return {
    consecutive5xx: wrappedNum(o, 'consecutive_5xx', path, p) ?? 5,
    intervalMs: durationMs(o, 'interval', path, p) ?? 10_000,
    baseEjectionTimeMs: durationMs(o, 'base_ejection_time', path, p) ?? 30_000,
    maxEjectionPercent: wrappedNum(o, 'max_ejection_percent', path, p) ?? 10,
    enforcingConsecutive5xx: wrappedNum(o, 'enforcing_consecutive_5xx', path, p) ?? 100,
    alwaysEjectOneHost: wrappedBool(o, 'always_eject_one_host', path, p) ?? false,
    consecutiveGatewayFailure: wrappedNum(o, 'consecutive_gateway_failure', path, p) ?? 5,
    enforcingConsecutiveGatewayFailure: wrappedNum(o, 'enforcing_consecutive_gateway_failure', path, p) ?? 0,
    splitExternalLocalOriginErrors: typeof o['split_external_local_origin_errors'] === 'boolean' ? o['split_external_local_origin_errors'] : false,
    consecutiveLocalOriginFailure: wrappedNum(o, 'consecutive_local_origin_failure', path, p) ?? 5,
    enforcingConsecutiveLocalOriginFailure: wrappedNum(o, 'enforcing_consecutive_local_origin_failure', path, p) ?? 100,
  };
}

/** HTTP/2 upstream: http2_protocol_options (deprecated) or HttpProtocolOptions with explicit http2 / use_downstream. */
function wantsHttp2(o: Obj, p: Problems): boolean {
  if (obj(o, 'http2_protocol_options', '', p)) return true;
  const teo = obj(o, 'typed_extension_protocol_options', '', p);
  const opts = teo?.[HTTP_PROTOCOL_OPTIONS_KEY];
  if (!isObj(opts)) return false;
  const path = `typed_extension_protocol_options[${JSON.stringify(HTTP_PROTOCOL_OPTIONS_KEY)}]`;
  if (opts['@type'] !== undefined && opts['@type'] !== HTTP_PROTOCOL_OPTIONS_URL) {
    p.add(path, `expected ${HTTP_PROTOCOL_OPTIONS_URL}, got ${String(opts['@type'])}`);
    return false;
  }
  const explicit = obj(opts, 'explicit_http_config', path, p);
  if (explicit) return explicit['http2_protocol_options'] !== undefined;
  // use_downstream_protocol_config / auto_config: we pick HTTP/1.1 unless told explicitly.
  return false;
}

const DNS_FAMILIES = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const;

export function decodeCluster(o: Obj): Result<Cluster, string[]> {
  const p = new Problems();
  const name = str(o, 'name', '', p) ?? '';
  if (!name) p.add('name', 'is required');
  const type = enumName(o, 'type', ['STATIC', 'EDS', 'STRICT_DNS', 'LOGICAL_DNS', 'ORIGINAL_DST'] as const, '', p) ?? 'STATIC';
  if (o['cluster_type'] !== undefined) p.add('cluster_type', 'custom cluster types are not supported');
  let discovery: Cluster['discovery'] | undefined;
  if (type === 'EDS') {
    const eds = obj(o, 'eds_cluster_config', '', p);
    const serviceName = (eds && str(eds, 'service_name', 'eds_cluster_config', p)) || name;
    discovery = { kind: 'eds', serviceName };
  } else if (type === 'STATIC') {
    const la = obj(o, 'load_assignment', '', p);
    const endpoints = la ? decodeEndpointsInto(la, 'load_assignment', p) : { clusterName: name, endpoints: [] };
    discovery = { kind: 'static', endpoints: { ...endpoints, clusterName: name } };
  } else if (type === 'STRICT_DNS' || type === 'LOGICAL_DNS') {
    const la = obj(o, 'load_assignment', '', p);
    const endpoints = la ? decodeEndpointsInto(la, 'load_assignment', p) : { clusterName: name, endpoints: [] };
    if (type === 'LOGICAL_DNS' && endpoints.endpoints.length !== 1) p.add('load_assignment', `a LOGICAL_DNS cluster takes exactly one endpoint, got ${endpoints.endpoints.length}`);
    const family = enumName(o, 'dns_lookup_family', DNS_FAMILIES, '', p) ?? 'AUTO';
    // respect_dns_ttl is accepted: the resolver here reads /etc/hosts and the system resolver, which give no TTL, so names are re-resolved every dns_refresh_rate.
    discovery = {
      kind: 'dns',
      logical: type === 'LOGICAL_DNS',
      endpoints: { ...endpoints, clusterName: name },
      family: family === 'V4_ONLY' ? 4 : family === 'V6_ONLY' ? 6 : 0,
      refreshMs: durationMs(o, 'dns_refresh_rate', '', p) ?? 5_000,
    };
    if (o['dns_resolution_config'] !== undefined || o['typed_dns_resolver_config'] !== undefined) p.add('typed_dns_resolver_config', 'custom DNS resolvers are not supported (the system resolver is used)');
  } else {
    p.add('type', `${type} clusters are not supported (STATIC, EDS, STRICT_DNS and LOGICAL_DNS are)`);
  }
  const lbName = typeof o['lb_policy'] === 'string' ? o['lb_policy'] : 'ROUND_ROBIN';
  const lbPolicy = LB_POLICIES[lbName];
  if (!lbPolicy) p.add('lb_policy', `${lbName} is not supported (${Object.keys(LB_POLICIES).join(', ')} are)`);
  const unenforced: string[] = [];
  const ts = obj(o, 'transport_socket', '', p);
  const transport = ts ? decodeUpstreamTransport(ts, 'transport_socket', p, unenforced) : undefined;
  const transportSocketMatches: TransportSocketMatch[] = [];
  for (const { value, path } of objs(o, 'transport_socket_matches', '', p)) {
    const matchTs = obj(value, 'transport_socket', path, p);
    const spec = matchTs ? decodeUpstreamTransport(matchTs, join(path, 'transport_socket'), p, unenforced) : { kind: 'raw' as const };
    const match = obj(value, 'match', path, p);
    if (spec) transportSocketMatches.push({ name: str(value, 'name', path, p) ?? '', match: match ? structToPlain(match) : {}, transport: spec });
  }
  const od = obj(o, 'outlier_detection', '', p);
  const lbConfig = obj(o, 'common_lb_config', '', p) ?? {};
  if (lbConfig['zone_aware_lb_config'] !== undefined) p.add('common_lb_config.zone_aware_lb_config', 'zone-aware routing is not supported (locality_weighted_lb_config is)');
  const cluster: Cluster = {
    name,
    discovery: discovery ?? { kind: 'static', endpoints: { clusterName: name, endpoints: [] } },
    lbPolicy: lbPolicy ?? 'round_robin',
    connectTimeoutMs: durationMs(o, 'connect_timeout', '', p) ?? 5_000,
    http2: wantsHttp2(o, p),
    outlier: od ? decodeOutlier(od, 'outlier_detection', p, unenforced) : undefined,
    panicThresholdPercent: wrappedNum(lbConfig, 'healthy_panic_threshold', 'common_lb_config', p) ?? DEFAULT_PANIC_THRESHOLD,
    localityWeighted: lbConfig['locality_weighted_lb_config'] !== undefined,
    ...decodeBalancing(o, p, unenforced),
    ...decodeConnectionPool(o, p, unenforced),
    unenforced,
    ...(transport && transport.kind === 'tls' ? { transport } : {}),
    ...(transportSocketMatches.length > 0 ? { transportSocketMatches } : {}),
  };
  return p.list.length ? err(p.list) : ok(cluster);
}

/** Envoy's default thresholds (the translator always writes its own: Istio's UINT32_MAX). */
const DEFAULT_LIMITS: CircuitBreakerLimits = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

/** circuit_breakers: the DEFAULT-priority thresholds (routes here are all default priority). */
function decodeCircuitBreakers(o: Obj, p: Problems, unenforced: string[]): CircuitBreakerLimits {
  const cb = obj(o, 'circuit_breakers', '', p);
  const limits = { ...DEFAULT_LIMITS };
  if (!cb) return limits;
  for (const { value: t, path } of objs(cb, 'thresholds', 'circuit_breakers', p)) {
    const priority = enumName(t, 'priority', ['DEFAULT', 'HIGH'] as const, path, p) ?? 'DEFAULT';
    if (priority !== 'DEFAULT') continue;
    limits.maxConnections = wrappedNum(t, 'max_connections', path, p) ?? limits.maxConnections;
    limits.maxPendingRequests = wrappedNum(t, 'max_pending_requests', path, p) ?? limits.maxPendingRequests;
    limits.maxRequests = wrappedNum(t, 'max_requests', path, p) ?? limits.maxRequests;
    limits.maxRetries = wrappedNum(t, 'max_retries', path, p) ?? limits.maxRetries;
    if (t['retry_budget'] !== undefined && t['retry_budget'] !== null) unenforced.push(`${path}.retry_budget`);
  }
  return limits;
}

const PRIMES_CHECK_LIMIT = 5_000_011;

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** The load balancer's own config: consistent-hash table sizes, least-request choices, slow start. */
function decodeBalancing(o: Obj, p: Problems, unenforced: string[]): Pick<Cluster, 'hashLb' | 'choiceCount'> {
  const hashLb = { minimumRingSize: DEFAULT_MIN_RING_SIZE, maximumRingSize: DEFAULT_MAX_RING_SIZE, tableSize: DEFAULT_MAGLEV_TABLE_SIZE };
  const ring = obj(o, 'ring_hash_lb_config', '', p);
  if (ring) {
    hashLb.minimumRingSize = wrappedNum(ring, 'minimum_ring_size', 'ring_hash_lb_config', p) ?? hashLb.minimumRingSize;
    hashLb.maximumRingSize = wrappedNum(ring, 'maximum_ring_size', 'ring_hash_lb_config', p) ?? hashLb.maximumRingSize;
    const fn = enumName(ring, 'hash_function', ['XX_HASH', 'MURMUR_HASH_2'] as const, 'ring_hash_lb_config', p);
    if (fn === 'MURMUR_HASH_2') p.add('ring_hash_lb_config.hash_function', 'MURMUR_HASH_2 is not implemented (XX_HASH is)');
    if (hashLb.minimumRingSize > hashLb.maximumRingSize) {
      p.add('ring_hash_lb_config', `minimum_ring_size (${hashLb.minimumRingSize}) > maximum_ring_size (${hashLb.maximumRingSize})`);
    }
  }
  const maglev = obj(o, 'maglev_lb_config', '', p);
  if (maglev) {
    hashLb.tableSize = wrappedNum(maglev, 'table_size', 'maglev_lb_config', p) ?? hashLb.tableSize;
    if (hashLb.tableSize > PRIMES_CHECK_LIMIT || !isPrime(hashLb.tableSize)) {
      p.add('maglev_lb_config.table_size', `${hashLb.tableSize} must be a prime number up to ${PRIMES_CHECK_LIMIT} (Envoy's rule)`);
    }
  }
  let choiceCount = 2;
  const lr = obj(o, 'least_request_lb_config', '', p);
  if (lr) {
    choiceCount = wrappedNum(lr, 'choice_count', 'least_request_lb_config', p) ?? 2;
    if (choiceCount < 2) p.add('least_request_lb_config.choice_count', `must be at least 2, got ${choiceCount}`);
    if (lr['active_request_bias'] !== undefined && lr['active_request_bias'] !== null) unenforced.push('least_request_lb_config.active_request_bias');
    if (lr['slow_start_config'] !== undefined && lr['slow_start_config'] !== null) unenforced.push('least_request_lb_config.slow_start_config');
  }
  const rr = obj(o, 'round_robin_lb_config', '', p);
  if (rr?.['slow_start_config'] !== undefined && rr['slow_start_config'] !== null) unenforced.push('round_robin_lb_config.slow_start_config');
  return { hashLb, choiceCount };
}

/**
 * Circuit breakers, the upstream connection options and HttpProtocolOptions' common options
 * (idle_timeout, max_requests_per_connection are applied; max_connection_duration and TCP
 * keepalive are accepted, not acted on).
 */
function decodeConnectionPool(o: Obj, p: Problems, unenforced: string[]): Pick<Cluster, 'limits' | 'maxRequestsPerConnection' | 'idleTimeoutMs'> {
  const limits = decodeCircuitBreakers(o, p, unenforced);
  const uco = obj(o, 'upstream_connection_options', '', p);
  if (uco?.['tcp_keepalive'] !== undefined) unenforced.push('upstream_connection_options.tcp_keepalive');
  const teo = obj(o, 'typed_extension_protocol_options', '', p);
  const opts = teo?.[HTTP_PROTOCOL_OPTIONS_KEY];
  let maxRequestsPerConnection: number | undefined;
  let idleTimeoutMs: number | undefined;
  if (isObj(opts)) {
    const path = `typed_extension_protocol_options[${JSON.stringify(HTTP_PROTOCOL_OPTIONS_KEY)}]`;
    const common = obj(opts, 'common_http_protocol_options', path, p);
    if (common) {
      const cPath = `${path}.common_http_protocol_options`;
      maxRequestsPerConnection = wrappedNum(common, 'max_requests_per_connection', cPath, p);
      idleTimeoutMs = durationMs(common, 'idle_timeout', cPath, p);
      if (common['max_connection_duration'] !== undefined && common['max_connection_duration'] !== null) unenforced.push(`${cPath}.max_connection_duration`);
    }
    const h2 = obj(obj(opts, 'explicit_http_config', path, p) ?? {}, 'http2_protocol_options', path, p);
    if (h2?.['max_concurrent_streams'] !== undefined) unenforced.push(`${path}.explicit_http_config.http2_protocol_options.max_concurrent_streams`);
    if (opts['use_downstream_protocol_config'] !== undefined) unenforced.push(`${path}.use_downstream_protocol_config (HTTP/1.1 upstream is used)`);
  }
  return { limits, maxRequestsPerConnection, idleTimeoutMs };
}
