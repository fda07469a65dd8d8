// envoy.config.cluster.v3.Cluster -> Cluster.

import type { Cluster, LbPolicy, OutlierDetection } from '../model/cluster.js';
import { err, ok, type Result } from '../result.js';
import { DEFAULT_PANIC_THRESHOLD } from '../cluster/priority-load.js';
import { decodeEndpointsInto } from './endpoint.js';
import { durationMs, enumName, isObj, obj, Problems, str, wrappedBool, wrappedNum, type Obj } from './fields.js';

const HTTP_PROTOCOL_OPTIONS_URL = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

const RAW_BUFFER_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

const LB_POLICIES: Record<string, LbPolicy> = {
  ROUND_ROBIN: 'round_robin',
  LEAST_REQUEST: 'least_request',
  RANDOM: 'random',
};

function decodeOutlier(o: Obj, path: string, p: Problems): OutlierDetection {
  return {
    consecutive5xx: wrappedNum(o, 'consecutive_5xx', path, p) ?? 5,
    intervalMs: durationMs(o, 'interval', path, p) ?? 10_000,
    baseEjectionTimeMs: durationMs(o, 'base_ejection_time', path, p) ?? 30_000,
    maxEjectionPercent: wrappedNum(o, 'max_ejection_percent', path, p) ?? 10,
    enforcingConsecutive5xx: wrappedNum(o, 'enforcing_consecutive_5xx', path, p) ?? 100,
    alwaysEjectOneHost: wrappedBool(o, 'always_eject_one_host', path, p) ?? false,
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
  if (!lbPolicy) p.add('lb_policy', `${lbName} is not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM are)`);
  const ts = obj(o, 'transport_socket', '', p);
  if (ts && !(isObj(ts['typed_config']) && ts['typed_config']['@type'] === RAW_BUFFER_URL)) {
    p.add('transport_socket', 'upstream TLS is not supported yet (raw_buffer only)');
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
    outlier: od ? decodeOutlier(od, 'outlier_detection', p) : undefined,
    panicThresholdPercent: wrappedNum(lbConfig, 'healthy_panic_threshold', 'common_lb_config', p) ?? DEFAULT_PANIC_THRESHOLD,
    localityWeighted: lbConfig['locality_weighted_lb_config'] !== undefined,
    unenforcedLimits: circuitBreakerLimits(o),
  };
  return p.list.length ? err(p.list) : ok(cluster);
}

/** Istio's "no limit" (and the translator's): UINT32_MAX. */
const UNLIMITED = 4294967295;
const LIMITS = ['max_connections', 'max_pending_requests', 'max_requests', 'max_retries'] as const;

/** The finite circuit-breaker thresholds of a cluster, as `<field> <value>` (none when absent or unlimited). */
function circuitBreakerLimits(o: Obj): string[] {
  const cb = o['circuit_breakers'];
  const thresholds = isObj(cb) && Array.isArray(cb['thresholds']) ? cb['thresholds'].filter(isObj) : [];
  const out: string[] = [];
  for (const t of thresholds) {
    for (const field of LIMITS) {
      const v = t[field];
      const value = isObj(v) ? v['value'] : v;
      if (typeof value === 'number' && value < UNLIMITED) out.push(`${field} ${value}`);
    }
  }
  return out;
}

