// The CORS filter's decisions (Envoy's cors_filter.cc); the conformance table compares them with Envoy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CorsPolicy } from '../model/cors.js';
import { decideCors } from './cors.js';

const policy = (extra: Partial<CorsPolicy> = {}): CorsPolicy => ({
  allowOrigins: [{ kind: 'exact', value: 'https://a.example', ignoreCase: false }],
  allowMethods: undefined,
  allowHeaders: undefined,
  exposeHeaders: undefined,
  maxAge: undefined,
  allowCredentials: undefined,
  allowPrivateNetworkAccess: undefined,
  forwardNotMatchingPreflights: undefined,
  enabledFraction: 1,
  shadowFraction: 0,
  ...extra,
});
const req = (method: string, headers: Record<string, string>) => ({ method, header: (n: string) => headers[n] });

test('an allowed origin: response headers; its preflight answered with the route policy over the virtual host one', () => {
  const route = policy({ allowMethods: 'PUT', allowOrigins: [] });
  const vhost = policy({ allowMethods: 'GET', allowHeaders: '*', maxAge: '60', allowCredentials: true, exposeHeaders: 'x-e' });
  assert.deepEqual(decideCors([route, vhost], req('GET', { origin: 'https://a.example' }), Math.random), {
    response: { 'access-control-allow-origin': 'https://a.example', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-e' },
  });
  const pre = decideCors([route, vhost], req('OPTIONS', { origin: 'https://a.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-h' }), Math.random);
  assert.deepEqual(pre.preflight, {
    'access-control-allow-origin': 'https://a.example',
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'PUT',
    'access-control-allow-headers': 'x-h',
    'access-control-max-age': '60',
  });
});

test('an origin not allowed: no headers; its preflight forwarded unless forward_not_matching_preflights is false', () => {
  const preflight = req('OPTIONS', { origin: 'https://evil.example', 'access-control-request-method': 'GET' });
  assert.deepEqual(decideCors([policy()], req('GET', { origin: 'https://evil.example' }), Math.random), { response: undefined });
  assert.deepEqual(decideCors([policy()], preflight, Math.random), {});
  assert.deepEqual(decideCors([policy({ forwardNotMatchingPreflights: false })], preflight, Math.random), { preflight: {}, response: undefined });
});

test('no Origin, no policy, or filter_enabled 0: the filter does nothing', () => {
  assert.deepEqual(decideCors([policy()], req('GET', {}), Math.random), {});
  assert.deepEqual(decideCors([], req('GET', { origin: 'https://a.example' }), Math.random), {});
  assert.deepEqual(decideCors([policy({ enabledFraction: 0 })], req('GET', { origin: 'https://a.example' }), Math.random), {});
});
