// The VirtualService http fields beyond the basics (directResponse, corsPolicy, delegate, uriRegexRewrite,
// retryRemoteLocalities) and ServiceEntry resolutions, translated as Istio translates them; what cannot
// be honoured is reported, never dropped in silence. Requests are walked with simulate().

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, CorsPolicy, HttpConnectionManager, ProxyResources, Route } from './envoy-types.js';
import { RETRY_PREVIOUS_PRIORITIES } from './http-routes.js';
import { simulate } from './simulate.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from './testdata/fixture.js';
import { analyze, translate } from './translate.js';

const HW = 'helloworld.sample.svc.cluster.local';

/** The scenario (with its helloworld DestinationRule) plus YAML per namespace, applied to both clusters. */
function mesh(yaml: string | Record<string, string>) {
  const clusters = scenarioClusters(['destinationrule']);
  const byNamespace = typeof yaml === 'string' ? { sample: yaml } : yaml;
  for (const c of clusters) for (const [ns, text] of Object.entries(byNamespace)) c.apply(ns, parseYaml(text, 'test config'));
  const snapshot = buildSnapshot(clusters);
  return {
    sidecar: () => translate(snapshot, proxyFor(clusters[0].pod('sleep'), 'sidecar')),
    router: () => translate(snapshot, proxyFor(clusters[0].pod('istio-ingressgateway'), 'router')),
    proxyless: () => translate(snapshot, { ...proxyFor(clusters[0].pod('sleep'), 'proxyless'), id: 'grpc' }),
    analyze: () => analyze(snapshot),
  };
}

const brief = (r: ProxyResources) => r.problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`);
const call = (r: ProxyResources, path: string, host = 'helloworld:5000', headers: Record<string, string> = {}) =>
  simulate(r, { listenerPort: 'http_proxy', host, path, headers });

function vs(http: string, name = 'hw'): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [helloworld]
  http:
${http}`;
}

function delegateVs(name: string, http: string, extra = ''): string {
  return `---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${name}}
spec:${extra}
  http:
${http}`;
}

function httpFilters(r: ProxyResources): string[][] {
  return r.listeners.map((l) => {
    const m = (l.api_listener?.api_listener ?? l.filter_chains?.[0]?.filters[0]?.typed_config) as HttpConnectionManager;
    return m.http_filters.map((f) => f.name);
  });
}

describe('directResponse (Istio ApplyDirectResponse)', () => {
  const yaml = vs(`  - match: [{uri: {prefix: /teapot}}]
    directResponse: {status: 418, body: {string: "short and stout"}}
  - match: [{uri: {prefix: /bytes}}]
    directResponse: {status: 200, body: {bytes: "aGVsbG8="}}
  - route: [{destination: {host: helloworld}}]
`);

  it('becomes a direct_response route; simulate() answers it locally', () => {
    const r = mesh(yaml).sidecar();
    assert.deepEqual(r.problems, []);
    const teapot = call(r, '/teapot');
    assert.equal(teapot.outcome, 'direct-response');
    assert.deepEqual(teapot.directResponse, { status: 418, body: { inline_string: 'short and stout' } });
    assert.deepEqual(call(r, '/bytes').directResponse, { status: 200, body: { inline_bytes: 'aGVsbG8=' } });
    assert.equal(call(r, '/other').outcome, 'routed');
  });

  it('proxyless clients cannot answer locally: the route is left out of their config, reported', () => {
    const r = mesh(yaml).proxyless();
    assert.deepEqual(brief(r), [
      'warning unsupported-by-proxyless VirtualService sample/hw spec.http[0].directResponse',
      'warning unsupported-by-proxyless VirtualService sample/hw spec.http[1].directResponse',
    ]);
    const routes = r.routes.flatMap((c) => c.virtual_hosts.flatMap((v) => v.routes));
    assert.ok(!routes.some((x) => 'direct_response' in x));
  });

  it('invalid status or bytes are errors and the route is left out', () => {
    const r = mesh(vs(`  - match: [{uri: {prefix: /a}}]
    directResponse: {status: 99}
  - match: [{uri: {prefix: /b}}]
    directResponse: {status: 200, body: {bytes: "not base64!"}}
  - route: [{destination: {host: helloworld}}]
`)).sidecar();
    assert.ok(brief(r).includes('error invalid-route VirtualService sample/hw spec.http[0].directResponse.status'), JSON.stringify(brief(r)));
    assert.ok(brief(r).includes('error invalid-route VirtualService sample/hw spec.http[1].directResponse.body.bytes'), JSON.stringify(brief(r)));
    assert.equal(call(r, '/a').outcome, 'routed');
  });
});

describe('corsPolicy (Istio TranslateCORSPolicy)', () => {
  const yaml = vs(`  - corsPolicy:
      allowOrigins: [{exact: "https://a.example"}, {prefix: "https://b."}, {regex: "https://.*\\\\.c\\\\.example"}]
      allowOrigin: ["https://ignored.example"]
      allowMethods: [GET, POST]
      allowHeaders: [x-a, x-b]
      exposeHeaders: [x-e]
      maxAge: 90s
      allowCredentials: false
      unmatchedPreflights: IGNORE
    route: [{destination: {host: helloworld}}]
`);

  it('the per-route CorsPolicy, and the CORS filter after the fault filter on sidecars and gateways', () => {
    const r = mesh(yaml).sidecar();
    assert.deepEqual(r.problems, []);
    const route = call(r, '/').routeEntry as Route;
    const cors = route.typed_per_filter_config?.['envoy.filters.http.cors'] as CorsPolicy;
    assert.deepEqual(cors, {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
      allow_origin_string_match: [{ exact: 'https://a.example' }, { prefix: 'https://b.' }, { safe_regex: { regex: 'https://.*\\.c\\.example' } }],
      allow_methods: 'GET,POST',
      allow_headers: 'x-a,x-b',
      expose_headers: 'x-e',
      max_age: '90',
      allow_credentials: { value: false },
      filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
      forward_not_matching_preflights: { value: false },
    });
    for (const filters of [...httpFilters(r), ...httpFilters(mesh(yaml).router())]) {
      assert.deepEqual(filters, ['envoy.filters.http.fault', 'envoy.filters.http.cors', 'envoy.filters.http.router']);
    }
  });

  it('the deprecated allowOrigin gives exact matches; unmatchedPreflights unset forwards them', () => {
    const r = mesh(vs(`  - corsPolicy: {allowOrigin: ["https://old.example"]}
    route: [{destination: {host: helloworld}}]
`)).sidecar();
    const cors = (call(r, '/').routeEntry as Route).typed_per_filter_config?.['envoy.filters.http.cors'] as CorsPolicy;
    assert.deepEqual(cors.allow_origin_string_match, [{ exact: 'https://old.example' }]);
    assert.deepEqual(cors.forward_not_matching_preflights, { value: true });
  });

  it('proxyless clients get no CORS filter nor policy, reported', () => {
    const r = mesh(yaml).proxyless();
    assert.deepEqual(brief(r), ['warning unsupported-by-proxyless VirtualService sample/hw spec.http[0].corsPolicy']);
    for (const filters of httpFilters(r)) assert.ok(!filters.includes('envoy.filters.http.cors'));
    assert.ok(!JSON.stringify(r.routes).includes('CorsPolicy'));
  });
});

describe('rewrite.uriRegexRewrite and retries.retryRemoteLocalities', () => {
  it('regex_rewrite and the previous_priorities retry priority', () => {
    const r = mesh(vs(`  - rewrite: {uriRegexRewrite: {match: "^/a/(.*)", rewrite: "/b/\\\\1"}}
    retries: {attempts: 2, retryOn: "unavailable,cancelled,503", retryRemoteLocalities: true}
    route: [{destination: {host: helloworld}}]
`)).sidecar();
    assert.deepEqual(r.problems, []);
    const route = call(r, '/a/x').routeEntry as Route & { route: Record<string, unknown> };
    assert.deepEqual(route.route['regex_rewrite'], { pattern: { regex: '^/a/(.*)' }, substitution: '/b/\\1' });
    const retry = route.route['retry_policy'] as Record<string, unknown>;
    assert.equal(retry['retry_on'], 'unavailable,cancelled,retriable-status-codes');
    assert.deepEqual(retry['retriable_status_codes'], [503]);
    assert.deepEqual(retry['retry_priority'], RETRY_PREVIOUS_PRIORITIES);
  });

  it('uri and uriRegexRewrite together, or a regex RE2 refuses, are errors', () => {
    const r = mesh(vs(`  - match: [{uri: {prefix: /both}}]
    rewrite: {uri: /x, uriRegexRewrite: {match: "^/both", rewrite: /y}}
    route: [{destination: {host: helloworld}}]
  - match: [{uri: {prefix: /look}}]
    rewrite: {uriRegexRewrite: {match: "(?=a)", rewrite: /y}}
    route: [{destination: {host: helloworld}}]
`)).sidecar();
    assert.deepEqual(brief(r), [
      'error invalid-route VirtualService sample/hw spec.http[0].rewrite',
      'error invalid-route VirtualService sample/hw spec.http[1].rewrite.uriRegexRewrite.match',
    ]);
  });
});

describe('delegate VirtualServices (Istio MergeHTTPRoutes)', () => {
  const root = vs(`  - name: api
    match: [{uri: {prefix: /api}, headers: {x-team: {exact: blue}}}]
    delegate: {name: hw-api}
    timeout: 3s
  - route: [{destination: {host: helloworld}}]
`);

  it('the delegate\'s routes take the root\'s place, matches merged, root fields where the delegate has none', () => {
    const r = mesh(`${root}${delegateVs('hw-api', `  - name: v1
    match: [{uri: {prefix: /api/v1}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /api/v2}}]
    timeout: 1s
    route: [{destination: {host: helloworld, subset: v2}}]
`)}`).sidecar();
    assert.deepEqual(r.problems, []);
    const v1 = call(r, '/api/v1/x', 'helloworld:5000', { 'x-team': 'blue' });
    assert.equal(v1.route, 'api-v1');
    assert.deepEqual(v1.clusters.map((c) => c.name), [`outbound|5000|v1|${HW}`]);
    assert.deepEqual((v1.routeEntry as Route & { route: { timeout: unknown } }).route.timeout, { seconds: 3, nanos: 0 });
    const v2 = call(r, '/api/v2', 'helloworld:5000', { 'x-team': 'blue' });
    assert.deepEqual(v2.clusters.map((c) => c.name), [`outbound|5000|v2|${HW}`]);
    assert.deepEqual((v2.routeEntry as Route & { route: { timeout: unknown } }).route.timeout, { seconds: 1, nanos: 0 });
    assert.deepEqual(call(r, '/api/v1/x').clusters.map((c) => c.name), [`outbound|5000||${HW}`], 'without the root\'s header: the root\'s next route');
  });

  it('bad delegation is reported and that root route left out: missing, has hosts, not exported, nested, conflicting match', () => {
    const r = mesh({
      sample: `${vs(`  - match: [{uri: {prefix: /missing}}]
    delegate: {name: nope}
  - match: [{uri: {prefix: /hosts}}]
    delegate: {name: has-hosts}
  - match: [{uri: {prefix: /hidden}}]
    delegate: {name: hidden, namespace: other}
  - match: [{uri: {prefix: /api}}]
    delegate: {name: leaf}
  - route: [{destination: {host: helloworld}}]
`)}${delegateVs('has-hosts', '  - route: [{destination: {host: helloworld}}]\n', '\n  hosts: [sleep]')}${delegateVs('leaf', `  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /api/nested}}]
    delegate: {name: deeper}
  - match: [{uri: {prefix: /api/ok}}]
    route: [{destination: {host: helloworld, subset: v2}}]
`)}`,
      other: delegateVs('hidden', '  - route: [{destination: {host: helloworld.sample.svc.cluster.local}}]\n', '\n  exportTo: ["."]').slice(4),
    }).sidecar();
    assert.deepEqual(brief(r).filter((p) => p.includes('invalid-delegate')), [
      'warning invalid-delegate VirtualService sample/hw spec.http[0].delegate',
      'warning invalid-delegate VirtualService sample/hw spec.http[1].delegate',
      'warning invalid-delegate VirtualService sample/hw spec.http[2].delegate',
      'warning invalid-delegate VirtualService sample/leaf spec.http[0].match',
      'error invalid-delegate VirtualService sample/leaf spec.http[1].delegate',
    ]);
    assert.deepEqual(call(r, '/api/ok').clusters.map((c) => c.name), [`outbound|5000|v2|${HW}`]);
    for (const path of ['/missing', '/hosts', '/hidden', '/other', '/api/nested']) {
      assert.deepEqual(call(r, path).clusters.map((c) => c.name), [`outbound|5000||${HW}`], path);
    }
  });

  it('analyze: a delegate is checked through its root; one no root names is reported', () => {
    const leaf = delegateVs('hw-api', `  - match: [{uri: {prefix: /api/v1}}]
    route: [{destination: {host: helloworld, subset: v1}}]
`);
    assert.deepEqual(mesh(`${root}${leaf}`).analyze().filter((p) => p.kind === 'VirtualService'), []);
    const orphan = mesh(`${root}${leaf}${delegateVs('orphan', '  - route: [{destination: {host: helloworld}}]\n')}`).analyze();
    assert.deepEqual(orphan.filter((p) => p.kind === 'VirtualService').map((p) => `${p.severity} ${p.code} ${p.name} ${p.field}`), ['warning invalid-delegate orphan spec.hosts']);
  });

  it('a delegate\'s short host names resolve in the delegate\'s namespace', () => {
    const r = mesh({
      sample: vs(`  - delegate: {name: team, namespace: other}
`),
      other: delegateVs('team', '  - route: [{destination: {host: helloworld}}]\n').slice(4),
    }).sidecar();
    assert.deepEqual(brief(r), ['error unknown-host VirtualService other/team spec.http[0].route[0].destination.host']);
  });
});

describe('ServiceEntry resolutions', () => {
  const entry = (name: string, spec: string) => `---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ${name}}
spec:
${spec}`;
  const clusterOf = (r: ProxyResources, name: string): Cluster | undefined => r.clusters.find((c) => c.name === name);

  it('STATIC endpoints: address, named port, labels for subsets, locality, weight', () => {
    const r = mesh(`${entry('static', `  hosts: [db.example.test]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: 8000}]
  resolution: STATIC
  endpoints:
  - {address: 192.0.2.1, labels: {tier: a}, locality: region-1/zone-1, weight: 3}
  - {address: 192.0.2.2, ports: {http: 9000}, labels: {tier: b}, locality: region-1/zone-2}
`)}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: db}
spec:
  host: db.example.test
  subsets: [{name: a, labels: {tier: a}}]
`).sidecar();
    assert.deepEqual(r.problems, []);
    assert.deepEqual(call(r, '/', 'db.example.test').endpoints, ['192.0.2.1:8000', '192.0.2.2:9000']);
    const all = r.endpoints.find((e) => e.cluster_name === 'outbound|80||db.example.test')!;
    assert.deepEqual(all.endpoints.map((l) => [l.locality, l.load_balancing_weight?.value, l.lb_endpoints.map((e) => e.load_balancing_weight?.value)]), [
      [{ region: 'region-1', zone: 'zone-1' }, 3, [3]],
      [{ region: 'region-1', zone: 'zone-2' }, 1, [1]],
    ]);
    const subset = r.endpoints.find((e) => e.cluster_name === 'outbound|80|a|db.example.test')!;
    assert.deepEqual(subset.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address)), ['192.0.2.1']);
  });

  it('workloadSelector: the matching pods of the entry\'s namespace, each once, at their pod IPs', () => {
    const r = mesh(entry('selected', `  hosts: [hello.internal.test]
  ports: [{number: 7000, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: helloworld}}
`)).sidecar();
    assert.deepEqual(r.problems, []);
    const result = call(r, '/', 'hello.internal.test:7000');
    const hello = call(r, '/', 'helloworld:5000');
    assert.equal(result.endpoints.length, 2, JSON.stringify(result.endpoints));
    assert.deepEqual(result.endpoints.map((e) => e.split(':')[0]).sort(), hello.endpoints.map((e) => e.split(':')[0]).sort());
    assert.ok(result.endpoints.every((e) => e.endsWith(':7000')));
  });

  it('DNS: a STRICT_DNS cluster as Istio writes it for IPv4 proxies; DNS_ROUND_ROBIN: LOGICAL_DNS of one name', () => {
    const r = mesh(`${entry('dns', `  hosts: [api.dns.test]
  ports: [{number: 443, name: http, protocol: HTTP}]
  resolution: DNS
`)}
${entry('rr', `  hosts: [api.rr.test]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS_ROUND_ROBIN
  endpoints: [{address: backend.rr.test}]
`)}`).sidecar();
    assert.deepEqual(r.problems, []);
    const dns = clusterOf(r, 'outbound|443||api.dns.test')!;
    assert.equal(dns.type, 'STRICT_DNS');
    assert.equal(dns.dns_lookup_family, 'V4_ONLY');
    assert.deepEqual(dns.dns_refresh_rate, { seconds: 60, nanos: 0 });
    assert.equal(dns.respect_dns_ttl, true);
    assert.deepEqual(dns.load_assignment?.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address)), [{ address: 'api.dns.test', port_value: 443 }]);
    const rr = clusterOf(r, 'outbound|80||api.rr.test')!;
    assert.equal(rr.type, 'LOGICAL_DNS');
    assert.equal(call(r, '/', 'api.rr.test').endpoints[0], 'backend.rr.test:80');
  });

  it('what is not served is reported: NONE, DNS_ROUND_ROBIN with two endpoints, selector with DNS (MESH_INTERNAL is served, with auto mTLS)', () => {
    const r = mesh(`${entry('none', `  hosts: [none.test]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: NONE
`)}
${entry('internal', `  hosts: [internal.test]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 192.0.2.9}]
`)}
${entry('rr-two', `  hosts: [two.test]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS_ROUND_ROBIN
  endpoints: [{address: a.two.test}, {address: b.two.test}]
`)}
${entry('selector-dns', `  hosts: [sel.test]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
  workloadSelector: {labels: {app: helloworld}}
`)}`).sidecar();
    assert.deepEqual(brief(r), [
      'warning unsupported ServiceEntry sample/none spec.resolution',
      'error invalid-route ServiceEntry sample/rr-two spec.endpoints',
      'error invalid-route ServiceEntry sample/selector-dns spec.workloadSelector',
    ]);
    assert.equal(call(r, '/', 'internal.test').outcome, 'routed');
    for (const host of ['none.test', 'two.test', 'sel.test']) assert.equal(call(r, '/', host).outcome, 'no-virtual-host', host);
  });

  it('proxyless clients: one DNS name becomes LOGICAL_DNS; several are reported and left out', () => {
    const r = mesh(`${entry('one', `  hosts: [one.dns.test]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
`)}
${entry('two', `  hosts: [two.dns.test]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
  endpoints: [{address: a.two.test}, {address: b.two.test}]
`)}`).proxyless();
    assert.deepEqual(brief(r), ['warning unsupported-by-proxyless ServiceEntry sample/two spec.endpoints']);
    assert.equal(clusterOf(r, 'outbound|80||one.dns.test')?.type, 'LOGICAL_DNS');
    assert.equal(clusterOf(r, 'outbound|80||two.dns.test'), undefined);
  });

  it('exportTo: an entry exported elsewhere is not in this namespace\'s config', () => {
    const r = mesh(entry('hidden', `  hosts: [hidden.test]
  exportTo: [other]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 192.0.2.3}]
`)).sidecar();
    assert.equal(call(r, '/', 'hidden.test').outcome, 'no-virtual-host');
    assert.equal(clusterOf(r, 'outbound|80||hidden.test'), undefined);
  });
});
