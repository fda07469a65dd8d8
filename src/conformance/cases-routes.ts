// Conformance cases: VirtualService http routes beyond the basics: directResponse, corsPolicy, delegate,
// uriRegexRewrite, retries on gRPC statuses and retryRemoteLocalities, the match forms resolved at
// translation time (port, sourceNamespace, gateways) and on the wire (authority, header present and
// inverted), mirrors.

import { PROXY_HTTP_FILTERS } from '../translate/listeners.js';
import type { CaseRequest, ConformanceCase } from './case.js';
import { get, handWritten, HTTP2, vs, withHeaders, type Res } from './case-builders.js';
import { fromIstio, type CaseResources } from './resources.js';

/** The connection manager's filters as the translator writes them for sidecars and gateways: fault, CORS, router. */
const withProxyFilters = (resources: () => CaseResources) => (): CaseResources => ({ ...resources(), hcm: { http_filters: PROXY_HTTP_FILTERS as unknown as Res[] } });

const preflight = (path: string, origin: string, extra: Record<string, string> = {}): CaseRequest =>
  get(path, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-custom', ...extra } });
const fromOrigin = (path: string, origin: string, method = 'GET'): CaseRequest => get(path, { method, headers: { origin }, ...(method === 'POST' ? { body: 'cors body' } : {}) });

const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
  'content-type',
];

/** Two VirtualServices in one document stream: the root for helloworld and a delegate (no hosts). */
function delegation(root: string, delegate: string, delegateName = 'hw-delegate'): string {
  return `${vs(root)}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${delegateName}}
spec:
  http:
${delegate}`;
}

export const ROUTE_CASES: ConformanceCase[] = [
  {
    name: 'directResponse: status with a string body, base64 bytes, no body, response headers (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /string}}]
    directResponse: {status: 418, body: {string: "I am a teapot\\n"}}
  - match: [{uri: {prefix: /bytes}}]
    directResponse: {status: 200, body: {bytes: "eyJvayI6dHJ1ZX0="}}
    headers: {response: {set: {content-type: application/json, x-direct: "yes"}}}
  - match: [{uri: {prefix: /empty}}]
    directResponse: {status: 503}
  - match: [{uri: {exact: /unicode}}]
    directResponse: {status: 403, body: {string: "d\\u00e9j\\u00e0 vu"}}
  - route: [{destination: {host: helloworld, subset: v1}}]
`),
      ),
    requests: [get('/string'), get('/bytes?x=1'), get('/empty'), get('/unicode'), get('/string', { method: 'POST', body: 'ignored' }), get('/other')],
    responseHeaders: ['content-type', 'x-direct'],
    compareBody: true,
  },
  {
    name: 'rewrite: uriRegexRewrite, with authority (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /service/}}]
    rewrite: {uriRegexRewrite: {match: "^/service/([^/]+)(/.*)$", rewrite: "\\\\2/instance/\\\\1"}, authority: rewritten.test}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /strip}}]
    rewrite: {uriRegexRewrite: {match: "^/strip", rewrite: ""}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - route: [{destination: {host: helloworld, subset: v2}}]
`),
      ),
    requests: [get('/service/foo/bar?q=1'), get('/service/foo'), get('/strip/a/b'), get('/other')],
  },
  {
    name: 'corsPolicy: preflight and simple requests, exact/prefix/regex origins, credentials, expose headers, max age (Istio)',
    resources: withProxyFilters(() =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /cors}}]
    corsPolicy:
      allowOrigins: [{exact: "https://exact.example"}, {prefix: "https://prefix."}, {regex: "https://[a-z]+\\\\.regex\\\\.example"}]
      allowMethods: [GET, PUT, POST]
      allowHeaders: [x-custom, content-type]
      exposeHeaders: [x-exposed, x-upstream]
      maxAge: 24h
      allowCredentials: true
    headers: {response: {set: {x-route: cors}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /ignore}}]
    corsPolicy:
      allowOrigins: [{exact: "https://exact.example"}]
      allowMethods: ["*"]
      allowHeaders: ["*"]
      unmatchedPreflights: IGNORE
    route: [{destination: {host: helloworld, subset: v1}}]
  - route: [{destination: {host: helloworld, subset: v2}}]
`),
      ),
    ),
    requests: [
      preflight('/cors', 'https://exact.example'),
      preflight('/cors', 'https://prefix.anything'),
      preflight('/cors', 'https://abc.regex.example'),
      preflight('/cors', 'https://abc.regex.example.evil'),
      preflight('/cors', 'https://evil.example'),
      get('/cors', { method: 'OPTIONS', headers: { origin: 'https://exact.example' } }),
      fromOrigin('/cors', 'https://exact.example'),
      fromOrigin('/cors', 'https://prefix.x', 'POST'),
      fromOrigin('/cors', 'https://evil.example'),
      get('/cors'),
      withHeaders('/cors', { origin: 'https://exact.example', 'x-echo-status': '500' }),
      preflight('/ignore', 'https://exact.example'),
      preflight('/ignore', 'https://evil.example'),
      preflight('/ignore', 'https://exact.example', { 'access-control-request-headers': '' }),
      fromOrigin('/ignore', 'https://evil.example'),
      preflight('/other', 'https://exact.example'),
      fromOrigin('/other', 'https://exact.example'),
    ],
    responseHeaders: [...CORS_HEADERS, 'x-route'],
    compareBody: true,
  },
  {
    name: 'corsPolicy with a fault abort and a directResponse: the abort (fault filter first) gets no CORS headers, nor does a direct response (no route entry) (Istio)',
    resources: withProxyFilters(() =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
    corsPolicy: {allowOrigins: [{exact: "https://a.example"}], allowCredentials: false, exposeHeaders: [x-e]}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /direct}}]
    corsPolicy: {allowOrigins: [{prefix: "https://"}], allowMethods: [DELETE]}
    directResponse: {status: 202, body: {string: accepted}}
  - route: [{destination: {host: helloworld, subset: v2}}]
`),
      ),
    ),
    requests: [fromOrigin('/abort', 'https://a.example'), preflight('/abort', 'https://a.example'), fromOrigin('/direct', 'https://b.example'), preflight('/direct', 'https://b.example')],
    responseHeaders: CORS_HEADERS,
    compareBody: true,
  },
  {
    name: 'CORS filter: virtual host policy under a route policy, field by field; filter_enabled 0 (hand-written)',
    resources: () => ({
      ...handWritten(
        [
          {
            match: { prefix: '/route' },
            route: { cluster: 'a' },
            typed_per_filter_config: {
              'envoy.filters.http.cors': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy', allow_methods: 'PATCH', max_age: '60' },
            },
          },
          {
            match: { prefix: '/off' },
            route: { cluster: 'a' },
            typed_per_filter_config: {
              'envoy.filters.http.cors': {
                '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
                allow_origin_string_match: [{ exact: 'https://a.example' }],
                filter_enabled: { default_value: { numerator: 0, denominator: 'HUNDRED' } },
              },
            },
          },
          { match: { prefix: '/' }, route: { cluster: 'a' } },
        ],
        { a: ['a'] },
        {},
        {
          typed_per_filter_config: {
            'envoy.filters.http.cors': {
              '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
              allow_origin_string_match: [{ safe_regex: { regex: 'https://.*\\.example' } }],
              allow_methods: 'GET',
              allow_headers: 'x-vhost',
              expose_headers: 'x-upstream',
              allow_credentials: { value: true },
              forward_not_matching_preflights: { value: false },
            },
          },
        },
      )(),
      hcm: { http_filters: PROXY_HTTP_FILTERS as unknown as Res[] },
    }),
    requests: [
      preflight('/route', 'https://a.example'),
      preflight('/route', 'https://a.other'),
      fromOrigin('/route', 'https://a.example'),
      preflight('/vhost', 'https://b.example'),
      fromOrigin('/vhost', 'https://b.example'),
      preflight('/off', 'https://a.example'),
      fromOrigin('/off', 'https://a.example'),
    ],
    responseHeaders: CORS_HEADERS,
    compareBody: true,
  },
  {
    name: 'delegate: the root\'s match, timeout and headers merged into the delegate\'s routes (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        delegation(
          `  - match: [{uri: {prefix: /api}}]
    delegate: {name: hw-delegate}
    headers: {request: {set: {x-root: root}}}
    timeout: 5s
  - route: [{destination: {host: helloworld}}]
`,
          `  - match: [{uri: {prefix: /api/v1}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /api/v2}, headers: {x-beta: {exact: "on"}}}]
    headers: {request: {set: {x-leaf: leaf}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: helloworld, subset: v2}}]
  - route: [{destination: {host: helloworld, subset: v1}}]
`,
        ),
        { expectErrors: [] },
      ),
    requests: [get('/api/v1/x'), get('/api/v2/x'), withHeaders('/api/v2/x', { 'x-beta': 'on' }), get('/api/zzz'), get('/other'), get('/')],
  },
  {
    name: 'match: authority, header present ({}), withoutHeaders present ({} and regex "*") and by value with a missing header as empty (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - name: authority
    match: [{authority: {prefix: "helloworld.sample"}}]
    headers: {request: {set: {x-route: authority}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - name: present
    match: [{headers: {x-present: {}}}]
    headers: {request: {set: {x-route: present}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: without-present
    match: [{uri: {prefix: /w}, withoutHeaders: {x-absent: {}}}]
    headers: {request: {set: {x-route: without-present}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: without-star
    match: [{uri: {prefix: /star}, withoutHeaders: {x-star: {regex: "*"}}}]
    headers: {request: {set: {x-route: without-star}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: without-any-value
    match: [{uri: {prefix: /any}, withoutHeaders: {x-any: {regex: ".*"}}}]
    headers: {request: {set: {x-route: without-any-value}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - headers: {request: {set: {x-route: default}}}
    route: [{destination: {host: helloworld}}]
`),
      ),
    requests: [
      get('/', { host: 'helloworld.sample:5000' }),
      get('/', { host: 'helloworld.sample.svc.cluster.local:5000' }),
      withHeaders('/', { 'x-present': '' }),
      withHeaders('/', { 'x-present': 'anything' }),
      get('/w'),
      withHeaders('/w', { 'x-absent': 'here' }),
      get('/star'),
      withHeaders('/star', { 'x-star': 'x' }),
      get('/any'),
      withHeaders('/any', { 'x-any': '' }),
      withHeaders('/any', { 'x-any': 'v' }),
      get('/'),
    ],
  },
  {
    name: 'match: port, sourceNamespace, sourceLabels and gateways decided at translation for the sleep sidecar (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /port}, port: 6000}]
    headers: {request: {set: {x-route: other-port}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /port}, port: 5000}]
    headers: {request: {set: {x-route: this-port}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - match: [{uri: {prefix: /ns}, sourceNamespace: other}]
    headers: {request: {set: {x-route: other-ns}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /ns}, sourceNamespace: sample}]
    headers: {request: {set: {x-route: sample-ns}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - match: [{uri: {prefix: /labels}, sourceLabels: {app: productpage}}]
    headers: {request: {set: {x-route: other-labels}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /labels}, sourceLabels: {app: sleep}}]
    headers: {request: {set: {x-route: sleep-labels}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - match: [{uri: {prefix: /gw}, gateways: [some-gateway]}]
    headers: {request: {set: {x-route: gateway-only}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /gw}, gateways: [mesh]}]
    headers: {request: {set: {x-route: mesh}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - headers: {request: {set: {x-route: default}}}
    route: [{destination: {host: helloworld}}]
`),
      ),
    requests: [get('/port'), get('/ns'), get('/labels'), get('/gw'), get('/')],
  },
  {
    name: 'mirrors: two mirrors, each with its percentage (Istio)',
    resources: () =>
      fromIstio(
        vs(`  - route: [{destination: {host: helloworld, subset: v1}}]
    mirrors:
    - destination: {host: sleep}
      percentage: {value: 100}
    - destination: {host: helloworld, subset: v2}
      percentage: {value: 0}
`),
      ),
    shadow: 'shadow',
    requests: [get('/mirrored'), get('/post', { method: 'POST', body: 'mirrored body' })],
  },
  {
    name: 'retries: retryOn gRPC statuses (unavailable, cancelled, deadline-exceeded, resource-exhausted, internal) as Istio writes them',
    resources: handWritten(
      [
        {
          match: { prefix: '/test.Echo/', grpc: {} },
          route: {
            cluster: 'grpc',
            timeout: { seconds: 0 },
            retry_policy: { retry_on: 'unavailable,cancelled,deadline-exceeded,resource-exhausted,internal', num_retries: { value: 2 } },
          },
        },
      ],
      { grpc: ['grpc'] },
      { grpc: HTTP2 },
    ),
    requests: [
      ...[14, 1, 4, 8, 13].map((code) => ({ path: '/test.Echo/Echo', protocol: 'grpc' as const, message: `fail:${code}:1` })),
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'fail:14:2' },
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'fail:14:3' },
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'fail:5:1' },
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'fail:2:1' },
    ],
    compareBody: true,
  },
  {
    name: 'retries (Istio): retryOn with gRPC statuses and codes, retryRemoteLocalities (previous_priorities accepted by both)',
    resources: () =>
      fromIstio(
        vs(`  - route: [{destination: {host: helloworld, subset: v1}}]
    retries: {attempts: 3, retryOn: "unavailable,503,gateway-error", retryRemoteLocalities: true}
`),
      ),
    requests: [withHeaders('/', { 'x-echo-fail': '2:503' }), withHeaders('/', { 'x-echo-fail': '1:502' }), withHeaders('/', { 'x-echo-fail': '3:500' })],
  },
];

const SERVICE_ENTRIES = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: static-api}
spec:
  hosts: [api.static.test]
  location: MESH_EXTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 192.0.2.10, labels: {version: v1}, locality: region-a/zone-1}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: dns-api}
spec:
  hosts: [api.dns.test]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: DNS
  endpoints: [{address: localhost}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: logical-api}
spec:
  hosts: [api.logical.test]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: DNS_ROUND_ROBIN
  endpoints: [{address: localhost}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: selected}
spec:
  hosts: [hello.selected.test]
  ports: [{number: 5000, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: helloworld, version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: hidden}
spec:
  hosts: [api.hidden.test]
  exportTo: [other-namespace]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 192.0.2.11}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: static-api}
spec:
  hosts: [api.static.test]
  http:
  - match: [{uri: {prefix: /v1}}]
    headers: {request: {set: {x-route: static-v1}}}
    route: [{destination: {host: api.static.test}}]
  - directResponse: {status: 404, body: {string: "only /v1 here"}}
`;

ROUTE_CASES.push({
  name: 'ServiceEntry: STATIC, DNS (localhost from /etc/hosts), DNS_ROUND_ROBIN, workloadSelector, exportTo, with a VirtualService on the entry (Istio)',
  simulate: true,
  resources: () =>
    fromIstio(SERVICE_ENTRIES, {
      upstreams: {
        'outbound|80||api.static.test': ['c'],
        'outbound|8080||api.dns.test': ['local'],
        'outbound|8080||api.logical.test': ['local'],
        'outbound|5000||hello.selected.test': ['c'],
        'outbound|80||api.hidden.test': ['a'],
      },
    }),
  requests: [
    get('/v1/items', { host: 'api.static.test' }),
    get('/v2', { host: 'api.static.test' }),
    get('/x', { host: 'api.dns.test:8080' }),
    get('/y', { host: 'api.logical.test:8080' }),
    get('/hello', { host: 'hello.selected.test:5000' }),
    get('/', { host: 'api.hidden.test' }),
  ],
  compareBody: true,
});
