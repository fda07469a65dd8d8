// AuthorizationPolicy translation: the examples of istio.io's AuthorizationPolicy reference, each
// translated, decoded by the meshwork proxy's RBAC decoder and asked who may do what, plus the exact
// shapes istiod writes for the simple ones, which policies apply to which proxy, and what analyze says.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthorizationPolicy } from '../config/istio-types.js';
import { decodeRbacFilter } from '../proxy/decode/rbac.js';
import { Problems } from '../proxy/decode/fields.js';
import { checkRbac, type RbacSubject } from '../proxy/filters/rbac.js';
import type { IstioObject, MeshSnapshot, ProxyIdentity } from '../registry/model.js';
import { authorizationFilters, checkAuthorizationPolicies, policiesFor, withAuthorization } from './authorization.js';
import type { Listener } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import type { Problem } from '../config/problems.js';
import { parseYaml } from './testdata/fixture.js';

function policies(yaml: string, namespace = 'foo'): IstioObject<AuthorizationPolicy>[] {
  return parseYaml(yaml, 'test').map((o) => ({ name: o.metadata.name ?? '', namespace: o.metadata.namespace ?? namespace, spec: o.spec as AuthorizationPolicy, cluster: 'c1' }));
}

interface Ask {
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  /** The peer certificate's URI SAN (mTLS); absent: plain text. */
  principal?: string;
  peer?: string;
  port?: number;
  tcp?: boolean;
}

/** Translates, decodes as the proxy does, and evaluates: true when allowed. */
function allowed(list: IstioObject<AuthorizationPolicy>[], ask: Ask): boolean {
  const filters = authorizationFilters(list);
  const p = new Problems();
  const decoded = (ask.tcp ? filters.network : filters.http).map((f) => decodeRbacFilter(f.typed_config as unknown as Record<string, unknown>, 'rbac', p, ask.tcp ?? false));
  assert.deepEqual(p.list, [], 'the proxy decodes what the translator writes');
  const headers: Record<string, string> = Object.fromEntries(Object.entries(ask.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const subject: RbacSubject = {
    ...(ask.tcp ? {} : { request: { method: ask.method ?? 'GET', authority: ask.host ?? 'httpbin.foo:8000', path: ask.path ?? '/', scheme: 'http', header: (n: string) => headers[n] } }),
    peer: ask.peer ?? '10.0.0.9',
    remote: ask.peer ?? '10.0.0.9',
    localAddress: '10.0.0.1',
    localPort: ask.port ?? 8000,
    serverName: '',
    peerCertificate: ask.principal ? { uriSans: [`spiffe://${ask.principal}`], dnsSans: [], subject: '' } : undefined,
  };
  return checkRbac(decoded, subject, () => undefined);
}

describe('AuthorizationPolicy: the examples of the Istio reference', () => {
  test('ALLOW from a principal or a namespace, to GET /info* or POST /data, when a JWT claim (never present here)', () => {
    const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin, namespace: foo}
spec:
  action: ALLOW
  rules:
  - from:
    - source: {principals: ["cluster.local/ns/default/sa/sleep"]}
    - source: {namespaces: ["test"]}
    to:
    - operation: {methods: ["GET"], paths: ["/info*"]}
    - operation: {methods: ["POST"], paths: ["/data"]}
  - from:
    - source: {principals: ["cluster.local/ns/default/sa/sleep"]}
    to:
    - operation: {methods: ["GET"], paths: ["/open"]}
`);
    assert.equal(allowed(list, { path: '/open', principal: 'cluster.local/ns/default/sa/sleep' }), true);
    assert.equal(allowed(list, { path: '/info/x', principal: 'cluster.local/ns/test/sa/any' }), true);
    assert.equal(allowed(list, { method: 'POST', path: '/data', principal: 'cluster.local/ns/default/sa/sleep' }), true);
    assert.equal(allowed(list, { method: 'POST', path: '/info', principal: 'cluster.local/ns/default/sa/sleep' }), false);
    assert.equal(allowed(list, { path: '/open', principal: 'cluster.local/ns/default/sa/other' }), false);
    assert.equal(allowed(list, { path: '/open' }), false, 'plain text has no principal');
  });

  test('a JWT claim condition never matches without RequestAuthentication', () => {
    const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin}
spec:
  rules:
  - when: [{key: "request.auth.claims[iss]", values: ["https://accounts.google.com"]}]
`);
    assert.equal(allowed(list, { path: '/' }), false);
  });

  test('DENY from notNamespaces [foo]: other namespaces and plain text are denied', () => {
    const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin}
spec:
  action: DENY
  rules: [{from: [{source: {notNamespaces: ["foo"]}}]}]
`);
    assert.equal(allowed(list, { principal: 'cluster.local/ns/foo/sa/a' }), true);
    assert.equal(allowed(list, { principal: 'cluster.local/ns/bar/sa/a' }), false);
    assert.equal(allowed(list, {}), false);
  });

  test('allow-all, deny-all (DENY with an empty rule), allow-nothing (ALLOW without rules)', () => {
    const allowAll = policies('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-all}\nspec:\n  action: ALLOW\n  rules: [{}]\n');
    const denyAll = policies('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-all}\nspec:\n  action: DENY\n  rules: [{}]\n');
    const allowNothing = policies('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-nothing}\nspec: {}\n');
    assert.equal(allowed(allowAll, { method: 'DELETE', path: '/x' }), true);
    assert.equal(allowed(denyAll, {}), false);
    assert.equal(allowed(allowNothing, {}), false);
    assert.equal(allowed([...allowAll, ...denyAll], {}), false, 'DENY is checked before ALLOW');
    assert.equal(allowed(allowAll, { tcp: true }), true);
    assert.equal(allowed(denyAll, { tcp: true }), false);
  });

  test('the exact filters istiod writes: AUDIT as LOG, DENY before ALLOW, a never-matching policy for no rules', () => {
    const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-get}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: [GET], notPaths: ['/health*']}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: audit}
spec:
  action: AUDIT
  rules: [{to: [{operation: {paths: ["/user/profile/*"]}}]}]
`);
    const { http, network } = authorizationFilters(list);
    assert.deepEqual(http.map((f) => (f.typed_config as { rules: { action: string } }).rules.action), ['LOG', 'DENY', 'ALLOW']);
    assert.ok(http.every((f) => f.name === 'envoy.filters.http.rbac'));
    assert.ok(network.every((f) => f.name === 'envoy.filters.network.rbac' && (f.typed_config as { stat_prefix: string }).stat_prefix === 'tcp.'));
    assert.deepEqual(http[1]!.typed_config, {
      '@type': TYPE_URL.rbacHttp,
      rules: {
        action: 'DENY',
        policies: {
          'ns[foo]-policy[deny-get]-rule[0]': {
            permissions: [{ and_rules: { rules: [
              { or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }] } },
              { not_rule: { or_rules: { rules: [{ url_path: { path: { prefix: '/health' } } }] } } },
            ] } }],
            principals: [{ and_ids: { ids: [{ any: true }] } }],
          },
        },
      },
    });
    assert.deepEqual(http[2]!.typed_config, {
      '@type': TYPE_URL.rbacHttp,
      rules: { action: 'ALLOW', policies: { 'ns[foo]-policy[allow-nothing]-rule[0]': { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] } } },
    });
    // TCP: the DENY rule's HTTP-only values are dropped (it denies every connection), the ALLOW stays match-never.
    const tcpDeny = network[1]!.typed_config as { rules: { policies: Record<string, { permissions: unknown[] }> } };
    assert.deepEqual(tcpDeny.rules.policies['ns[foo]-policy[deny-get]-rule[0]']!.permissions, [{ and_rules: { rules: [{ any: true }] } }]);
  });

  test('principals: exact, prefix, suffix and "*" (any authenticated peer); notPrincipals', () => {
    const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p}
spec:
  rules:
  - from: [{source: {principals: ["cluster.local/ns/a/sa/exact", "cluster.local/ns/b/*", "*/sa/admin"]}}]
    to: [{operation: {paths: ["/specific"]}}]
  - from: [{source: {principals: ["*"], notPrincipals: ["cluster.local/ns/evil/*"]}}]
    to: [{operation: {paths: ["/any"]}}]
`);
    assert.equal(allowed(list, { path: '/specific', principal: 'cluster.local/ns/a/sa/exact' }), true);
    assert.equal(allowed(list, { path: '/specific', principal: 'cluster.local/ns/a/sa/exact2' }), false);
    assert.equal(allowed(list, { path: '/specific', principal: 'cluster.local/ns/b/sa/x' }), true);
    assert.equal(allowed(list, { path: '/specific', principal: 'other.domain/ns/c/sa/admin' }), true);
    assert.equal(allowed(list, { path: '/any', principal: 'cluster.local/ns/c/sa/x' }), true);
    assert.equal(allowed(list, { path: '/any', principal: 'cluster.local/ns/evil/sa/x' }), false);
    assert.equal(allowed(list, { path: '/any' }), false);
  });

  test('ingress gateway: DENY ipBlocks; hosts are case-insensitive', () => {
    const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ingress-policy, namespace: istio-system}
spec:
  selector: {matchLabels: {app: istio-ingressgateway}}
  action: DENY
  rules:
  - from: [{source: {ipBlocks: ["1.2.3.4", "5.6.7.0/24"]}}]
  - to: [{operation: {hosts: ["foo.com"]}}]
`);
    assert.equal(allowed(list, { peer: '1.2.3.4' }), false);
    assert.equal(allowed(list, { peer: '5.6.7.200' }), false);
    assert.equal(allowed(list, { peer: '5.6.8.1' }), true);
    assert.equal(allowed(list, { host: 'FOO.com' }), false);
    assert.equal(allowed(list, { host: 'foo.com:80' }), true, 'a Host with a port is another host (Istio matches the header as it is)');
    assert.equal(allowed(list, { tcp: true, peer: '1.2.3.4' }), false);
    assert.equal(allowed(list, { tcp: true, peer: '9.9.9.9' }), false, 'on TCP the hosts rule loses its HTTP-only values: the DENY rule that is left matches every connection');
  });

  test('CUSTOM denies what its rules match (no ext_authz here)', () => {
    const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-authz}
spec:
  action: CUSTOM
  provider: {name: my-custom-authz}
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
`);
    assert.equal(allowed(list, { path: '/admin/x' }), false);
    assert.equal(allowed(list, { path: '/public' }), true);
  });
});

describe('AuthorizationPolicy: which proxies a policy applies to', () => {
  const all = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh, namespace: istio-system}
spec: {action: DENY, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-selected, namespace: istio-system}
spec: {selector: {matchLabels: {app: httpbin}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ns, namespace: foo}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: selected, namespace: foo}
spec: {selector: {matchLabels: {app: httpbin, version: v1}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: other-ns, namespace: bar}
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: gateway-ref, namespace: foo}
spec: {targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]}
`);
  const snapshot = { authorizationPolicies: all, endpoints: [] } as unknown as MeshSnapshot;
  const proxy = (labels: Record<string, string>, namespace = 'foo', kind: ProxyIdentity['kind'] = 'sidecar'): ProxyIdentity =>
    ({ id: 'x', kind, namespace, cluster: 'c1', labels, ip: '10.0.0.1' });
  const names = (p: ProxyIdentity) => policiesFor(snapshot, p, 'istio-system').map((x) => x.name).sort();

  test('root namespace mesh-wide, root-namespace selector in any namespace, the namespace, its selector', () => {
    assert.deepEqual(names(proxy({ app: 'httpbin', version: 'v1' })), ['mesh', 'mesh-selected', 'ns', 'selected']);
    assert.deepEqual(names(proxy({ app: 'httpbin', version: 'v2' })), ['mesh', 'mesh-selected', 'ns']);
    assert.deepEqual(names(proxy({ app: 'httpbin' }, 'baz')), ['mesh', 'mesh-selected']);
    assert.deepEqual(names(proxy({ app: 'other' }, 'bar')), ['mesh', 'other-ns']);
  });

  test('targetRefs: only the Kubernetes Gateway named, never a sidecar by its selector; proxyless clients get none', () => {
    assert.deepEqual(names(proxy({ 'gateway.networking.k8s.io/gateway-name': 'gw' }, 'foo', 'router')), ['gateway-ref', 'mesh', 'ns']);
    assert.deepEqual(names(proxy({ 'gateway.networking.k8s.io/gateway-name': 'gw' }, 'bar', 'router')), ['mesh', 'other-ns']);
    assert.deepEqual(names(proxy({ app: 'httpbin', version: 'v1' }, 'foo', 'proxyless')), []);
  });
});

test('withAuthorization: RBAC first in each connection manager, network RBAC before each tcp_proxy', () => {
  const filters = authorizationFilters(policies('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {rules: [{}]}\n'));
  const listener: Listener = {
    name: 'l',
    filter_chains: [
      { filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TYPE_URL.httpConnectionManager, stat_prefix: 's', http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } }] } }] },
      { filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TYPE_URL.tcpProxy, stat_prefix: 't', cluster: 'c' } }] },
    ],
  };
  const out = withAuthorization(listener, filters);
  const hcm = out.filter_chains![0]!.filters[0]!.typed_config as { http_filters: { name: string }[] };
  assert.deepEqual(hcm.http_filters.map((f) => f.name), ['envoy.filters.http.rbac', 'envoy.filters.http.router']);
  assert.deepEqual(out.filter_chains![1]!.filters.map((f) => f.name), ['envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy']);
  assert.equal((listener.filter_chains![0]!.filters[0]!.typed_config as { http_filters: unknown[] }).http_filters.length, 1, 'the input is not changed');
  assert.equal(withAuthorization(listener, { http: [], network: [] }), listener);
});

test('analyze: CUSTOM, request authentication attributes, a selector that matches no workload', () => {
  const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext}
spec: {action: CUSTOM, provider: {name: opa}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jwt}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules: [{from: [{source: {requestPrincipals: ["*"]}}], when: [{key: request.auth.audiences, values: [x]}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: nobody}
spec: {selector: {matchLabels: {app: nobody}}, rules: [{}]}
`);
  const snapshot = { authorizationPolicies: list, endpoints: [{ namespace: 'foo', labels: { app: 'httpbin' } }] } as unknown as MeshSnapshot;
  const found: Problem[] = [];
  checkAuthorizationPolicies(snapshot, 'istio-system', (p) => found.push(p));
  assert.deepEqual(found.map((p) => [p.name, p.code, p.severity, p.field]), [
    ['ext', 'authz-unsupported', 'error', 'spec.action'],
    ['jwt', 'authz-unsupported', 'warning', 'spec.rules[0].from[0].source.requestPrincipals'],
    ['jwt', 'authz-unsupported', 'warning', 'spec.rules[0].when[0].key'],
    ['nobody', 'no-matching-workloads', 'warning', 'spec.selector'],
  ]);
});

test('every attribute the translator writes decodes in the meshwork proxy (HTTP and TCP)', () => {
  const list = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: wide}
spec:
  rules:
  - from:
    - source: {principals: ['*', 'a*', '*b'], notPrincipals: [x], namespaces: ['n-*'], notNamespaces: [m], ipBlocks: [10.0.0.0/8], notIpBlocks: ['::1'], remoteIpBlocks: [1.2.3.4], notRemoteIpBlocks: [5.0.0.0/8], requestPrincipals: [i/s], notRequestPrincipals: ['*'], serviceAccounts: [ns/sa]}
    to:
    - operation: {hosts: ['*', 'a.*', '*.b', c], notHosts: [d], methods: ['*', GET], notMethods: [PUT], paths: ['*', '/p*', '*.x', /e], notPaths: [/n], ports: ['80'], notPorts: ['81']}
    when:
    - {key: 'request.headers[x-a]', values: ['*', v], notValues: [w]}
    - {key: source.ip, values: [10.0.0.1]}
    - {key: remote.ip, notValues: [10.0.0.2/31]}
    - {key: source.namespace, values: [ns]}
    - {key: source.principal, values: [p]}
    - {key: destination.ip, values: [10.1.0.0/16]}
    - {key: destination.port, values: ['8000']}
    - {key: connection.sni, values: ['*.example.com']}
    - {key: 'request.auth.claims[groups]', values: [g]}
    - {key: request.auth.audiences, values: [a]}
    - {key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]', v]}
  - from: [{source: {serviceAccounts: [sleep], notServiceAccounts: [other/x]}}]
    to: [{operation: {paths: [/sa]}}]
`);
  for (const action of ['ALLOW', 'DENY', 'AUDIT'] as const) {
    const withAction = list.map((p) => ({ ...p, spec: { ...p.spec, action } }));
    assert.equal(allowed(withAction, {}), action !== 'ALLOW');
    assert.equal(allowed(withAction, { tcp: true }), action !== 'ALLOW');
  }
  // serviceAccounts without a namespace are the policy's namespace's (foo).
  assert.equal(allowed(list, { path: '/sa', principal: 'cluster.local/ns/foo/sa/sleep' }), true);
  assert.equal(allowed(list, { path: '/sa', principal: 'cluster.local/ns/bar/sa/sleep' }), false);
  assert.equal(allowed(list, { path: '/sa', principal: 'cluster.local/ns/foo/sa/sleeper' }), false);
});
