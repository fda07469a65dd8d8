// The conformance table: each case is config (Istio YAML through the real translator, or hand-written
// xDS where the field has no Istio spelling) plus the requests whose answers Envoy and the meshwork
// proxy must agree on. Areas with many cases live in their own cases-<area>.ts.

import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { FAULT_TYPE } from '../proxy/testutil/envoy.js';
import { RETRY_PREVIOUS_HOSTS } from '../translate/http-routes.js';
import { gatewayTrust, inboundTrust } from '../translate/listeners.js';
import type { CaseRequest, ConformanceCase, Observation } from './case.js';
import { get, handWritten, HOSTILE, HTTP2, RANDOM_UNLIMITED_RETRIES, tagged, vs, withHeaders, type Res } from './case-builders.js';
import { ACCESS_LOG_CASES } from './cases-access-log.js';
import { AUTHZ_CASES } from './cases-authz.js';
import { BALANCING_CASES } from './cases-balancing.js';
import { L4_CASES } from './cases-l4.js';
import { LOCALITY_CASES } from './cases-locality.js';
import { ROUTE_CASES } from './cases-routes.js';
import { SIDECAR_CASES } from './cases-sidecar.js';
import { TLS_CASES } from './cases-tls.js';
import { clustersOf, fromIstio } from './resources.js';

export const CASES: ConformanceCase[] = [
  {
    name: 'path: exact, prefix, regex, ignoreUriCase (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - name: exact
    match: [{uri: {exact: /exact}}]
    headers: {request: {set: {x-route: exact}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - name: regex
    match: [{uri: {regex: "/re/[0-9]+"}}]
    headers: {request: {set: {x-route: regex}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - name: nocase
    match: [{uri: {prefix: /Upper}, ignoreUriCase: true}]
    headers: {request: {set: {x-route: nocase}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: nocase-exact
    match: [{uri: {exact: /Mixed/Exact}, ignoreUriCase: true}]
    headers: {request: {set: {x-route: nocase-exact}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: prefix
    match: [{uri: {prefix: /pre}}]
    headers: {request: {set: {x-route: prefix}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: default
    headers: {request: {set: {x-route: default}}}
    route: [{destination: {host: helloworld}}]
`),
      ),
    requests: [
      '/exact', '/exact/', '/exact?x=1', '/EXACT', '/exactly', '/re/12', '/re/12?q=/re/x', '/re/x', '/re/12/', '/RE/12',
      '/upper', '/UPPER/x', '/Upperx', '/mixed/exact', '/MIXED/EXACT/', '/pre', '/prefix/y', '/Pre', '/', '/other',
    ].map((p) => get(p)),
  },
  {
    name: 'path: hand-written prefix, path, safe_regex, path_separated_prefix and case_sensitive false',
    simulate: true,
    resources: handWritten([
      tagged('exact-nocase', { path: '/Exact', case_sensitive: { value: false } }),
      tagged('regex-nocase', { safe_regex: { regex: '/api/v[0-9]+/.*' }, case_sensitive: { value: false } }),
      tagged('separated', { path_separated_prefix: '/sep' }),
      tagged('prefix', { prefix: '/p' }),
      tagged('catch-all', { prefix: '/' }),
    ]),
    requests: ['/exact', '/EXACT?a=b', '/api/v1/x', '/API/V2/y', '/api/vx/y', '/sep', '/sep/', '/sep/a', '/sepx', '/seP/a', '/p', '/px', '/P'].map((p) => ({ path: p })),
  },
  {
    name: 'headers: exact, prefix, regex, withoutHeaders (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - name: exact
    match: [{headers: {end-user: {exact: jason}}}]
    headers: {request: {set: {x-route: exact}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - name: prefix
    match: [{headers: {x-prefix: {prefix: ab}}}]
    headers: {request: {set: {x-route: prefix}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - name: regex
    match: [{headers: {x-re: {regex: "v[0-9]+"}}}]
    headers: {request: {set: {x-route: regex}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: without
    match: [{uri: {prefix: /without}, withoutHeaders: {x-skip: {exact: "yes"}}}]
    headers: {request: {set: {x-route: without}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: default
    headers: {request: {set: {x-route: default}}}
    route: [{destination: {host: helloworld}}]
`),
      ),
    requests: [
      withHeaders('/', { 'end-user': 'jason' }),
      withHeaders('/', { 'end-user': 'Jason' }),
      withHeaders('/', { 'end-user': 'jason2' }),
      withHeaders('/', { 'x-prefix': 'abc' }),
      withHeaders('/', { 'x-prefix': 'xab' }),
      withHeaders('/', { 'x-re': 'v12' }),
      withHeaders('/', { 'x-re': 'v12x' }),
      withHeaders('/', { 'x-re': 'xv1' }),
      withHeaders('/without', {}),
      withHeaders('/without', { 'x-skip': 'yes' }),
      withHeaders('/without', { 'x-skip': 'no' }),
    ],
  },
  {
    name: 'headers: suffix, contains, present, absent, invert, ignore_case, range (hand-written)',
    simulate: true,
    resources: handWritten([
      tagged('suffix', { prefix: '/', headers: [{ name: 'x-suffix', string_match: { suffix: '.com' } }] }),
      tagged('contains', { prefix: '/', headers: [{ name: 'x-contains', string_match: { contains: 'mid' } }] }),
      tagged('nocase', { prefix: '/', headers: [{ name: 'x-nocase', string_match: { exact: 'MiXeD', ignore_case: true } }] }),
      tagged('suffix-deprecated', { prefix: '/', headers: [{ name: 'x-old-suffix', suffix_match: 'end' }] }),
      tagged('contains-deprecated', { prefix: '/', headers: [{ name: 'x-old-contains', contains_match: 'in' }] }),
      tagged('range', { prefix: '/', headers: [{ name: 'x-range', range_match: { start: 10, end: 20 } }] }),
      tagged('present', { prefix: '/present', headers: [{ name: 'x-present', present_match: true }] }),
      tagged('absent', { prefix: '/absent', headers: [{ name: 'x-absent', present_match: false }] }),
      tagged('inverted', { prefix: '/invert', headers: [{ name: 'x-inv', string_match: { exact: 'no' }, invert_match: true }] }),
      tagged('method-header', { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'PATCH' } }] }),
      tagged('authority-header', { prefix: '/', headers: [{ name: ':authority', string_match: { prefix: 'auth.' } }] }),
      tagged('catch-all', { prefix: '/' }),
    ]),
    requests: [
      { path: '/', headers: { 'x-suffix': 'example.com' } },
      { path: '/', headers: { 'x-suffix': 'example.org' } },
      { path: '/', headers: { 'x-suffix': 'EXAMPLE.COM' } },
      { path: '/', headers: { 'x-contains': 'a-mid-b' } },
      { path: '/', headers: { 'x-contains': 'MID' } },
      { path: '/', headers: { 'x-nocase': 'mixed' } },
      { path: '/', headers: { 'x-nocase': 'mixedx' } },
      { path: '/', headers: { 'x-old-suffix': 'the end' } },
      { path: '/', headers: { 'x-old-contains': 'within' } },
      { path: '/', headers: { 'x-range': '10' } },
      { path: '/', headers: { 'x-range': '20' } },
      { path: '/', headers: { 'x-range': '-5' } },
      { path: '/', headers: { 'x-range': '15x' } },
      { path: '/present', headers: { 'x-present': '' } },
      { path: '/present', headers: {} },
      { path: '/absent', headers: {} },
      { path: '/absent', headers: { 'x-absent': '1' } },
      { path: '/invert', headers: { 'x-inv': 'yes' } },
      { path: '/invert', headers: { 'x-inv': 'no' } },
      { path: '/invert', headers: {} },
      { path: '/', method: 'PATCH' },
      { path: '/', host: 'auth.example' },
    ],
  },
  {
    name: 'query parameters: exact, regex (Istio); present, prefix (hand-written)',
    simulate: true,
    resources: () => {
      const istio = fromIstio(
        vs(`  - name: exact
    match: [{queryParams: {debug: {exact: "1"}}}]
    headers: {request: {set: {x-route: exact}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - name: regex
    match: [{queryParams: {id: {regex: "[0-9]+"}}}]
    headers: {request: {set: {x-route: regex}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: default
    headers: {request: {set: {x-route: default}}}
    route: [{destination: {host: helloworld}}]
`),
      );
      const vhosts = (istio.routes[0]!['virtual_hosts'] as Res[]).concat({
        name: 'hand',
        domains: ['hand.test'],
        routes: [
          tagged('present', { prefix: '/', query_parameters: [{ name: 'flag', present_match: true }] }, 'outbound|5000||helloworld.sample.svc.cluster.local'),
          tagged('prefix', { prefix: '/', query_parameters: [{ name: 'q', string_match: { prefix: 'ab' } }] }, 'outbound|5000||helloworld.sample.svc.cluster.local'),
          tagged('catch-all', { prefix: '/' }, 'outbound|5000||helloworld.sample.svc.cluster.local'),
        ],
      });
      return { ...istio, routes: [{ ...istio.routes[0]!, virtual_hosts: vhosts }] };
    },
    requests: [
      get('/?debug=1'),
      get('/?debug=10'),
      get('/?x=1&debug=1'),
      get('/?debug=1&debug=2'),
      get('/?Debug=1'),
      get('/?debug=%31'),
      get('/?id=42'),
      get('/?id=42a'),
      get('/?id='),
      get('/x?debug'),
      { path: '/?flag', host: 'hand.test' },
      { path: '/?flag=', host: 'hand.test' },
      { path: '/?q=abc', host: 'hand.test' },
      { path: '/?q=xab', host: 'hand.test' },
      { path: '/', host: 'hand.test' },
    ],
  },
  {
    name: 'method: exact and regex (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - name: get
    match: [{method: {exact: GET}}]
    headers: {request: {set: {x-route: get}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - name: writes
    match: [{method: {regex: "PUT|POST"}}]
    headers: {request: {set: {x-route: writes}}}
    route: [{destination: {host: helloworld, subset: v2}}]
  - name: default
    headers: {request: {set: {x-route: default}}}
    route: [{destination: {host: helloworld}}]
`),
      ),
    requests: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'].map((method) => get('/m', { method, ...(method === 'POST' || method === 'PUT' ? { body: 'payload' } : {}) })),
  },
  {
    name: 'weighted clusters 70/30 (Istio), chi-square on each',
    resources: () =>
      fromIstio(
        vs(`  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 70}
    - {destination: {host: helloworld, subset: v2}, weight: 30}
`),
      ),
    distribution: { request: get('/w'), count: 400, weights: { 'upstream:b': 70, 'upstream:c': 30 } },
  },
  {
    name: 'a canary share to a subset that does not exist (Istio keeps the route): that share is 503 NC, chi-square on each',
    resources: () =>
      fromIstio(
        vs(`  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 80}
    - {destination: {host: helloworld, subset: v3}, weight: 20}
`),
        { expectErrors: ['unknown-subset'] },
      ),
    distribution: { request: get('/w'), count: 300, weights: { 'upstream:b': 80, 'status:503': 20 } },
  },
  {
    name: 'subsets: a header picks v2, the rest v1 (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - match: [{headers: {x-version: {exact: v2}}}]
    route: [{destination: {host: helloworld, subset: v2}}]
  - route: [{destination: {host: helloworld, subset: v1}}]
`),
      ),
    requests: [get('/'), withHeaders('/', { 'x-version': 'v2' }), withHeaders('/', { 'x-version': 'v3' })],
  },
  {
    name: 'a route to a cluster that does not exist: 503 NC',
    simulate: true,
    resources: handWritten([tagged('missing', { prefix: '/missing' }, 'no-such-cluster'), tagged('empty', { prefix: '/empty' }, 'empty'), tagged('ok', { prefix: '/' })], { a: ['a'], empty: [] }),
    requests: [{ path: '/missing' }, { path: '/empty' }, { path: '/' }],
    compareBody: true,
    responseHeaders: ['content-type'],
  },
  {
    name: 'no route: 404 for an unknown host and an unmatched path',
    simulate: true,
    resources: () => ({
      routes: [{ name: 'http_proxy', virtual_hosts: [{ name: 'only', domains: ['known.test', '*.wild.test'], routes: [tagged('only', { prefix: '/known' })] }] }],
      ...clustersOf({ a: ['a'] }),
    }),
    requests: [{ path: '/known', host: 'known.test' }, { path: '/other', host: 'known.test' }, { path: '/known', host: 'unknown.test' }, { path: '/known', host: 'x.wild.test' }, { path: '/known', host: 'wild.test' }, { path: '/known', host: 'KNOWN.test' }],
    compareBody: true,
  },
  {
    name: 'retries: retry_on 5xx, gateway-error, retriable-status-codes against an upstream that fails N times',
    resources: handWritten([
      tagged('5xx', { prefix: '/5xx' }, 'a', { retry_policy: { retry_on: '5xx', num_retries: { value: 2 } } }),
      tagged('gateway', { prefix: '/gateway' }, 'a', { retry_policy: { retry_on: 'gateway-error', num_retries: { value: 2 } } }),
      tagged('codes', { prefix: '/codes' }, 'a', { retry_policy: { retry_on: 'retriable-status-codes', retriable_status_codes: [418], num_retries: { value: 3 } } }),
      tagged('none', { prefix: '/' }),
    ]),
    requests: [
      { path: '/5xx', headers: { 'x-echo-fail': '2:500' } },
      { path: '/5xx', headers: { 'x-echo-fail': '3:503' } },
      { path: '/gateway', headers: { 'x-echo-fail': '1:502' } },
      { path: '/gateway', headers: { 'x-echo-fail': '1:500' } },
      { path: '/codes', headers: { 'x-echo-fail': '3:418' } },
      { path: '/codes', headers: { 'x-echo-fail': '1:419' } },
      { path: '/', headers: { 'x-echo-fail': '1:503' } },
      { path: '/5xx', method: 'POST', body: 'retried body', headers: { 'x-echo-fail': '1:500' } },
    ],
  },
  // Random picks over a failing and a working host: a retry without a host predicate lands on the
  // failing one again half the time (1/4 of the requests fail); with previous_hosts it re-selects.
  // (Unlimited concurrent retries, as Istio's clusters have: Envoy's default of 3 would drop some.)
  {
    name: 'retries: without a host predicate a retry may pick the failing host again (random: 3/4 answered by a)',
    resources: handWritten([tagged('retry', { prefix: '/' }, 'mixed', { retry_policy: { retry_on: '5xx', num_retries: { value: 1 } } })], { mixed: ['broken', 'a'] }, { mixed: RANDOM_UNLIMITED_RETRIES }),
    distribution: { request: { path: '/' }, count: 400, weights: { 'upstream:a': 75, 'upstream:broken': 25 } },
  },
  {
    name: 'retries: previous_hosts re-selects away from the failing host (random picks, host_selection_retry_max_attempts 30)',
    resources: handWritten(
      [tagged('retry', { prefix: '/' }, 'mixed', { retry_policy: { retry_on: '5xx', num_retries: { value: 1 }, retry_host_predicate: [RETRY_PREVIOUS_HOSTS], host_selection_retry_max_attempts: 30 } })],
      { mixed: ['broken', 'a'] },
      { mixed: RANDOM_UNLIMITED_RETRIES },
    ),
    requests: Array.from({ length: 40 }, () => ({ path: '/' })),
  },
  {
    name: 'retries (Istio): attempts and retryOn',
    resources: () =>
      fromIstio(
        vs(`  - route: [{destination: {host: helloworld, subset: v1}}]
    retries: {attempts: 2, retryOn: "5xx"}
`),
      ),
    requests: [withHeaders('/', { 'x-echo-fail': '2:500' }), withHeaders('/', { 'x-echo-fail': '3:500' })],
  },
  {
    name: 'timeouts: route timeout and per-try timeout answer 504',
    resources: handWritten([
      tagged('route-timeout', { prefix: '/route' }, 'a', { timeout: { nanos: 300_000_000 } }),
      tagged('per-try', { prefix: '/per-try' }, 'a', { timeout: { seconds: 3 }, retry_policy: { retry_on: '5xx', num_retries: { value: 1 }, per_try_timeout: { nanos: 200_000_000 } } }),
      tagged('ok', { prefix: '/' }, 'a', { timeout: { seconds: 3 } }),
    ]),
    requests: [
      { path: '/route', headers: { 'x-echo-delay-ms': '600' } },
      { path: '/per-try', headers: { 'x-echo-delay-ms': '500' } },
      { path: '/', headers: { 'x-echo-delay-ms': '50' } },
    ],
    compareBody: true,
  },
  {
    name: 'timeout (Istio): 504 after the route timeout',
    resources: () => fromIstio(vs(`  - route: [{destination: {host: helloworld, subset: v1}}]\n    timeout: 0.3s\n`)),
    requests: [withHeaders('/', { 'x-echo-delay-ms': '600' }), get('/')],
    compareBody: true,
  },
  {
    name: 'fault abort 100% and delay (Istio)',
    resources: () =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /delay}}]
    fault: {delay: {fixedDelay: 0.3s, percentage: {value: 100}}}
    route: [{destination: {host: helloworld, subset: v1}}]
  - route: [{destination: {host: helloworld, subset: v2}}]
`),
      ),
    requests: [get('/abort'), get('/delay'), get('/')],
    compareBody: true,
    check(o: Observation) {
      if (o.upstreamSaw?.path === '/delay') assert.ok(o.elapsedMs >= 280, `delayed by the fault: ${o.elapsedMs} ms`);
    },
  },
  {
    name: 'fault abort 50% (Istio), chi-square on each',
    resources: () =>
      fromIstio(
        vs(`  - fault: {abort: {httpStatus: 503, percentage: {value: 50}}}
    route: [{destination: {host: helloworld, subset: v1}}]
`),
      ),
    distribution: { request: get('/'), count: 300, weights: { 'upstream:b': 50, 'status:503': 50 } },
  },
  {
    name: 'request mirror: the shadow gets the copy with the -shadow host suffix (Istio)',
    resources: () =>
      fromIstio(
        vs(`  - route: [{destination: {host: helloworld, subset: v1}}]
    mirror: {host: sleep}
    mirrorPercentage: {value: 100}
    timeout: 5s
    headers: {request: {set: {x-set: route}}}
`),
      ),
    shadow: 'shadow',
    requests: [get('/mirrored?x=1'), get('/post', { method: 'POST', body: 'mirrored body' })],
  },
  {
    name: 'header manipulation: request and response add, set, remove (Istio)',
    resources: () =>
      fromIstio(
        vs(`  - headers:
      request: {set: {x-set: route}, add: {x-add: route}, remove: [x-drop]}
      response: {set: {x-resp-set: route}, add: {x-resp-add: route}, remove: [x-upstream-only]}
    route:
    - destination: {host: helloworld, subset: v1}
      headers: {request: {set: {x-dest: v1}}, response: {add: {x-resp-dest: v1}}}
`),
      ),
    requests: [get('/'), withHeaders('/', { 'x-set': 'client', 'x-add': 'client', 'x-drop': 'client', 'x-keep': 'client' })],
    responseHeaders: ['x-resp-set', 'x-resp-add', 'x-resp-dest', 'x-upstream-only', 'x-upstream'],
  },
  {
    name: 'header manipulation: append actions at route table, virtual host and route level (hand-written)',
    resources: () => ({
      routes: [
        {
          name: 'http_proxy',
          request_headers_to_add: [{ header: { key: 'x-level', value: 'table' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }],
          response_headers_to_add: [{ header: { key: 'x-resp-level', value: 'table' } }],
          virtual_hosts: [
            {
              name: 'all',
              domains: ['*'],
              request_headers_to_add: [{ header: { key: 'x-level', value: 'vhost' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' }],
              response_headers_to_add: [{ header: { key: 'x-resp-level', value: 'vhost' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
              routes: [
                {
                  match: { prefix: '/' },
                  route: { cluster: 'a' },
                  request_headers_to_add: [
                    { header: { key: 'x-level', value: 'route' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
                    { header: { key: 'x-absent', value: 'route' }, append_action: 'ADD_IF_ABSENT' },
                    { header: { key: 'x-legacy', value: 'route' }, append: { value: false } },
                  ],
                  request_headers_to_remove: ['x-remove-me'],
                  response_headers_to_add: [{ header: { key: 'x-resp-route', value: 'route' }, append_action: 'ADD_IF_ABSENT' }],
                  response_headers_to_remove: ['x-upstream-only'],
                },
              ],
            },
          ],
        },
      ],
      ...clustersOf({ a: ['a'] }),
    }),
    requests: [{ path: '/' }, { path: '/', headers: { 'x-level': 'client', 'x-absent': 'client', 'x-legacy': 'client', 'x-remove-me': 'client' } }],
    responseHeaders: ['x-resp-level', 'x-resp-route', 'x-upstream-only'],
  },
  {
    name: 'redirect: 301 with uri and authority, 302 (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: example.com, redirectCode: 301}
  - match: [{uri: {prefix: /found}}]
    redirect: {uri: /there}
  - route: [{destination: {host: helloworld, subset: v1}}]
`),
      ),
    requests: [get('/old'), get('/old/page?q=1'), get('/found?x=y')],
    responseHeaders: ['location', 'content-length'],
    compareBody: true,
  },
  {
    name: 'redirect: scheme, https, port, prefix_rewrite, strip_query, codes (hand-written)',
    simulate: true,
    resources: handWritten([
      { match: { prefix: '/https' }, redirect: { https_redirect: true } },
      { match: { prefix: '/scheme' }, redirect: { scheme_redirect: 'https', port_redirect: 8443 } },
      { match: { prefix: '/host' }, redirect: { host_redirect: 'other.test', response_code: 'TEMPORARY_REDIRECT' } },
      { match: { prefix: '/port' }, redirect: { port_redirect: 9090, response_code: 'PERMANENT_REDIRECT' } },
      { match: { prefix: '/prefix/' }, redirect: { prefix_rewrite: '/moved/', response_code: 'SEE_OTHER' } },
      { match: { prefix: '/strip' }, redirect: { path_redirect: '/stripped', strip_query: true, response_code: 'FOUND' } },
      { match: { prefix: '/pathq' }, redirect: { path_redirect: '/new?a=b' } },
      { match: { prefix: '/path' }, redirect: { path_redirect: '/new' } },
    ]),
    requests: [
      { path: '/https?a=1' },
      { path: '/https', host: 'example.test:8080' },
      { path: '/scheme/x' },
      { path: '/host/y?z=1', host: 'example.test:8080' },
      { path: '/port', host: 'example.test:8080' },
      { path: '/prefix/a/b?c=d' },
      { path: '/strip?q=1' },
      { path: '/https', host: 'example.test:80' },
      { path: '/https', host: 'example.test:443' },
      { path: '/scheme', host: 'example.test:8080' },
      { path: '/host', host: 'example.test' },
      { path: '/host', host: 'example.test:80' },
      { path: '/pathq?x=1' },
      { path: '/path?x=1', host: 'Example.TEST:8080' },
    ],
    responseHeaders: ['location'],
    compareBody: true,
  },
  {
    name: 'rewrite: uri prefix and authority (Istio)',
    simulate: true,
    resources: () =>
      fromIstio(
        vs(`  - match: [{uri: {prefix: /api/}}]
    rewrite: {uri: /v2/, authority: backend.internal}
    route: [{destination: {host: helloworld, subset: v1}}]
  - match: [{uri: {prefix: /root}}]
    rewrite: {uri: /}
    route: [{destination: {host: helloworld, subset: v1}}]
  - route: [{destination: {host: helloworld, subset: v2}}]
`),
      ),
    requests: [get('/api/users?id=1'), get('/api/'), get('/root'), get('/root/x'), get('/rootx'), get('/other')],
  },
  {
    name: 'rewrite: prefix_rewrite, regex_rewrite, host_rewrite_literal (hand-written)',
    simulate: true,
    resources: handWritten([
      tagged('regex', { prefix: '/re/' }, 'a', { regex_rewrite: { pattern: { regex: '^/re/([a-z]+)/([0-9]+)' }, substitution: '/\\2/\\1' } }),
      tagged('prefix-exact', { path: '/exact' }, 'a', { prefix_rewrite: '/rewritten', host_rewrite_literal: 'literal.test' }),
      tagged('prefix', { prefix: '/strip/' }, 'a', { prefix_rewrite: '/' }),
    ]),
    requests: [{ path: '/re/abc/123/rest?q=1' }, { path: '/exact?y=2' }, { path: '/strip/a/b' }, { path: '/strip/' }],
  },
  ...[
    ['default max_ejection_percent (10%): a 2-host cluster ejects nothing', {}],
    ['max_ejection_percent 50: the broken host is ejected, traffic moves', { max_ejection_percent: { value: 50 } }],
    ['always_eject_one_host: the broken host is ejected despite 10%', { always_eject_one_host: { value: true } }],
  ].map(([label, extra], i): ConformanceCase => ({
    name: `outlier detection, consecutive_5xx 3: ${label as string}`,
    resources: handWritten([tagged('all', { prefix: '/' }, `pair-${i}`)], { [`pair-${i}`]: ['a', 'broken'] }, {
      [`pair-${i}`]: { outlier_detection: { consecutive_5xx: { value: 3 }, interval: { seconds: 10 }, base_ejection_time: { seconds: 30 }, ...(extra as Res) } },
    }),
    requests: Array.from({ length: 16 }, () => ({ path: '/' })),
    // Whichever host round robin starts with: how many failed, and who answered the last 8. Envoy ejects on
    // its main thread after the 3rd consecutive 5xx: one more request may reach the host before the
    // worker sees the ejection, so 3 and 4 failures are the same outcome (seen from Envoy in both forms).
    summarize: (obs) => {
      const failures = obs.filter((o) => o.status === 500).length;
      return {
        failures: failures === 3 || failures === 4 ? 'ejected after 3 (+1 in flight)' : failures,
        last8: obs.slice(-8).reduce<Record<string, number>>((n, o) => ({ ...n, [`${o.status} ${o.upstream}`]: (n[`${o.status} ${o.upstream}`] ?? 0) + 1 }), {}),
      };
    },
  })),
  {
    name: 'h2c: HTTP/2 downstream and upstream (hand-written)',
    resources: handWritten([tagged('h2', { prefix: '/h2' }, 'h2', { retry_policy: { retry_on: '5xx', num_retries: { value: 1 } } }), tagged('h1', { prefix: '/' })], { h2: ['h2'], a: ['a'] }, { h2: HTTP2 }),
    requests: [
      { path: '/h2/x?y=1', protocol: 'h2c', headers: { 'x-h': 'v' } },
      { path: '/h2/post', protocol: 'h2c', method: 'POST', body: 'h2 body', headers: { 'x-echo-fail': '1:503' } },
      { path: '/h1', protocol: 'h2c' },
      { path: '/h2/from-h1' },
    ],
  },
  {
    name: 'gRPC: unary calls, grpc-status returned, gRPC fault abort (hand-written)',
    resources: handWritten(
      [
        {
          match: { prefix: '/', headers: [{ name: 'x-fault', present_match: true }], grpc: {} },
          route: { cluster: 'grpc' },
          typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { grpc_status: 14, percentage: { numerator: 100 } } } },
        },
        { match: { prefix: '/test.Echo/', grpc: {} }, route: { cluster: 'grpc', timeout: { seconds: 0 } } },
      ],
      { grpc: ['grpc'] },
      { grpc: HTTP2 },
    ),
    requests: [
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'hello' },
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'fail:5' },
      { path: '/test.Echo/Echo', protocol: 'grpc', message: 'hi', headers: { 'x-fault': '1' } },
      { path: '/test.Echo/Echo', protocol: 'h2c' },
    ],
    compareBody: true,
  },
  ...trustCases(),
  ...ROUTE_CASES,
  ...ACCESS_LOG_CASES,
  ...BALANCING_CASES,
  ...LOCALITY_CASES,
  ...L4_CASES,
  ...SIDECAR_CASES,
  ...AUTHZ_CASES,
  ...TLS_CASES,
];


/**
 * The trust boundary of a listener: x-forwarded-client-cert from a client (no TLS here: removed by every
 * mode but ALWAYS_FORWARD_ONLY), x-forwarded-for appended and trusted hops, x-envoy-external-address,
 * x-envoy-internal and the x-envoy-* headers only internal requests keep. The echo shows what the
 * upstream saw, every header compared.
 */
function trustCases(): ConformanceCase[] {
  const withHcm = (hcm: Res) => () => ({ ...handWritten([tagged('all', { prefix: '/' })])(), hcm });
  const xff = (value: string, extra: Record<string, string> = {}): CaseRequest => ({ path: '/', headers: { 'x-forwarded-for': value, ...extra } });
  const common: CaseRequest[] = [
    { path: '/' },
    { path: '/', headers: HOSTILE },
    xff('203.0.113.7'),
    xff('203.0.113.7, 198.51.100.2', HOSTILE),
    xff('192.0.2.1,203.0.113.7, 198.51.100.2'),
    xff('not-an-address'),
    xff(''),
  ];
  const loopback = { cidr_ranges: [{ address_prefix: '127.0.0.0', prefix_len: { value: 8 } }] };
  return [
    { name: 'trust boundary: default HCM (a sidecar outbound listener)', resources: withHcm({}), requests: common },
    // A gateway's HCM from its ProxyConfig gatewayTopology (proxy.istio.io/config): the client is the
    // numTrustedProxies-th x-forwarded-for entry from the right (what the proxies in front appended),
    // else the peer; that is x-envoy-external-address, never what the client itself claimed.
    ...[0, 1, 2].map((hops): ConformanceCase => ({
      name: `trust boundary: the gateway HCM the translator writes for gatewayTopology.numTrustedProxies ${hops} (SANITIZE_SET)`,
      resources: withHcm(gatewayTrust({ numTrustedProxies: hops }) as Res),
      requests: [...common, xff('192.0.2.1, 203.0.113.7, 198.51.100.2, 10.0.0.1', { 'x-forwarded-proto': 'https' }), xff('198.51.100.9, 203.0.113.7', { 'x-envoy-external-address': '198.51.100.66' })],
      check: (o, target) => {
        const h = o.upstreamSaw?.headers ?? {};
        // What the client sent: every entry but the one this hop appended.
        const sent = (h['x-forwarded-for'] ?? '').split(',').map((e) => e.trim()).slice(0, -1).filter(Boolean);
        const trusted = hops > 0 ? sent[sent.length - hops] : undefined;
        const external = h['x-envoy-external-address'];
        if (trusted !== undefined && isIP(trusted) !== 0) assert.equal(external, trusted, `${target}: ${hops} trusted hops in ${h['x-forwarded-for']}`);
        else assert.ok(external !== undefined && !sent.includes(external) && external !== '198.51.100.66', `${target}: ${external} is the peer, not a claim (${h['x-forwarded-for']})`);
        assert.equal(h['x-forwarded-client-cert'], undefined, `${target}: SANITIZE_SET without a client certificate`);
      },
    })),
    {
      name: 'trust boundary: the gateway HCM the translator writes for gatewayTopology.forwardClientCertDetails ALWAYS_FORWARD_ONLY',
      resources: withHcm(gatewayTrust({ forwardClientCertDetails: 'ALWAYS_FORWARD_ONLY' }) as Res),
      requests: common,
    },
    { name: 'trust boundary: the sidecar inbound HCM the translator writes (APPEND_FORWARD)', resources: withHcm(inboundTrust() as Res), requests: common },
    ...[1, 2].map((hops): ConformanceCase => ({
      name: `trust boundary: use_remote_address with xff_num_trusted_hops ${hops}`,
      resources: withHcm({ use_remote_address: { value: true }, xff_num_trusted_hops: hops, forward_client_cert_details: 'SANITIZE' }),
      requests: [...common, xff('192.0.2.1, 203.0.113.7, 198.51.100.2, 10.0.0.1', { 'x-forwarded-proto': 'https' })],
    })),
    {
      name: 'trust boundary: internal_address_config with use_remote_address (x-envoy-internal for a peer without x-forwarded-for)',
      resources: withHcm({ use_remote_address: { value: true }, internal_address_config: loopback }),
      requests: common,
    },
    ...[0, 1].map((hops): ConformanceCase => ({
      name: `trust boundary: internal_address_config without use_remote_address, xff_num_trusted_hops ${hops}`,
      resources: withHcm({ internal_address_config: loopback, xff_num_trusted_hops: hops }),
      requests: [...common, xff('127.0.0.9', HOSTILE), xff('127.0.0.9, 127.0.0.8'), xff('10.1.1.1, 127.0.0.9'), xff(' 127.0.0.9 ')],
    })),
    {
      name: 'trust boundary: skip_xff_append, ALWAYS_FORWARD_ONLY keeps a client x-forwarded-client-cert, preserve_external_request_id',
      resources: withHcm({ use_remote_address: { value: true }, skip_xff_append: true, forward_client_cert_details: 'ALWAYS_FORWARD_ONLY', preserve_external_request_id: true }),
      requests: common,
    },
    { name: 'trust boundary: FORWARD_ONLY without TLS removes x-forwarded-client-cert', resources: withHcm({ forward_client_cert_details: 'FORWARD_ONLY' }), requests: common.slice(0, 2) },
  ];
}
