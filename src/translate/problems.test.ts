// Config mistakes become problems (object, field path, how to fix) and the offending piece is left
// out, so a proxy never gets config it would NACK; plus the Istio features the routes translate.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Problem } from '../config/problems.js';
import { RETRY_PREVIOUS_HOSTS } from './http-routes.js';
import { danglingReferences, simulate } from './simulate.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters, type ScenarioRule } from './testdata/fixture.js';
import { analyze, translate } from './translate.js';

const HW = 'helloworld.sample.svc.cluster.local';

/** The scenario plus extra YAML applied to namespace `sample` of both clusters. */
function withConfig(yaml: string, rules: ScenarioRule[] = ['destinationrule']) {
  const clusters = scenarioClusters(rules);
  for (const c of clusters) c.apply('sample', parseYaml(yaml, 'test config'));
  const snapshot = buildSnapshot(clusters);
  const proxies = {
    sidecar: proxyFor(clusters[0].pod('sleep'), 'sidecar'),
    router: proxyFor(clusters[0].pod('istio-ingressgateway'), 'router'),
    proxyless: { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' },
  };
  return {
    snapshot,
    sidecar: () => translate(snapshot, proxies.sidecar),
    router: () => translate(snapshot, proxies.router),
    proxyless: () => translate(snapshot, proxies.proxyless),
  };
}

function vs(http: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: hw}
spec:
  hosts: [helloworld]${extra}
  http:
${http}`;
}

function brief(problems: Problem[]): string[] {
  return problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`);
}

function call(resources: ReturnType<typeof translate>, path = '/hello', headers?: Record<string, string>) {
  return simulate(resources, { listenerPort: 'http_proxy', host: 'helloworld.sample:5000', path, headers });
}

describe('problems: the offending route is left out, everything else is served', () => {
  it('weights summing to 0', () => {
    const m = withConfig(vs(`  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 0}
    - {destination: {host: helloworld, subset: v2}, weight: 0}`));
    const request = { host: 'helloworld.sample:5000', path: '/hello' };
    for (const [resources, listener] of [[m.sidecar(), { listenerPort: 'http_proxy' as const }], [m.proxyless(), { listenerName: 'helloworld.sample:5000' }]] as const) {
      assert.deepEqual(brief(resources.problems), ['error zero-total-weight VirtualService sample/hw spec.http[0].route']);
      assert.match(resources.problems[0].message, /positive weight/);
      // No weighted_clusters summing to 0 reaches a client; the service stays reachable through the default route.
      assert.ok(!JSON.stringify(resources.routes).includes('weighted_clusters'));
      assert.equal(simulate(resources, { ...request, ...listener }).route, 'default');
      assert.deepEqual(danglingReferences(resources), []);
    }
  });

  it('a destination host that does not exist: the route is kept, naming a cluster that does not exist (Istio)', () => {
    const m = withConfig(vs(`  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: nosuch}}]
  - route: [{destination: {host: helloworld, subset: v2}}]`));
    const r = m.sidecar();
    assert.deepEqual(brief(r.problems), ['error unknown-host VirtualService sample/hw spec.http[0].route[0].destination.host']);
    assert.match(r.problems[0].message, /nosuch\.sample\.svc\.cluster\.local/);
    // /a does not fall through to the next route: Envoy answers it with 503 (no cluster found).
    const a = call(r, '/a');
    assert.equal(a.outcome, 'missing-cluster');
    assert.deepEqual(a.clusters.map((c) => c.name), ['outbound|5000||nosuch.sample.svc.cluster.local']);
    assert.deepEqual(call(r, '/b').clusters.map((c) => c.name), [`outbound|5000|v2|${HW}`]);
  });

  it('a dotted short name is not expanded, and the message says so', () => {
    const r = withConfig(vs('  - route: [{destination: {host: helloworld.sample}}]')).sidecar();
    assert.equal(r.problems[0].code, 'unknown-host');
    assert.match(r.problems[0].message, /FQDN/);
  });

  it('an unknown subset', () => {
    const r = withConfig(vs('  - route: [{destination: {host: helloworld, subset: v3}}]')).sidecar();
    assert.deepEqual(brief(r.problems), ['error unknown-subset VirtualService sample/hw spec.http[0].route[0].destination.subset']);
    assert.match(r.problems[0].message, /DestinationRule sample\/helloworld.*defines v1, v2/);
  });

  it('a subset with no DestinationRule at all', () => {
    const r = withConfig(vs('  - route: [{destination: {host: helloworld, subset: v1}}]'), []).sidecar();
    assert.equal(r.problems[0].code, 'unknown-subset');
    assert.match(r.problems[0].message, /no DestinationRule/);
  });

  it('a port the service does not have', () => {
    const r = withConfig(vs('  - route: [{destination: {host: helloworld, port: {number: 8080}}}]')).sidecar();
    assert.deepEqual(brief(r.problems), ['error unknown-port VirtualService sample/hw spec.http[0].route[0].destination.port.number']);
    assert.match(r.problems[0].message, /has no port 8080 \(it has 5000\)/);
  });

  it('two VirtualServices claiming the same host: the first by name wins, the other is reported', () => {
    const m = withConfig(`${vs('  - route: [{destination: {host: helloworld, subset: v1}}]')}
---
${vs('  - route: [{destination: {host: helloworld, subset: v2}}]').replace('name: hw', 'name: hw2')}`);
    const r = m.sidecar();
    assert.deepEqual(brief(r.problems), ['warning duplicate-host VirtualService sample/hw2 spec.hosts']);
    assert.deepEqual(call(r).clusters.map((c) => c.name), [`outbound|5000|v1|${HW}`]);
    assert.ok(brief(analyze(m.snapshot)).includes('warning duplicate-host VirtualService sample/hw2 spec.hosts'));
  });

  it('duplicate domains: a ServiceEntry host that collides with a name of a Service', () => {
    const r = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: clash}
spec:
  hosts: [helloworld.sample]
  ports: [{number: 5000, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.99.0.1}]`).sidecar();
    assert.deepEqual(brief(r.problems), ['warning duplicate-domain ServiceEntry sample/clash spec.hosts']);
    const domains = r.routes[0].virtual_hosts.flatMap((v) => v.domains);
    assert.equal(domains.length, new Set(domains).size, 'no domain twice in one RouteConfiguration');
    assert.equal(call(r).virtualHost, `${HW}:5000`, 'the Service keeps its name');
  });

  it('an invalid duration and an invalid regex', () => {
    const r = withConfig(vs(`  - match: [{uri: {regex: "/(?=x)"}}]
    route: [{destination: {host: helloworld}}]
  - route: [{destination: {host: helloworld}}]
    timeout: 5 seconds`)).sidecar();
    assert.deepEqual(brief(r.problems), [
      'error invalid-match VirtualService sample/hw spec.http[0].match[0].uri',
      'error invalid-duration VirtualService sample/hw spec.http[1].timeout',
    ]);
    assert.equal(call(r).route, 'default');
  });

  it('a gateway reference that does not exist is reported by analyze', () => {
    const m = withConfig(vs('  - route: [{destination: {host: helloworld}}]', '\n  gateways: [nosuch-gateway]\n  tcp: [{route: [{destination: {host: helloworld}}]}]'));
    assert.deepEqual(brief(analyze(m.snapshot)), ['error unknown-gateway VirtualService sample/hw spec.gateways[0]']);
  });

  it('analyze: a subset that selects no endpoint, and a rule for a host that does not exist', () => {
    const m = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  subsets: [{name: v1, labels: {version: v1}}, {name: v9, labels: {version: v9}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: ghost}
spec: {host: ghost}`);
    assert.deepEqual(brief(analyze(m.snapshot)), [
      'warning unknown-host DestinationRule sample/ghost spec.host',
      'warning subset-selects-nothing DestinationRule sample/helloworld spec.subsets[1].labels',
    ]);
  });

  it('analyze reports errors without a proxy, once each', () => {
    const m = withConfig(vs('  - route: [{destination: {host: helloworld, subset: v3}}]'));
    assert.deepEqual(brief(analyze(m.snapshot)), ['error unknown-subset VirtualService sample/hw spec.http[0].route[0].destination.subset']);
  });
});

describe('fields the translator does not honour are analyze findings, never ignored in silence', () => {
  it('warmupDurationSecs and a DestinationRule workloadSelector (localityLbSetting is translated: analyze says how it applies)', () => {
    const m = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  workloadSelector: {matchLabels: {app: sleep}}
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
      warmupDurationSecs: 30s
      localityLbSetting: {enabled: true, failover: [{from: local, to: other}]}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}`, []);
    const found = brief(analyze(m.snapshot)).filter((p) => p.includes('unsupported'));
    assert.deepEqual([...new Set(found)].sort(), [
      'warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.loadBalancer.warmupDurationSecs',
      'warning unsupported DestinationRule sample/helloworld spec.workloadSelector',
    ]);
  });
});

describe('proxyless clients get only what gRPC implements', () => {
  it('redirect routes are left out for proxyless (gRPC NACKs them) but served to sidecars', () => {
    const m = withConfig(vs(`  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, redirectCode: 301}
  - route: [{destination: {host: helloworld}}]`));
    const sidecar = m.sidecar();
    assert.deepEqual(sidecar.problems, []);
    const r = call(sidecar, '/old/x');
    assert.equal(r.outcome, 'redirect');
    assert.deepEqual(r.redirect, { path_redirect: '/new', response_code: 'MOVED_PERMANENTLY' });
    const grpc = m.proxyless();
    assert.deepEqual(brief(grpc.problems), ['warning unsupported-by-proxyless VirtualService sample/hw spec.http[0].redirect']);
    assert.ok(!JSON.stringify(grpc.routes).includes('"redirect"'));
  });

  it('LEAST_REQUEST stays for sidecars, becomes ROUND_ROBIN with a warning for proxyless', () => {
    const m = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}`, []);
    assert.equal(m.sidecar().clusters.find((c) => c.name === `outbound|5000||${HW}`)?.lb_policy, 'LEAST_REQUEST');
    const grpc = m.proxyless();
    assert.equal(grpc.clusters.find((c) => c.name === `outbound|5000||${HW}`)?.lb_policy, 'ROUND_ROBIN');
    assert.deepEqual(brief(grpc.problems), ['warning unsupported-by-proxyless DestinationRule sample/helloworld spec.trafficPolicy.loadBalancer.simple']);
  });

  it('a fault puts the fault filter before the router in the proxyless listener, with a per-route config', () => {
    const m = withConfig(vs(`  - route: [{destination: {host: helloworld}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 12.5}}, delay: {fixedDelay: 1.5s}}`));
    const grpc = m.proxyless();
    const listener = grpc.listeners.find((l) => l.name === 'helloworld.sample:5000');
    assert.deepEqual(listener?.api_listener?.api_listener.http_filters.map((f) => f.name), ['envoy.filters.http.fault', 'envoy.filters.http.router']);
    const route = simulate(grpc, { listenerName: 'helloworld.sample:5000', host: 'helloworld.sample:5000', path: '/x' }).routeEntry;
    assert.deepEqual(route?.typed_per_filter_config?.['envoy.filters.http.fault'], {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      delay: { fixed_delay: { seconds: 1, nanos: 500_000_000 }, percentage: { numerator: 1_000_000, denominator: 'MILLION' } },
      abort: { http_status: 503, percentage: { numerator: 125_000, denominator: 'MILLION' } },
    });
    const other = grpc.listeners.find((l) => l.name === 'sleep.sample:80');
    assert.deepEqual(other?.api_listener?.api_listener.http_filters.map((f) => f.name), ['envoy.filters.http.router']);
  });
});

describe('route features', () => {
  it('header, method, query and case-insensitive uri matches', () => {
    const r = withConfig(vs(`  - match:
    - headers: {end-user: {exact: jason}}
      uri: {prefix: /Hello}
      ignoreUriCase: true
    route: [{destination: {host: helloworld, subset: v2}}]
  - match: [{method: {exact: POST}, queryParams: {debug: {exact: "1"}}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - route: [{destination: {host: helloworld}}]`)).sidecar();
    assert.deepEqual(r.problems, []);
    assert.equal(call(r, '/hello', { 'end-user': 'jason' }).clusters[0].name, `outbound|5000|v2|${HW}`);
    assert.equal(call(r, '/hello', { 'end-user': 'bob' }).clusters[0].name, `outbound|5000||${HW}`);
    assert.equal(simulate(r, { listenerPort: 'http_proxy', host: 'helloworld:5000', path: '/x?debug=1', method: 'POST' }).clusters[0].name, `outbound|5000|v1|${HW}`);
    assert.equal(simulate(r, { listenerPort: 'http_proxy', host: 'helloworld:5000', path: '/x?debug=1', method: 'GET' }).clusters[0].name, `outbound|5000||${HW}`);
  });

  it('timeout, retries, rewrite, mirror and header operations', () => {
    const r = withConfig(vs(`  - route:
    - destination: {host: helloworld, subset: v1}
      weight: 75
      headers: {request: {set: {x-version: v1}}}
    - destination: {host: helloworld, subset: v2}
      weight: 25
    timeout: 2.5s
    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,503"}
    rewrite: {uri: /v2/hello, authority: backend}
    mirror: {host: sleep}
    mirrorPercentage: {value: 50}
    headers: {response: {remove: [server]}}`)).sidecar();
    assert.deepEqual(r.problems, []);
    const route = call(r).routeEntry;
    assert.ok(route && 'route' in route && 'weighted_clusters' in route.route);
    const action = route.route;
    assert.deepEqual(action.timeout, { seconds: 2, nanos: 500_000_000 });
    assert.deepEqual(action.retry_policy, {
      retry_on: '5xx,retriable-status-codes',
      num_retries: { value: 3 },
      retriable_status_codes: [503],
      per_try_timeout: { seconds: 0, nanos: 500_000_000 },
      // Istio's ConvertPolicy keeps the default policy's host predicate and re-selections.
      retry_host_predicate: [RETRY_PREVIOUS_HOSTS],
      host_selection_retry_max_attempts: 5,
    });
    assert.equal(action.prefix_rewrite, '/v2/hello');
    assert.equal(action.host_rewrite_literal, 'backend');
    assert.deepEqual(action.request_mirror_policies, [
      { cluster: 'outbound|80||sleep.sample.svc.cluster.local', runtime_fraction: { default_value: { numerator: 500_000, denominator: 'MILLION' } } },
    ]);
    assert.equal('total_weight' in action.weighted_clusters, false, 'Envoy deprecates total_weight');
    assert.deepEqual(action.weighted_clusters.clusters[0].request_headers_to_add, [{ header: { key: 'x-version', value: 'v1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
    assert.deepEqual(route.response_headers_to_remove, ['server']);
  });

  it('mirrors: one mirror policy per entry, each with its percentage (100 by default)', () => {
    const r = withConfig(vs(`  - route:
    - destination: {host: helloworld}
    mirrors:
    - destination: {host: sleep}
      percentage: {value: 25}
    - destination: {host: helloworld, subset: v2}`)).sidecar();
    assert.deepEqual(r.problems, []);
    const route = call(r).routeEntry;
    assert.ok(route && 'route' in route);
    assert.deepEqual(route.route.request_mirror_policies, [
      { cluster: 'outbound|80||sleep.sample.svc.cluster.local', runtime_fraction: { default_value: { numerator: 250_000, denominator: 'MILLION' } } },
      { cluster: `outbound|5000|v2|${HW}`, runtime_fraction: { default_value: { numerator: 1_000_000, denominator: 'MILLION' } } },
    ]);
  });

  it('DestinationRule policies: subset overrides top level; outlier detection disables success-rate ejection', () => {
    const m = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    connectionPool: {tcp: {maxConnections: 10, connectTimeout: 250ms}, http: {http1MaxPendingRequests: 5}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
  - name: v2
    labels: {version: v2}`, []);
    const clusters = m.sidecar().clusters;
    const base = clusters.find((c) => c.name === `outbound|5000||${HW}`);
    const v1 = clusters.find((c) => c.name === `outbound|5000|v1|${HW}`);
    assert.equal(base?.lb_policy, 'RANDOM');
    assert.equal(v1?.lb_policy, 'LEAST_REQUEST');
    assert.deepEqual(v1?.connect_timeout, { seconds: 0, nanos: 250_000_000 }, 'subset keeps the top-level connection pool');
    assert.deepEqual(base?.circuit_breakers?.thresholds[0].max_connections, { value: 10 });
    assert.deepEqual(base?.circuit_breakers?.thresholds[0].max_pending_requests, { value: 5 });
    // Both data planes enforce the circuit breakers: nothing to report for sidecars; proxyless clients
    // apply only http2MaxRequests, and say so.
    assert.ok(!brief(m.sidecar().problems).some((p) => p.endsWith('connectionPool')), brief(m.sidecar().problems).join('\n'));
    assert.ok(brief(m.proxyless().problems).includes('warning unsupported-by-proxyless DestinationRule sample/helloworld spec.trafficPolicy.connectionPool'));
    assert.deepEqual(base?.outlier_detection, {
      enforcing_success_rate: { value: 0 },
      consecutive_5xx: { value: 3 },
      enforcing_consecutive_5xx: { value: 100 },
      interval: { seconds: 5, nanos: 0 },
      base_ejection_time: { seconds: 30, nanos: 0 },
      max_ejection_percent: { value: 50 },
    });
  });

  it('a STATIC ServiceEntry is routable with its own endpoints', () => {
    const r = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.99.0.1, locality: local/ext}]`).sidecar();
    const result = simulate(r, { listenerPort: 'http_proxy', host: 'api.example.com', path: '/' });
    assert.deepEqual(result.clusters.map((c) => c.name), ['outbound|80||api.example.com']);
    assert.deepEqual(result.endpoints, ['127.99.0.1:80']);
    assert.deepEqual(danglingReferences(r), []);
  });

  it('a gateway VS with a specific host gets that host (and host:port) as domains', () => {
    const r = withConfig(`apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: hw-ext}
spec:
  hosts: [hello.example.com]
  gateways: [helloworld-gateway]
  http: [{route: [{destination: {host: helloworld}}]}]`, ['gateway']).router();
    assert.deepEqual(r.problems, []);
    const named = simulate(r, { listenerPort: 80, host: 'hello.example.com:80', path: '/anything' });
    assert.equal(named.virtualHost, 'hello.example.com:80');
    assert.equal(simulate(r, { listenerPort: 80, host: 'other.example.com', path: '/anything' }).outcome, 'no-route', '* vhost only has /hello');
  });
});
