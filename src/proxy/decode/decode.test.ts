import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RETRY_PREVIOUS_HOSTS } from '../../translate/http-routes.js';
import { edsCluster, FAULT_TYPE, httpListener, loadAssignment, routeConfig, weightedRoute } from '../testutil/envoy.js';
import { decodeCluster } from './cluster.js';
import { decodeEndpoints } from './endpoint.js';
import { decodeListener } from './listener.js';
import { accessLogEntry } from '../../translate/access-log.js';
import { decodeRouteTable } from './route.js';

test('listener: address, RDS name, fault filter presence', () => {
  const r = decodeListener(httpListener('l', '127.0.0.5', 15001, 'http_proxy'));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.address, { host: '127.0.0.5', port: 15001 });
  assert.deepEqual(r.value.hcms[0]!.routes, { kind: 'rds', routeConfigName: 'http_proxy' });
  assert.equal(r.value.hcms[0]!.faultFilterPresent, true);
});

test('listener: errors name the field', () => {
  const bad = httpListener('l', '127.0.0.5', 0, 'x');
  const r = decodeListener(bad);
  assert.ok(!r.ok);
  assert.deepEqual(r.error, ['address.socket_address.port_value: must be in [1, 65535], got 0']);
  const tcp = { name: 't', address: { socket_address: { address: '127.0.0.1', port_value: 9 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', cluster: 'c' } }] }] };
  const r2 = decodeListener(tcp);
  assert.ok(!r2.ok);
  assert.deepEqual(r2.error, ['filter_chains[0].filters[0].typed_config.stat_prefix: is required']);
  const redis = { ...tcp, filter_chains: [{ filters: [{ name: 'envoy.filters.network.redis_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] }] };
  const r3 = decodeListener(redis);
  assert.ok(!r3.ok);
  assert.match(r3.error[0]!, /^filter_chains\[0\]\.filters\[0\]: the last filter must be envoy\.filters\.network\.http_connection_manager or envoy\.filters\.network\.tcp_proxy/);
});

function withHcm(fields: Record<string, unknown>): Record<string, unknown> {
  const l = httpListener('l', '127.0.0.5', 8080, 'r') as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] };
  Object.assign(l.filter_chains[0]!.filters[0]!.typed_config, fields);
  return l;
}

test('listener: the trust boundary fields, Envoy defaults when absent', () => {
  const plain = decodeListener(httpListener('l', '127.0.0.5', 8080, 'r'));
  assert.ok(plain.ok);
  assert.deepEqual(plain.value.hcms[0]!.trust, { useRemoteAddress: false, xffNumTrustedHops: 0, skipXffAppend: false, forwardClientCert: 'SANITIZE', clientCertDetails: [], internalCidrs: [], preserveExternalRequestId: false });
  const gw = decodeListener(withHcm({
    use_remote_address: { value: true },
    xff_num_trusted_hops: 2,
    forward_client_cert_details: 'SANITIZE_SET',
    set_current_client_cert_details: { subject: { value: true }, uri: true },
    internal_address_config: { cidr_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 8 } }, { address_prefix: 'fd00::', prefix_len: { value: 8 } }] },
  }));
  assert.ok(gw.ok, JSON.stringify(!gw.ok && gw.error));
  assert.equal(gw.value.hcms[0]!.trust.useRemoteAddress, true);
  assert.equal(gw.value.hcms[0]!.trust.xffNumTrustedHops, 2);
  assert.equal(gw.value.hcms[0]!.trust.forwardClientCert, 'SANITIZE_SET');
  assert.deepEqual(gw.value.hcms[0]!.trust.clientCertDetails, ['Subject', 'URI']);
  assert.deepEqual(gw.value.hcms[0]!.trust.internalCidrs, [{ prefix: '10.0.0.0', length: 8 }, { prefix: 'fd00::', length: 8 }]);
});

test('listener: an http_grpc access log on envoy_accesslog_service is honoured (the agent serves it in process); other loggers are named as not acted on', () => {
  const r = decodeListener(withHcm({
    access_log: [
      accessLogEntry('istio-metrics-inbound'),
      { name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: '/dev/stdout' } },
      { ...accessLogEntry('elsewhere'), typed_config: { ...accessLogEntry('elsewhere').typed_config, common_config: { log_name: 'x', transport_api_version: 'V3', grpc_service: { envoy_grpc: { cluster_name: 'my-als' } } } } },
    ],
  }));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.hcms[0]!.grpcAccessLogs, ['istio-metrics-inbound']);
  const unenforced = r.value.chains[0]!.unenforced ?? [];
  assert.equal(unenforced.length, 2);
  assert.match(unenforced[0]!, /envoy\.access_loggers\.file/);
  assert.match(unenforced[1]!, /on my-als/);
});

test('listener: trust boundary fields we cannot honour are refused by name', () => {
  const r = decodeListener(withHcm({
    original_ip_detection_extensions: [{ name: 'envoy.http.original_ip_detection.custom_header' }],
    append_x_forwarded_port: true,
    via: 'proxy',
    normalize_path: { value: true },
    path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT',
    internal_address_config: { cidr_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 40 } }] },
  }));
  assert.ok(!r.ok);
  const hcm = 'filter_chains[0].filters[0].typed_config';
  assert.deepEqual(r.error, [
    `${hcm}.original_ip_detection_extensions: is not supported (x-forwarded-for with xff_num_trusted_hops is)`,
    `${hcm}.append_x_forwarded_port: is not supported`,
    `${hcm}.via: is not supported`,
    `${hcm}.normalize_path: is not supported (paths are routed as received)`,
    `${hcm}.path_with_escaped_slashes_action: "UNESCAPE_AND_REDIRECT" is not supported (KEEP_UNCHANGED is)`,
    `${hcm}.internal_address_config.cidr_ranges[0].prefix_len: must be in [0, 32], got 40`,
  ]);
});

test('route: weighted clusters, retry policy, timeout default 15 s, per-route fault', () => {
  const r = decodeRouteTable(
    routeConfig('rc', [
      {
        name: 'vh',
        domains: ['A.example:80'],
        routes: [
          weightedRoute({ prefix: '/' }, [['a', 80], ['b', 20]], { retry_policy: { retry_on: '5xx,connect-failure', num_retries: { value: 3 }, per_try_timeout: { seconds: 1, nanos: 500_000_000 } } }),
          { match: { path: '/f' }, route: { cluster: 'a', timeout: { seconds: 2 } }, typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, delay: { fixed_delay: { nanos: 5_000_000 }, percentage: { numerator: 50, denominator: 'HUNDRED' } } } } },
        ],
      },
    ]),
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const vh = r.value.virtualHosts[0];
  assert.deepEqual(vh.domains, ['a.example:80']);
  const [first, second] = vh.routes;
  assert.equal(first.action.kind, 'forward');
  if (first.action.kind !== 'forward' || second.action.kind !== 'forward') return;
  assert.equal(first.action.timeoutMs, 15_000);
  assert.deepEqual(first.action.cluster.kind === 'weighted' && first.action.cluster.clusters.map((c) => [c.name, c.weight]), [['a', 80], ['b', 20]]);
  assert.deepEqual([...(first.action.retry?.retryOn ?? [])], ['5xx', 'connect-failure']);
  assert.equal(first.action.retry?.numRetries, 3);
  assert.equal(first.action.retry?.perTryTimeoutMs, 1500);
  assert.equal(second.action.timeoutMs, 2000);
  assert.deepEqual(second.fault, { delay: { fraction: 0.5, delayMs: 5 }, abort: undefined });
});

const PREVIOUS_PRIORITIES_TYPE = 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig';

test('route: the previous_hosts retry predicate, previous_priorities and host selection attempts (Envoy default 1); other predicates and priorities refused', () => {
  const decode = (retry: Record<string, unknown>) => decodeRouteTable(routeConfig('rc', [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a', retry_policy: { retry_on: '5xx', ...retry } } }] }]));
  const istio = decode({ retry_host_predicate: [RETRY_PREVIOUS_HOSTS], host_selection_retry_max_attempts: 5 });
  assert.ok(istio.ok, JSON.stringify(!istio.ok && istio.error));
  const action = istio.value.virtualHosts[0]!.routes[0]!.action;
  assert.ok(action.kind === 'forward');
  assert.equal(action.retry?.avoidPreviousHosts, true);
  assert.equal(action.retry?.hostSelectionRetries, 5);
  assert.equal(action.retry?.previousPriorities, undefined);
  const priorities = decode({ retry_priority: { name: 'envoy.retry_priorities.previous_priorities', typed_config: { '@type': PREVIOUS_PRIORITIES_TYPE, update_frequency: 2 } } });
  assert.ok(priorities.ok, JSON.stringify(!priorities.ok && priorities.error));
  const withPriorities = priorities.value.virtualHosts[0]!.routes[0]!.action;
  assert.ok(withPriorities.kind === 'forward');
  assert.deepEqual(withPriorities.retry?.previousPriorities, { updateFrequency: 2 });
  const plain = decode({});
  assert.ok(plain.ok);
  const plainAction = plain.value.virtualHosts[0]!.routes[0]!.action;
  assert.ok(plainAction.kind === 'forward');
  assert.equal(plainAction.retry?.avoidPreviousHosts, false);
  assert.equal(plainAction.retry?.hostSelectionRetries, 1);
  const other = decode({
    retry_host_predicate: [{ name: 'envoy.retry_host_predicates.omit_canary_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.omit_canary_hosts.v3.OmitCanaryHostsPredicate' } }],
    retry_priority: { name: 'envoy.retry_priorities.other', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.other.v3.Other' } },
  });
  assert.ok(!other.ok);
  const at = 'virtual_hosts[0].routes[0].route.retry_policy';
  assert.deepEqual(other.error, [
    `${at}.retry_host_predicate[0]: retry host predicate type.googleapis.com/envoy.extensions.retry.host.omit_canary_hosts.v3.OmitCanaryHostsPredicate is not implemented (only envoy.retry_host_predicates.previous_hosts)`,
    `${at}.retry_priority: retry priority type.googleapis.com/envoy.extensions.retry.priority.other.v3.Other is not implemented (only envoy.retry_priorities.previous_priorities)`,
  ]);
});

test('route: every problem is reported with its path', () => {
  const r = decodeRouteTable(
    routeConfig('rc', [
      { name: 'vh', domains: ['x', 'x'], routes: [weightedRoute({ safe_regex: { regex: '(' } }, [['a', 0]]), { match: { prefix: '/' } }] },
    ]),
  );
  assert.ok(!r.ok);
  assert.deepEqual(r.error, [
    'virtual_hosts[0].routes[0].match.safe_regex.regex: invalid regex "(": Invalid regular expression: /^(?:()$/: Unterminated group',
    'virtual_hosts[0].routes[0].route.weighted_clusters.clusters: weights sum to 0',
    'virtual_hosts[0].routes[1]: one of route, redirect, direct_response is required',
    "virtual_hosts: domain 'x' appears in virtual hosts 'vh' and 'vh'",
  ]);
});

test('cluster: EDS service name, LB policy, HTTP/2 via typed_extension_protocol_options, outlier defaults', () => {
  const r = decodeCluster(
    edsCluster('c', {
      lb_policy: 'LEAST_REQUEST',
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
      outlier_detection: { consecutive_5xx: { value: 3 } },
    }),
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.discovery, { kind: 'eds', serviceName: 'c' });
  assert.equal(r.value.lbPolicy, 'least_request');
  assert.equal(r.value.http2, true);
  assert.equal(r.value.connectTimeoutMs, 1000);
  assert.deepEqual(r.value.outlier, { consecutive5xx: 3, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10, enforcingConsecutive5xx: 100, alwaysEjectOneHost: false, consecutiveGatewayFailure: 5, enforcingConsecutiveGatewayFailure: 0, splitExternalLocalOriginErrors: false, consecutiveLocalOriginFailure: 5, enforcingConsecutiveLocalOriginFailure: 100 });
  const bad = decodeCluster(edsCluster('c', { lb_policy: 'CLUSTER_PROVIDED' }));
  assert.ok(!bad.ok);
  assert.deepEqual(bad.error, ['lb_policy: CLUSTER_PROVIDED is not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV are)']);
});

test('cluster: STATIC with an inline load assignment', () => {
  const r = decodeCluster({ name: 's', type: 'STATIC', load_assignment: loadAssignment('s', [{ port: 8080 }]) });
  assert.ok(r.ok);
  assert.equal(r.value.discovery.kind === 'static' && r.value.discovery.endpoints.endpoints[0].port, 8080);
});

test('endpoints: weight and health status', () => {
  const r = decodeEndpoints(loadAssignment('c', [{ port: 1, weight: 3, health: 'UNHEALTHY' }, { port: 2 }]));
  assert.ok(r.ok);
  assert.deepEqual(r.value.endpoints.map((e) => [e.port, e.weight, e.health]), [[1, 3, 'UNHEALTHY'], [2, 1, 'UNKNOWN']]);
  const bad = decodeEndpoints(loadAssignment('c', [{ port: 70000 }]));
  assert.ok(!bad.ok);
  assert.deepEqual(bad.error, ['endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be in [1, 65535], got 70000']);
});

test('route: request_mirror_policies are decoded; fields we do not act on are refused by name', () => {
  const mirrored = (policies: unknown[]) =>
    decodeRouteTable(routeConfig('rc', [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a', request_mirror_policies: policies } }] }]));
  const r = mirrored([{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 25 } } }, { cluster: 'copy', disable_shadow_host_suffix_append: true }]);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const action = r.value.virtualHosts[0].routes[0].action;
  assert.ok(action.kind === 'forward');
  assert.deepEqual(action.mirrors, [
    { cluster: 'shadow', fraction: 0.25, keepHost: false },
    { cluster: 'copy', fraction: 1, keepHost: true },
  ]);
  const bad = mirrored([{ cluster: 'shadow', cluster_header: 'x-mirror' }, { runtime_fraction: { default_value: { numerator: 5 } } }]);
  assert.ok(!bad.ok);
  assert.deepEqual(bad.error, [
    'virtual_hosts[0].routes[0].route.request_mirror_policies[0].cluster_header: not supported (cluster, runtime_fraction and disable_shadow_host_suffix_append are)',
    'virtual_hosts[0].routes[0].route.request_mirror_policies[1].cluster: is required',
  ]);
});

test('cluster: circuit breaker thresholds of the DEFAULT priority become limits (Envoy defaults where unset); HIGH is not the routes\' priority', () => {
  const r = decodeCluster({
    name: 'c',
    type: 'EDS',
    circuit_breakers: {
      thresholds: [
        { max_connections: { value: 4294967295 }, max_pending_requests: { value: 5 }, max_retries: { value: 3 } },
        { priority: 'HIGH', max_requests: { value: 1 } },
      ],
    },
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.value.limits, { maxConnections: 4294967295, maxPendingRequests: 5, maxRequests: 1024, maxRetries: 3 });
  assert.deepEqual(r.value.unenforced, []);
});

test('cluster: RING_HASH / MAGLEV with their configs; a non-prime Maglev table and MURMUR_HASH_2 are refused; slow start is accepted and named as not acted on', () => {
  const ring = decodeCluster({ name: 'c', type: 'EDS', lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 64 } } });
  assert.ok(ring.ok, JSON.stringify(ring));
  assert.equal(ring.value.lbPolicy, 'ring_hash');
  assert.equal(ring.value.hashLb.minimumRingSize, 64);
  const maglev = decodeCluster({ name: 'c', type: 'EDS', lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 251 } } });
  assert.ok(maglev.ok, JSON.stringify(maglev));
  assert.equal(maglev.value.hashLb.tableSize, 251);
  const bad = decodeCluster({ name: 'c', type: 'EDS', lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 100 } } });
  assert.ok(!bad.ok && bad.error.some((e) => e.includes('must be a prime')), JSON.stringify(bad));
  const murmur = decodeCluster({ name: 'c', type: 'EDS', lb_policy: 'RING_HASH', ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' } });
  assert.ok(!murmur.ok);
  const slow = decodeCluster({ name: 'c', type: 'EDS', lb_policy: 'ROUND_ROBIN', round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 30 } } } });
  assert.ok(slow.ok);
  assert.deepEqual(slow.value.unenforced, ['round_robin_lb_config.slow_start_config']);
});
