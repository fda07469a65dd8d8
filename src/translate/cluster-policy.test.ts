// DestinationRule loadBalancer, connectionPool and outlierDetection as Istio writes them into the
// cluster, consistentHash into the route's hash_policy, the policy merge of subsets and ports, and
// what each data plane cannot honour reported by analyze.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, Route } from './envoy-types.js';
import { effectivePolicy } from './clusters.js';
import { RETRY_PREVIOUS_HOSTS } from './http-routes.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from './testdata/fixture.js';
import { analyze, translate } from './translate.js';
import type { DestinationRule } from '../config/istio-types.js';

const HW = 'helloworld.sample.svc.cluster.local';
const BASE = `outbound|5000||${HW}`;
const V1 = `outbound|5000|v1|${HW}`;
const V2 = `outbound|5000|v2|${HW}`;

function dr(trafficPolicy: string, subsets = '[{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]'): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy: ${trafficPolicy}
  subsets: ${subsets}
`;
}

function translated(yaml: string, kind: 'sidecar' | 'proxyless' = 'sidecar') {
  const clusters = scenarioClusters([]);
  for (const c of clusters) c.apply('sample', parseYaml(yaml, 'test config'));
  const snapshot = buildSnapshot(clusters);
  const proxy = kind === 'sidecar' ? proxyFor(clusters[0].pod('sleep'), 'sidecar') : { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' };
  const r = translate(snapshot, proxy);
  const cluster = (name: string): Cluster => {
    const c = r.clusters.find((x) => x.name === name);
    assert.ok(c, `no cluster ${name}`);
    return c;
  };
  const routes = (domain: string): Route[] => r.routes.flatMap((rc) => rc.virtual_hosts).find((v) => v.domains.includes(domain))?.routes ?? [];
  const problems = r.problems.map((p) => `${p.code} ${p.field}`);
  return { r, cluster, routes, problems, analyzed: analyze(snapshot).map((p) => `${p.code} ${p.field}`) };
}

const action = (route: Route | undefined) => (route && 'route' in route ? route.route : undefined);

describe('consistentHash (Istio): RING_HASH / MAGLEV on the cluster, hash_policy on the route', () => {
  it('httpHeaderName without a VirtualService: the default route hashes on the header and retries without previous_hosts', () => {
    const t = translated(dr('{loadBalancer: {consistentHash: {httpHeaderName: x-user}}}'));
    assert.equal(t.cluster(BASE).lb_policy, 'RING_HASH');
    assert.deepEqual(t.cluster(BASE).ring_hash_lb_config, { minimum_ring_size: { value: 1024 } });
    const a = action(t.routes('helloworld.sample:5000')[0]);
    assert.deepEqual(a?.hash_policy, [{ header: { header_name: 'x-user' } }]);
    assert.equal(a?.retry_policy?.retry_host_predicate, undefined);
    assert.deepEqual(t.problems, []);
  });

  it('httpCookie (name, path, ttl), useSourceIp, httpQueryParameterName; ringHash, maglev and the deprecated minimumRingSize', () => {
    const cookie = translated(dr('{loadBalancer: {consistentHash: {httpCookie: {name: user, path: /app, ttl: 3600s}, ringHash: {minimumRingSize: 4096}}}}'));
    assert.deepEqual(action(cookie.routes('helloworld.sample:5000')[0])?.hash_policy, [{ cookie: { name: 'user', path: '/app', ttl: { seconds: 3600, nanos: 0 } } }]);
    assert.deepEqual(cookie.cluster(BASE).ring_hash_lb_config, { minimum_ring_size: { value: 4096 } });
    const source = translated(dr('{loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 2048}}}'));
    assert.deepEqual(action(source.routes('helloworld.sample:5000')[0])?.hash_policy, [{ connection_properties: { source_ip: true } }]);
    assert.deepEqual(source.cluster(BASE).ring_hash_lb_config, { minimum_ring_size: { value: 2048 } });
    const query = translated(dr('{loadBalancer: {consistentHash: {httpQueryParameterName: u, maglev: {tableSize: 251}}}}'));
    assert.deepEqual(action(query.routes('helloworld.sample:5000')[0])?.hash_policy, [{ query_parameter: { name: 'u' } }]);
    assert.equal(query.cluster(BASE).lb_policy, 'MAGLEV');
    assert.deepEqual(query.cluster(BASE).maglev_lb_config, { table_size: { value: 251 } });
    const notPrime = translated(dr('{loadBalancer: {consistentHash: {httpHeaderName: x, maglev: {tableSize: 1000}}}}'));
    assert.equal(notPrime.cluster(BASE).maglev_lb_config, undefined);
    assert.deepEqual(notPrime.problems, ['unsupported spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize']);
  });

  it('VirtualService destinations: the subset\'s hash wins; port-level hashes only for a destination naming its port; each weighted destination appends its own', () => {
    const rule = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: x-top}}
    portLevelSettings: [{port: {number: 5000}, loadBalancer: {consistentHash: {httpHeaderName: x-port}}}]
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: c1}}}}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - match: [{uri: {prefix: /one}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /port}}]
    route: [{destination: {host: helloworld, subset: v2, port: {number: 5000}}}]
  - match: [{uri: {prefix: /noport}}]
    route: [{destination: {host: helloworld, subset: v2}}]
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 50}
    - {destination: {host: helloworld, subset: v2}, weight: 50}
`;
    const routes = translated(rule).routes('helloworld.sample:5000');
    assert.deepEqual(action(routes[0])?.hash_policy, [{ cookie: { name: 'c1' } }]);
    assert.equal(action(routes[0])?.retry_policy?.retry_host_predicate, undefined);
    assert.deepEqual(action(routes[1])?.hash_policy, [{ header: { header_name: 'x-port' } }]);
    assert.deepEqual(action(routes[2])?.hash_policy, [{ header: { header_name: 'x-top' } }]);
    assert.deepEqual(action(routes[3])?.hash_policy, [{ cookie: { name: 'c1' } }, { header: { header_name: 'x-top' } }]);
    assert.deepEqual(action(routes[3])?.retry_policy?.retry_host_predicate, [RETRY_PREVIOUS_HOSTS], 'a split keeps the predicate (Istio)');
  });

  it('proxyless clients: MAGLEV becomes RING_HASH, only header keys reach their routes, and both are reported', () => {
    const maglev = translated(dr('{loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 251}}}}'), 'proxyless');
    assert.equal(maglev.cluster(BASE).lb_policy, 'RING_HASH');
    assert.deepEqual(maglev.problems, ['unsupported-by-proxyless spec.trafficPolicy.loadBalancer.consistentHash.maglev']);
    const cookie = translated(dr('{loadBalancer: {consistentHash: {httpCookie: {name: u, ttl: 10s}}}}'), 'proxyless');
    assert.equal(cookie.cluster(BASE).lb_policy, 'RING_HASH');
    assert.ok(cookie.r.routes.every((rc) => rc.virtual_hosts.every((v) => v.routes.every((r) => !('route' in r) || r.route.hash_policy === undefined))));
    assert.deepEqual(cookie.problems, ['unsupported-by-proxyless spec.trafficPolicy.loadBalancer.consistentHash.httpCookie']);
  });
});

describe('loadBalancer.simple and warmupDurationSecs', () => {
  it('LEAST_REQUEST / LEAST_CONN, RANDOM, ROUND_ROBIN; warmup becomes slow_start_config on ROUND_ROBIN and LEAST_REQUEST', () => {
    const t = translated(dr('{loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 30s}}',
      '[{name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {simple: LEAST_CONN, warmupDurationSecs: 1m}}}, {name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: RANDOM, warmupDurationSecs: 5s}}}]'));
    assert.deepEqual(t.cluster(BASE).round_robin_lb_config, { slow_start_config: { slow_start_window: { seconds: 30, nanos: 0 } } });
    assert.equal(t.cluster(V1).lb_policy, 'LEAST_REQUEST');
    assert.deepEqual(t.cluster(V1).least_request_lb_config, { slow_start_config: { slow_start_window: { seconds: 60, nanos: 0 } } });
    assert.equal(t.cluster(V2).lb_policy, 'RANDOM');
    assert.equal(t.cluster(V2).round_robin_lb_config, undefined);
    // The meshwork proxy does not ramp new endpoints up; RANDOM has no slow start in Envoy either.
    assert.deepEqual(t.problems.sort(), [
      'unsupported spec.subsets[0].trafficPolicy.loadBalancer.warmupDurationSecs',
      'unsupported spec.subsets[1].trafficPolicy.loadBalancer.warmupDurationSecs',
      'unsupported spec.trafficPolicy.loadBalancer.warmupDurationSecs',
    ]);
  });

  it('PASSTHROUGH is reported (no original destination behind an HTTP-proxy sidecar) and stays ROUND_ROBIN over the endpoints', () => {
    const t = translated(dr('{loadBalancer: {simple: PASSTHROUGH}}'));
    assert.equal(t.cluster(BASE).lb_policy, 'ROUND_ROBIN');
    assert.equal(t.cluster(BASE).type, 'EDS');
    assert.deepEqual(t.analyzed, ['unsupported spec.trafficPolicy.loadBalancer.simple']);
  });
});

describe('connectionPool and outlierDetection as Istio writes them', () => {
  it('limits, connect timeout, TCP keepalive, idle timeout, requests per connection, connection duration, h2 upgrade', () => {
    const t = translated(dr(`{connectionPool: {
      tcp: {maxConnections: 7, connectTimeout: 250ms, tcpKeepalive: {probes: 3, time: 60s, interval: 10s}, maxConnectionDuration: 1h, idleTimeout: 90s},
      http: {http1MaxPendingRequests: 2, http2MaxRequests: 9, maxRetries: 1, maxRequestsPerConnection: 5, idleTimeout: 20s, h2UpgradePolicy: UPGRADE}}}`));
    const c = t.cluster(BASE);
    assert.deepEqual(c.circuit_breakers, { thresholds: [{ max_connections: { value: 7 }, max_pending_requests: { value: 2 }, max_requests: { value: 9 }, max_retries: { value: 1 }, track_remaining: true }] });
    assert.deepEqual(c.connect_timeout, { seconds: 0, nanos: 250_000_000 });
    assert.deepEqual(c.upstream_connection_options, { tcp_keepalive: { keepalive_probes: { value: 3 }, keepalive_time: { value: 60 }, keepalive_interval: { value: 10 } } });
    assert.deepEqual(c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'], {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      common_http_protocol_options: { idle_timeout: { seconds: 20, nanos: 0 }, max_requests_per_connection: { value: 5 }, max_connection_duration: { seconds: 3600, nanos: 0 } },
      explicit_http_config: { http2_protocol_options: {} },
    });
    assert.deepEqual(t.problems, ['unsupported spec.trafficPolicy.connectionPool']);
    assert.match(t.r.problems[0]!.message, /tcp\.tcpKeepalive, tcp\.maxConnectionDuration become Envoy settings; pods on the meshwork data plane do not apply them/);
  });

  it('useClientProtocol uses the downstream protocol; maxConcurrentStreams on an HTTP/1.1 cluster has no effect, as in Istio, and is reported', () => {
    const t = translated(dr('{connectionPool: {http: {useClientProtocol: true, maxConcurrentStreams: 10}}}'));
    assert.deepEqual(t.cluster(BASE).typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']?.use_downstream_protocol_config,
      { http_protocol_options: {}, http2_protocol_options: {} });
    assert.deepEqual(t.problems.sort(), ['unsupported spec.trafficPolicy.connectionPool', 'unsupported spec.trafficPolicy.connectionPool.http.maxConcurrentStreams']);
  });

  it('splitExternalLocalOriginErrors with consecutiveLocalOriginFailures; consecutiveLocalOriginFailures alone has no effect and is reported', () => {
    const t = translated(dr('{outlierDetection: {consecutive5xxErrors: 5, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2}}'));
    const od = t.cluster(BASE).outlier_detection;
    assert.equal(od?.split_external_local_origin_errors, true);
    assert.deepEqual(od?.consecutive_local_origin_failure, { value: 2 });
    assert.deepEqual(od?.enforcing_consecutive_local_origin_failure, { value: 100 });
    assert.deepEqual(od?.enforcing_local_origin_success_rate, { value: 0 });
    assert.deepEqual(t.problems, []);
    const alone = translated(dr('{outlierDetection: {consecutiveLocalOriginFailures: 2}}'));
    assert.equal(alone.cluster(BASE).outlier_detection?.consecutive_local_origin_failure, undefined);
    assert.deepEqual(alone.problems, ['unsupported spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures']);
  });
});

describe('subset-level and port-level precedence (Istio\'s MergeSubsetTrafficPolicy)', () => {
  const rule: DestinationRule = {
    host: 'helloworld',
    trafficPolicy: {
      loadBalancer: { simple: 'RANDOM' },
      connectionPool: { tcp: { maxConnections: 1 } },
      portLevelSettings: [{ port: { number: 9000 }, connectionPool: { tcp: { maxConnections: 9 } } }],
    },
    subsets: [
      { name: 'a', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 2 } } },
      { name: 'b', trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' }, portLevelSettings: [{ port: { number: 5000 }, connectionPool: { tcp: { maxConnections: 5 } } }] } },
    ],
  };
  it('a port-level setting replaces its layer whole: what it leaves out falls back to defaults', () => {
    assert.deepEqual(effectivePolicy(rule, undefined, 9000), { connectionPool: { tcp: { maxConnections: 9 } } });
    assert.deepEqual(effectivePolicy(rule, undefined, 5000), { loadBalancer: { simple: 'RANDOM' }, connectionPool: { tcp: { maxConnections: 1 } } });
  });
  it('a subset replaces the top level component by component; a subset port-level setting replaces all four', () => {
    assert.deepEqual(effectivePolicy(rule, 'a', 5000), { loadBalancer: { simple: 'RANDOM' }, connectionPool: { tcp: { maxConnections: 1 } }, outlierDetection: { consecutive5xxErrors: 2 } });
    assert.deepEqual(effectivePolicy(rule, 'a', 9000), { connectionPool: { tcp: { maxConnections: 9 } }, outlierDetection: { consecutive5xxErrors: 2 } });
    assert.deepEqual(effectivePolicy(rule, 'b', 5000), { connectionPool: { tcp: { maxConnections: 5 } } });
    assert.deepEqual(effectivePolicy(rule, 'b', 9000), { loadBalancer: { simple: 'LEAST_REQUEST' }, connectionPool: { tcp: { maxConnections: 9 } } });
  });
  it('a subset\'s cluster reports what the subset sets, not what it inherits', () => {
    const t = translated(dr('{loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 30s}}'));
    assert.deepEqual(t.problems, ['unsupported spec.trafficPolicy.loadBalancer.warmupDurationSecs']);
  });
});
