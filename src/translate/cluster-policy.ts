// A DestinationRule traffic policy's loadBalancer and connectionPool on an outbound Cluster, as
// Istio's cluster_traffic_policy.go writes them (applyLoadBalancer, ApplyRingHashLoadBalancer,
// applyConnectionPool, applyTCPKeepalive, applyH2Upgrade), and what each data plane cannot honour,
// reported rather than dropped: the meshwork proxy does not act on slow start, TCP keepalive,
// maxConnectionDuration or useClientProtocol; proxyless gRPC clients implement ROUND_ROBIN and
// RING_HASH only (grpc-js-xds NACKs other lb_policy values), hash on headers only, and of the
// connection pool apply only http2MaxRequests. The route side of consistentHash is hash-policy.ts.

import { parseDuration, type ConnectionPoolSettings, type DestinationRule, type LoadBalancerSettings, type TrafficPolicy } from '../config/istio-types.js';
import type { TranslationContext } from './context.js';
import type { CircuitBreakerThresholds, Cluster, Duration, HttpProtocolOptions, LbPolicy, OutlierDetection, SlowStartConfig } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { problemAt, type ConfigRef } from '../config/problems.js';

/** Istio lifts Envoy's 1024 defaults: the mesh should not shed load unless a DestinationRule says so. */
export const UNLIMITED = 4294967295;
/** Envoy's ceiling for a ring (maximum_ring_size default); a larger minimum is refused. */
const MAX_RING_SIZE = 8 * 1024 * 1024;
const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export type PolicyComponent = 'loadBalancer' | 'connectionPool' | 'outlierDetection' | 'tls';
/** Whether findings about a component of a cluster's policy are reported for that cluster. */
export type ReportOn = (component: PolicyComponent) => boolean;

/**
 * A subset's cluster reports only what its own trafficPolicy sets (for its port or in general): what
 * it inherits from the rule's top level is reported once, for the service's own cluster.
 */
export function reportedBy(rule: DestinationRule | undefined, subset: string | undefined, port: number): ReportOn {
  if (!subset) return () => true;
  const own = rule?.subsets?.find((s) => s.name === subset)?.trafficPolicy;
  return (c) => own?.[c] !== undefined || (own?.portLevelSettings ?? []).some((p) => p.port?.number === port && p[c] !== undefined);
}

interface PolicyScope {
  ctx: TranslationContext;
  ref: ConfigRef | undefined;
  /** The traffic policy's field path ('spec.trafficPolicy', 'spec.subsets[0].trafficPolicy'). */
  field: string;
}

function warn(s: PolicyScope, code: 'unsupported' | 'unsupported-by-proxyless' | 'invalid-duration', field: string, message: string): void {
  if (s.ref) s.ctx.problems.add(problemAt(s.ref, 'warning', code, `${s.field}.${field}`, message));
}

function duration(s: PolicyScope, text: string | undefined, field: string): Duration | undefined {
  if (text === undefined) return undefined;
  const parsed = parseDuration(text);
  if (parsed.ok) return parsed.duration;
  warn(s, 'invalid-duration', field, `${parsed.error}; Envoy's default is used instead.`);
  return undefined;
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

const proxyless = (s: PolicyScope): boolean => s.ctx.proxy?.kind === 'proxyless';

function applyConsistentHash(s: PolicyScope, cluster: Cluster, ch: NonNullable<LoadBalancerSettings['consistentHash']>): void {
  const keys = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'] as const;
  const key = keys.find((k) => ch[k] !== undefined);
  if (ch.httpCookie?.ttl !== undefined) duration(s, ch.httpCookie.ttl, 'loadBalancer.consistentHash.httpCookie.ttl');
  if (proxyless(s) && key && key !== 'httpHeaderName') {
    warn(s, 'unsupported-by-proxyless', `loadBalancer.consistentHash.${key}`,
      `proxyless gRPC clients hash only on headers (httpHeaderName); with ${key} each call gets a random hash, so calls are spread, not pinned.`);
  }
  if (ch.maglev) {
    if (proxyless(s)) {
      warn(s, 'unsupported-by-proxyless', 'loadBalancer.consistentHash.maglev',
        'proxyless gRPC clients do not implement MAGLEV (they would NACK it); they are given RING_HASH: the same keys stay together, on possibly other hosts.');
      cluster.lb_policy = 'RING_HASH';
      return;
    }
    cluster.lb_policy = 'MAGLEV';
    const size = ch.maglev.tableSize ?? 0;
    if (size !== 0 && !isPrime(size)) {
      warn(s, 'unsupported', 'loadBalancer.consistentHash.maglev.tableSize', `Envoy requires a prime Maglev table size, ${size} is not (e.g. 65537, 131071); Envoy's default 65537 is used.`);
    } else if (size !== 0) cluster.maglev_lb_config = { table_size: { value: size } };
    return;
  }
  cluster.lb_policy = 'RING_HASH';
  // Istio: ringHash.minimumRingSize when set; else the deprecated minimumRingSize, else 1024 (Envoy's default, written out).
  const fromRing = ch.ringHash ? ch.ringHash.minimumRingSize ?? 0 : undefined;
  let size = fromRing ?? (ch.minimumRingSize || 1024);
  if (size > MAX_RING_SIZE) {
    const at = ch.ringHash ? 'loadBalancer.consistentHash.ringHash.minimumRingSize' : 'loadBalancer.consistentHash.minimumRingSize';
    warn(s, 'unsupported', at, `a ring of ${size} entries is above Envoy's maximum_ring_size (${MAX_RING_SIZE}); ${MAX_RING_SIZE} is used.`);
    size = MAX_RING_SIZE;
  }
  if (size !== 0) cluster.ring_hash_lb_config = { minimum_ring_size: { value: size } };
}

/** loadBalancer: lb_policy and its config (simple, consistentHash, warmupDurationSecs). localityLbSetting is endpoints.ts's. */
export function applyLoadBalancer(ctx: TranslationContext, cluster: Cluster, policy: TrafficPolicy, ref: ConfigRef | undefined, field: string): void {
  const s: PolicyScope = { ctx, ref, field };
  cluster.lb_policy = 'ROUND_ROBIN';
  const lb = policy.loadBalancer;
  if (!lb) return;
  if (lb.consistentHash) {
    applyConsistentHash(s, cluster, lb.consistentHash);
    if (lb.warmupDurationSecs !== undefined) {
      warn(s, 'unsupported', 'loadBalancer.warmupDurationSecs', 'warmup applies to ROUND_ROBIN and LEAST_REQUEST only (as in Istio); with consistentHash it has no effect.');
    }
    return;
  }
  let chosen: LbPolicy = 'ROUND_ROBIN';
  switch (lb.simple) {
    case 'LEAST_REQUEST':
    case 'LEAST_CONN':
      chosen = 'LEAST_REQUEST';
      break;
    case 'RANDOM':
      chosen = 'RANDOM';
      break;
    case 'PASSTHROUGH':
      // Istio makes an ORIGINAL_DST cluster: connect to the address the app dialled. Here apps reach
      // their sidecar as an HTTP proxy, so the connection's destination is the sidecar itself and the
      // authority is a name, not an address: there is no original destination to pass through to.
      warn(s, 'unsupported', 'loadBalancer.simple',
        'PASSTHROUGH forwards to the original destination address, which sidecars reached as an HTTP proxy do not have (apps dial the proxy, naming the service); ' +
          'ROUND_ROBIN over the service\'s endpoints is used, which is what the app\'s ClusterIP connection would get. Use ROUND_ROBIN or LEAST_REQUEST.');
      break;
  }
  if (chosen !== 'ROUND_ROBIN' && proxyless(s)) {
    // grpc-js-xds NACKs a Cluster whose lb_policy it does not implement.
    warn(s, 'unsupported-by-proxyless', 'loadBalancer.simple', `proxyless gRPC clients do not implement ${chosen}; they are given ROUND_ROBIN.`);
    chosen = 'ROUND_ROBIN';
  }
  cluster.lb_policy = chosen;
  const warmup = duration(s, lb.warmupDurationSecs, 'loadBalancer.warmupDurationSecs');
  if (!warmup) return;
  if (chosen === 'RANDOM') {
    warn(s, 'unsupported', 'loadBalancer.warmupDurationSecs', 'warmup applies to ROUND_ROBIN and LEAST_REQUEST only (as in Istio); with RANDOM it has no effect.');
    return;
  }
  if (proxyless(s)) {
    warn(s, 'unsupported-by-proxyless', 'loadBalancer.warmupDurationSecs', 'proxyless gRPC clients do not implement slow start: new endpoints get their full share at once.');
    return;
  }
  const slowStart: SlowStartConfig = { slow_start_window: warmup };
  if (chosen === 'LEAST_REQUEST') cluster.least_request_lb_config = { slow_start_config: slowStart };
  else cluster.round_robin_lb_config = { slow_start_config: slowStart };
  warn(s, 'unsupported', 'loadBalancer.warmupDurationSecs',
    'warmup becomes Envoy\'s slow_start_config; pods on the meshwork data plane give new endpoints their full share at once (their proxy logs it).');
}

/** connectionPool: circuit breakers, connect timeout, TCP keepalive, HTTP protocol options. */
export function applyConnectionPool(ctx: TranslationContext, cluster: Cluster, policy: TrafficPolicy, ref: ConfigRef | undefined, field: string): void {
  const s: PolicyScope = { ctx, ref, field };
  const pool: ConnectionPoolSettings = policy.connectionPool ?? {};
  const { tcp, http } = pool;
  const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);
  // Istio sets a limit only when it is positive (0 cannot be told from unset).
  const thresholds: CircuitBreakerThresholds = {
    max_connections: { value: positive(tcp?.maxConnections) ?? UNLIMITED },
    max_pending_requests: { value: positive(http?.http1MaxPendingRequests) ?? UNLIMITED },
    max_requests: { value: positive(http?.http2MaxRequests) ?? UNLIMITED },
    max_retries: { value: positive(http?.maxRetries) ?? UNLIMITED },
    track_remaining: true,
  };
  cluster.circuit_breakers = { thresholds: [thresholds] };
  const connect = duration(s, tcp?.connectTimeout, 'connectionPool.tcp.connectTimeout');
  if (connect) cluster.connect_timeout = connect;

  if (tcp?.tcpKeepalive) {
    const ka = tcp.tcpKeepalive;
    const keepalive: NonNullable<Cluster['upstream_connection_options']>['tcp_keepalive'] = {};
    if (ka.probes !== undefined && ka.probes > 0) keepalive.keepalive_probes = { value: ka.probes };
    const time = duration(s, ka.time, 'connectionPool.tcp.tcpKeepalive.time');
    if (time) keepalive.keepalive_time = { value: time.seconds };
    const interval = duration(s, ka.interval, 'connectionPool.tcp.tcpKeepalive.interval');
    if (interval) keepalive.keepalive_interval = { value: interval.seconds };
    cluster.upstream_connection_options = { tcp_keepalive: keepalive };
  }

  const idle = duration(s, http?.idleTimeout, 'connectionPool.http.idleTimeout') ?? duration(s, tcp?.idleTimeout, 'connectionPool.tcp.idleTimeout');
  const maxDuration = duration(s, tcp?.maxConnectionDuration, 'connectionPool.tcp.maxConnectionDuration');
  const perConnection = positive(http?.maxRequestsPerConnection);
  let options: HttpProtocolOptions | undefined;
  if (idle || maxDuration || perConnection) {
    options = { '@type': TYPE_URL.httpProtocolOptions, common_http_protocol_options: {} };
    if (idle) options.common_http_protocol_options!.idle_timeout = idle;
    if (perConnection) options.common_http_protocol_options!.max_requests_per_connection = { value: perConnection };
    if (maxDuration) options.common_http_protocol_options!.max_connection_duration = maxDuration;
  }
  if (http?.useClientProtocol) {
    options ??= { '@type': TYPE_URL.httpProtocolOptions };
    options.use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: {} };
  } else if (http?.h2UpgradePolicy === 'UPGRADE') {
    options ??= { '@type': TYPE_URL.httpProtocolOptions };
    options.explicit_http_config = { http2_protocol_options: {} };
  }
  if (options) {
    // Envoy requires an upstream protocol; Istio's clusterWrapper.build() writes HTTP/1.1 when none was chosen.
    if (!options.use_downstream_protocol_config && !options.explicit_http_config) options.explicit_http_config = { http_protocol_options: {} };
    cluster.typed_extension_protocol_options = { [HTTP_PROTOCOL_OPTIONS_KEY]: options };
  }
  if (positive(http?.maxConcurrentStreams)) {
    warn(s, 'unsupported', 'connectionPool.http.maxConcurrentStreams',
      'Istio applies maxConcurrentStreams only to clusters that speak HTTP/2 to their endpoints before any h2UpgradePolicy, which these clusters do not (HTTP/1.1 unless upgraded): it has no effect.');
  }

  if (proxyless(s)) {
    const ignored = [
      tcp?.maxConnections !== undefined && 'tcp.maxConnections',
      tcp?.connectTimeout !== undefined && 'tcp.connectTimeout',
      tcp?.tcpKeepalive !== undefined && 'tcp.tcpKeepalive',
      tcp?.maxConnectionDuration !== undefined && 'tcp.maxConnectionDuration',
      tcp?.idleTimeout !== undefined && 'tcp.idleTimeout',
      http?.http1MaxPendingRequests !== undefined && 'http.http1MaxPendingRequests',
      http?.maxRequestsPerConnection !== undefined && 'http.maxRequestsPerConnection',
      http?.maxRetries !== undefined && 'http.maxRetries',
      http?.idleTimeout !== undefined && 'http.idleTimeout',
      http?.h2UpgradePolicy !== undefined && 'http.h2UpgradePolicy',
      http?.useClientProtocol !== undefined && 'http.useClientProtocol',
    ].filter((f): f is string => typeof f === 'string');
    if (ignored.length > 0) {
      warn(s, 'unsupported-by-proxyless', 'connectionPool',
        `proxyless gRPC clients apply only http2MaxRequests (as their limit of concurrent calls); ${ignored.join(', ')} have no effect on them.`);
    }
    return;
  }
  const unapplied = [
    tcp?.tcpKeepalive !== undefined && 'tcp.tcpKeepalive',
    maxDuration && 'tcp.maxConnectionDuration',
    http?.useClientProtocol && 'http.useClientProtocol (HTTP/1.1 is used upstream)',
  ].filter((f): f is string => typeof f === 'string');
  if (unapplied.length > 0) {
    warn(s, 'unsupported', 'connectionPool',
      `${unapplied.join(', ')} become Envoy settings; pods on the meshwork data plane do not apply them (their proxy logs it). Circuit breakers, connectTimeout, idleTimeout and maxRequestsPerConnection apply on both.`);
  }
}

/**
 * outlierDetection's local-origin split (Istio: only with splitExternalLocalOriginErrors). Envoy and
 * the meshwork proxy eject on consecutive 5xx, gateway errors and local-origin failures alike; proxyless
 * gRPC clients implement success-rate and failure-percentage ejection only (gRFC A50), which Istio
 * turns off, so consecutive errors do not eject there.
 */
export function applyLocalOriginSplit(ctx: TranslationContext, od: NonNullable<TrafficPolicy['outlierDetection']>, out: OutlierDetection, ref: ConfigRef | undefined, field: string): void {
  const s: PolicyScope = { ctx, ref, field };
  if (od.splitExternalLocalOriginErrors) {
    out.split_external_local_origin_errors = true;
    if ((od.consecutiveLocalOriginFailures ?? 0) > 0) {
      out.consecutive_local_origin_failure = { value: od.consecutiveLocalOriginFailures! };
      out.enforcing_consecutive_local_origin_failure = { value: 100 };
    }
    out.enforcing_local_origin_success_rate = { value: 0 };
  } else if (od.consecutiveLocalOriginFailures !== undefined) {
    warn(s, 'unsupported', 'outlierDetection.consecutiveLocalOriginFailures', 'applies only with splitExternalLocalOriginErrors: true (as in Istio); it has no effect.');
  }
  if (proxyless(s)) {
    warn(s, 'unsupported-by-proxyless', 'outlierDetection',
      'proxyless gRPC clients eject only by success rate or failure percentage (gRFC A50), which Istio turns off: consecutive errors do not eject hosts for them.');
  }
}
