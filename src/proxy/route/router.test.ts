import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRouteTable } from '../decode/route.js';
import type { RouteTable } from '../model/route.js';
import { routeConfig } from '../testutil/envoy.js';
import type { MatchRequest } from './match.js';
import { redirectLocation, rewritePath } from './rewrite.js';
import { Router } from './router.js';
import { pickCluster } from './weighted.js';

function table(vhosts: Record<string, unknown>[]): RouteTable {
  const r = decodeRouteTable(routeConfig('t', vhosts));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value;
}

function req(authority: string, path: string, headers: Record<string, string> = {}, method = 'GET'): MatchRequest {
  return { method, authority, path, scheme: 'http', header: (n) => headers[n] };
}

const to = (cluster: string, match: Record<string, unknown> = { prefix: '/' }): Record<string, unknown> => ({ name: cluster, match, route: { cluster } });

function routed(router: Router, r: MatchRequest): string | undefined {
  const d = router.route(r);
  return d && `${d.virtualHost.name}/${d.route.name}`;
}

const plain = { stripAnyHostPort: false, stripMatchingHostPort: false, listenerPort: 80 };

test('virtual host order: exact, longest suffix wildcard, longest prefix wildcard, then *', () => {
  const router = new Router(
    table([
      { name: 'any', domains: ['*'], routes: [to('r')] },
      { name: 'suffix', domains: ['*.example.com'], routes: [to('r')] },
      { name: 'longsuffix', domains: ['*.api.example.com'], routes: [to('r')] },
      { name: 'prefix', domains: ['example.*'], routes: [to('r')] },
      { name: 'exact', domains: ['www.example.com', 'helloworld.sample:5000'], routes: [to('r')] },
    ]),
    plain,
  );
  assert.equal(routed(router, req('WWW.example.com', '/')), 'exact/r');
  assert.equal(routed(router, req('helloworld.sample:5000', '/')), 'exact/r');
  assert.equal(routed(router, req('helloworld.sample', '/')), 'any/r', 'the port is part of the host');
  assert.equal(routed(router, req('v1.api.example.com', '/')), 'longsuffix/r');
  assert.equal(routed(router, req('a.example.com', '/')), 'suffix/r');
  assert.equal(routed(router, req('example.com', '/')), 'prefix/r', '*.example.com needs at least one character');
  assert.equal(routed(router, req('other', '/')), 'any/r');
});

test('strip_matching_host_port / strip_any_host_port', () => {
  const t = table([{ name: 'h', domains: ['helloworld'], routes: [to('r')] }]);
  assert.equal(routed(new Router(t, plain), req('helloworld:80', '/')), undefined);
  assert.equal(routed(new Router(t, { ...plain, stripMatchingHostPort: true }), req('helloworld:80', '/')), 'h/r');
  assert.equal(routed(new Router(t, { ...plain, stripMatchingHostPort: true }), req('helloworld:81', '/')), undefined);
  assert.equal(routed(new Router(t, { ...plain, stripAnyHostPort: true }), req('helloworld:81', '/')), 'h/r');
});

test('route match: exact path, prefix, regex (full match), case_sensitive, headers, query parameters; first match wins', () => {
  const router = new Router(
    table([
      {
        name: 'h',
        domains: ['*'],
        routes: [
          to('exact', { path: '/hello' }),
          to('nocase', { prefix: '/CI/', case_sensitive: { value: false } }),
          to('regex', { safe_regex: { regex: '/items/[0-9]+' } }),
          to('header', { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] }),
          to('inverted', { prefix: '/inv', headers: [{ name: 'x-user', present_match: true, invert_match: true }] }),
          to('method', { prefix: '/', headers: [{ name: ':method', string_match: { exact: 'POST' } }] }),
          to('query', { prefix: '/', query_parameters: [{ name: 'debug', string_match: { exact: '1' } }] }),
          to('catchall'),
        ],
      },
    ]),
    plain,
  );
  assert.equal(routed(router, req('h', '/hello')), 'h/exact');
  assert.equal(routed(router, req('h', '/hello?x=1')), 'h/exact', 'the query is not part of the path');
  assert.equal(routed(router, req('h', '/hello/')), 'h/catchall');
  assert.equal(routed(router, req('h', '/ci/x')), 'h/nocase');
  assert.equal(routed(router, req('h', '/items/42')), 'h/regex');
  assert.equal(routed(router, req('h', '/items/42/x')), 'h/catchall', 'regex must match the whole path');
  assert.equal(routed(router, req('h', '/x', { 'x-canary': 'true' })), 'h/header');
  assert.equal(routed(router, req('h', '/inv')), 'h/inverted');
  assert.equal(routed(router, req('h', '/inv', { 'x-user': 'a' })), 'h/catchall');
  assert.equal(routed(router, req('h', '/x', {}, 'POST')), 'h/method');
  assert.equal(routed(router, req('h', '/x?debug=1')), 'h/query');
  assert.equal(routed(router, req('h', '/x?debug=2')), 'h/catchall');
});

test('weighted cluster pick follows weight / total', () => {
  const spec = { kind: 'weighted' as const, totalWeight: 100, clusters: [{ name: 'a', weight: 80, headers: { requestToAdd: [], requestToRemove: [], responseToAdd: [], responseToRemove: [] } }, { name: 'b', weight: 20, headers: { requestToAdd: [], requestToRemove: [], responseToAdd: [], responseToRemove: [] } }] };
  assert.equal(pickCluster(spec, () => 0).name, 'a');
  assert.equal(pickCluster(spec, () => 0.799).name, 'a');
  assert.equal(pickCluster(spec, () => 0.8).name, 'b');
  assert.equal(pickCluster(spec, () => 0.999999).name, 'b');
});

test('prefix rewrite and redirect location', () => {
  const match = { path: { kind: 'prefix' as const, value: '/api/' }, caseSensitive: true, headers: [], queryParams: [] };
  assert.equal(rewritePath('/api/v1?q=1', match, { prefixRewrite: '/', regexRewrite: undefined }), '/v1?q=1');
  assert.equal(
    rewritePath('/api/v1', match, { prefixRewrite: undefined, regexRewrite: { regex: /v(\d)/g, substitution: 'version$1' } }),
    '/api/version1',
  );
  const loc = redirectLocation(
    { kind: 'redirect', status: 301, scheme: 'https', host: undefined, port: undefined, path: undefined, prefixRewrite: undefined, stripQuery: true },
    { scheme: 'http', authority: 'a.example:80', path: '/p?x=1' },
    match,
  );
  assert.equal(loc, 'https://a.example/p');
});
