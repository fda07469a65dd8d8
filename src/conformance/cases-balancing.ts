// Conformance cases: DestinationRule load balancing: simple policies, consistentHash, connection pools, warmup.
// Every case is Istio YAML through the real translator; helloworld (and its subsets, where a case
// needs it) stands for three upstreams a, b, c, so that where a request lands is observable. The
// consistent-hash cases compare request by request: the meshwork proxy builds Envoy's ring and Maglev
// table with Envoy's xxHash64, so every key must land on the same host on both.

import assert from 'node:assert/strict';
import type { CaseRequest, ConformanceCase, Observation } from './case.js';
import { get, vs } from './case-builders.js';
import { fromIstio, HELLOWORLD, HELLOWORLD_V1, HELLOWORLD_V2 } from './resources.js';

const EVEN = { 'upstream:a': 1, 'upstream:b': 1, 'upstream:c': 1 };
const THREE = { [HELLOWORLD]: ['a', 'b', 'c'] };

/** The helloworld DestinationRule (subsets v1, v2) with the given trafficPolicy and subset policies. */
function dr(trafficPolicy: string, v1Policy = '', v2Policy = ''): string {
  const subset = (name: string, policy: string) => `  - name: ${name}\n    labels: {version: ${name}}\n${policy ? `    trafficPolicy: ${policy}\n` : ''}`;
  return `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy: ${trafficPolicy}
  subsets:
${subset('v1', v1Policy)}${subset('v2', v2Policy)}`;
}

const keyed = (n: number, make: (k: string) => CaseRequest): CaseRequest[] => Array.from({ length: n }, (_, i) => make(`user-${i}`));
const byHeader = (k: string): CaseRequest => get('/', { headers: { 'x-user': k } });

/** A simple policy over a, b, c: chi-square against an even split on each proxy. */
function simple(policy: string, note: string): ConformanceCase {
  return {
    name: `loadBalancer.simple ${policy} (Istio): ${note}, chi-square on each`,
    resources: () => fromIstio(dr(`{loadBalancer: {simple: ${policy}}}`), { upstreams: THREE }),
    distribution: { request: get('/spread'), count: 300, weights: EVEN },
  };
}

/** The Set-Cookie a proxy made, with the value (a hash of the connection's addresses) blanked. */
function madeCookie(o: Observation): string | null {
  const v = o.headers['set-cookie'];
  return v === undefined ? null : v.replace(/="[0-9a-f]{16}"/, '="<16 hex digits>"');
}

export const BALANCING_CASES: ConformanceCase[] = [
  simple('ROUND_ROBIN', 'each host in turn'),
  simple('LEAST_REQUEST', 'power of two choices'),
  simple('RANDOM', 'uniform'),
  {
    name: 'consistentHash httpHeaderName (Istio, ring hash 1024): every key lands on the same host on both proxies',
    resources: () => fromIstio(dr('{loadBalancer: {consistentHash: {httpHeaderName: x-user}}}'), { upstreams: THREE }),
    requests: [...keyed(24, byHeader), byHeader('user-0'), byHeader('user-1')],
    expect: (obs) => {
      assert.ok(spreadOver(obs.slice(0, 24)) >= 2, 'the keys land on more than one host');
      assert.equal(obs[24]!.upstream, obs[0]!.upstream);
      assert.equal(obs[25]!.upstream, obs[1]!.upstream);
    },
  },
  {
    name: 'consistentHash httpHeaderName with ringHash.minimumRingSize 65536: many keys spread evenly, chi-square on each',
    resources: () => fromIstio(dr('{loadBalancer: {consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 65536}}}}'), { upstreams: THREE }),
    distribution: { request: (i) => byHeader(`spread-${i}`), count: 300, weights: EVEN },
  },
  {
    name: 'consistentHash maglev (tableSize 251) on httpQueryParameterName: same key, same host on both; no key is hashed at random',
    resources: () => fromIstio(dr('{loadBalancer: {consistentHash: {httpQueryParameterName: u, maglev: {tableSize: 251}}}}'), { upstreams: THREE }),
    requests: [...keyed(20, (k) => get(`/q?u=${k}&x=1`)), get('/q?x=1&u=user-3'), get('/q?u=')],
    expect: (obs) => {
      assert.ok(spreadOver(obs.slice(0, 20)) >= 2, 'the keys land on more than one host');
      assert.equal(obs[20]!.upstream, obs[3]!.upstream, 'the parameter is found wherever it is in the query');
    },
  },
  {
    name: 'consistentHash maglev (default table 65537): many keys spread evenly, chi-square on each',
    resources: () => fromIstio(dr('{loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {}}}}'), { upstreams: THREE }),
    distribution: { request: (i) => byHeader(`maglev-${i}`), count: 300, weights: EVEN },
  },
  {
    name: 'consistentHash useSourceIp and the deprecated minimumRingSize: one client, one host, on both',
    resources: () => fromIstio(dr('{loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 4096}}}'), { upstreams: THREE }),
    requests: Array.from({ length: 6 }, (_, i) => get(`/src/${i}`)),
    expect: (obs) => assert.equal(spreadOver(obs), 1),
  },
  {
    name: 'consistentHash httpCookie with ttl and path: a cookie sent lands on the same host on both; without one, both make it (Max-Age, Path, HttpOnly)',
    resources: () => fromIstio(dr('{loadBalancer: {consistentHash: {httpCookie: {name: user, path: /app, ttl: 3600s}}}}'), { upstreams: THREE }),
    requests: [
      ...keyed(12, (k) => get('/app', { headers: { cookie: `other=1; user=${k}` } })),
      get('/app', { headers: { cookie: 'user="quoted-7"' } }),
      get('/app'),
      get('/app', { headers: { cookie: 'other=1' } }),
    ],
    expect: (obs) => {
      assert.ok(spreadOver(obs.slice(0, 12)) >= 2, 'the cookies land on more than one host');
      assert.ok(obs.slice(0, 13).every((o) => o.headers['set-cookie'] === undefined), 'a request with the cookie gets none');
      assert.ok(obs.slice(13).every((o) => o.headers['set-cookie'] !== undefined), 'a request without it gets one');
    },
    // The made cookie's value hashes the client's and the proxy's addresses, which differ between the two.
    summarize: (obs) => obs.map((o, i) => (i < 13 ? { status: o.status, upstream: o.upstream, cookie: madeCookie(o) } : { status: o.status, cookie: madeCookie(o) })),
    check: (o) => assert.ok(o.headers['set-cookie'] === undefined || /^user="[0-9a-f]{16}"; Max-Age=3600; Path=\/app; HttpOnly$/.test(o.headers['set-cookie']), o.headers['set-cookie']),
  },
  {
    name: 'consistentHash httpCookie without ttl: no cookie is made, a request without one is spread',
    resources: () => fromIstio(dr('{loadBalancer: {consistentHash: {httpCookie: {name: user}}}}'), { upstreams: THREE }),
    requests: [get('/', { headers: { cookie: 'user=u1' } }), get('/', { headers: { cookie: 'user=u2' } })],
    check: (o) => assert.equal(o.headers['set-cookie'], undefined),
  },
  {
    name: 'subset-level consistentHash wins over the top-level simple policy (Istio): the route to v1 hashes, the one to v2 does not',
    resources: () =>
      fromIstio(
        dr('{loadBalancer: {simple: RANDOM}}', '{loadBalancer: {consistentHash: {httpHeaderName: x-user}}}') +
          '---\n' +
          vs(`  - match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: helloworld, subset: v1}}]
  - route: [{destination: {host: helloworld, subset: v2}}]
`),
        { upstreams: { [HELLOWORLD_V1]: ['a', 'b', 'c'], [HELLOWORLD_V2]: ['c'] } },
      ),
    requests: [...keyed(12, (k) => get('/v1', { headers: { 'x-user': k } })), get('/v2', { headers: { 'x-user': 'user-1' } })],
    expect: (obs) => assert.ok(spreadOver(obs.slice(0, 12)) >= 2),
  },
  {
    name: 'port-level consistentHash replaces the top-level policy for port 5000 (Istio): the default route hashes on the port\'s key',
    resources: () =>
      fromIstio(dr('{loadBalancer: {simple: RANDOM}, portLevelSettings: [{port: {number: 5000}, loadBalancer: {consistentHash: {httpHeaderName: x-port-key}}}]}'), { upstreams: THREE }),
    requests: keyed(12, (k) => get('/', { headers: { 'x-port-key': k } })),
    expect: (obs) => assert.ok(spreadOver(obs) >= 2),
  },
  {
    name: 'connectionPool maxConnections 1, http1MaxPendingRequests 1: with one slow request in flight, the next waits and the third is shed (503 UO, x-envoy-overloaded)',
    resources: () => fromIstio(dr('{connectionPool: {tcp: {maxConnections: 1}, http: {http1MaxPendingRequests: 1}}}')),
    concurrent: true,
    requests: [
      get('/slow', { headers: { 'x-echo-delay-ms': '700' } }),
      get('/waits', { startAtMs: 200 }),
      get('/shed', { startAtMs: 400 }),
    ],
    expect: (obs) => {
      assert.deepEqual(obs.map((o) => o.status), [200, 200, 503]);
      assert.ok(obs[1]!.elapsedMs > 300, `the second request waited for the connection (${Math.round(obs[1]!.elapsedMs)} ms)`);
    },
    compareBody: true,
    responseHeaders: ['x-envoy-overloaded'],
    check: (o) => assert.ok(o.status === 200 || (o.status === 503 && o.headers['x-envoy-overloaded'] === 'true'), `${o.status} ${o.body}`),
  },
  {
    name: 'connectionPool http2MaxRequests 1: a second request while one is in flight is shed (503 UO), on an HTTP/1.1 cluster too',
    resources: () => fromIstio(dr('{connectionPool: {http: {http2MaxRequests: 1}}}')),
    concurrent: true,
    requests: [get('/slow', { headers: { 'x-echo-delay-ms': '600' } }), get('/shed', { startAtMs: 250 }), get('/after', { startAtMs: 900 })],
    expect: (obs) => assert.deepEqual(obs.map((o) => `${o.status} ${o.headers['x-envoy-overloaded'] ?? ''}`), ['200 ', '503 true', '200 ']),
    compareBody: true,
    responseHeaders: ['x-envoy-overloaded'],
  },
  {
    name: 'connectionPool maxRetries 1: while one retry is in progress another request\'s retry is not made (its 503 stands)',
    resources: () =>
      fromIstio(
        dr('{connectionPool: {http: {maxRetries: 1}}}') +
          '---\n' +
          vs(`  - route: [{destination: {host: helloworld}}]
    retries: {attempts: 2, retryOn: 5xx}
`),
      ),
    concurrent: true,
    requests: [
      get('/first', { headers: { 'x-echo-fail': '1:503', 'x-echo-delay-ms': '500' } }),
      get('/second', { headers: { 'x-echo-fail': '1:503', 'x-echo-delay-ms': '500' }, startAtMs: 250 }),
    ],
    expect: (obs) => assert.deepEqual(obs.map((o) => `${o.status} attempt ${o.upstreamSaw?.attempt}`), ['200 attempt 2', '503 attempt 1']),
    responseHeaders: ['x-envoy-overloaded'],
  },
  {
    name: 'connectionPool maxRequestsPerConnection 2: upstream connections are replaced after two requests',
    resources: () => fromIstio(dr('{connectionPool: {http: {maxRequestsPerConnection: 2}}}')),
    requests: Array.from({ length: 6 }, (_, i) => get(`/n/${i}`)),
    summarize: sameConnectionAsPrevious,
    expect: (obs) => assert.deepEqual((sameConnectionAsPrevious(obs) as Array<{ reused: boolean | null }>).map((r) => r.reused), [null, true, false, true, false, true]),
  },
  {
    name: 'connectionPool http.idleTimeout 1s: an upstream connection idle longer is closed, the next request opens another',
    resources: () => fromIstio(dr('{connectionPool: {http: {idleTimeout: 1s}}}')),
    concurrent: true,
    requests: [get('/1'), get('/2', { startAtMs: 300 }), get('/3', { startAtMs: 2000 }), get('/4', { startAtMs: 2200 })],
    summarize: sameConnectionAsPrevious,
    expect: (obs) => assert.deepEqual((sameConnectionAsPrevious(obs) as Array<{ reused: boolean | null }>).map((r) => r.reused), [null, true, false, true]),
  },
  {
    name: 'connectionPool h2UpgradePolicy UPGRADE: HTTP/2 to the endpoint for an HTTP/1.1 client',
    resources: () => fromIstio(dr('{connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}'), { upstreams: { [HELLOWORLD]: ['h2'] } }),
    requests: [get('/up'), get('/up', { method: 'POST', body: 'upgraded' })],
    expect: (obs) => assert.deepEqual(obs.map((o) => `${o.status} ${o.upstream}`), ['200 h2', '200 h2']),
  },
  {
    name: 'outlierDetection consecutiveGatewayErrors 2 (consecutive5xxErrors 0, maxEjectionPercent 100): a host answering 502 is ejected',
    resources: () => fromIstio(dr('{outlierDetection: {consecutiveGatewayErrors: 2, consecutive5xxErrors: 0, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 100}}'), { upstreams: { [HELLOWORLD]: ['a', 'bad-gateway'] } }),
    requests: Array.from({ length: 14 }, () => get('/')),
    summarize: ejection(2),
    expect: (obs) => assert.ok(obs.slice(-8).every((o) => o.upstream === 'a')),
  },
  {
    name: 'outlierDetection consecutiveGatewayErrors 2 (consecutive5xxErrors 0): 500 is not a gateway error, nothing is ejected',
    resources: () => fromIstio(dr('{outlierDetection: {consecutiveGatewayErrors: 2, consecutive5xxErrors: 0, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 100}}'), { upstreams: { [HELLOWORLD]: ['a', 'broken'] } }),
    requests: Array.from({ length: 12 }, () => get('/')),
    summarize: ejection(2),
    expect: (obs) => assert.equal(obs.filter((o) => o.status === 500).length, 6),
  },
  {
    name: 'warmupDurationSecs (slow_start_config): endpoints known when the cluster is made are not ramped; round robin stays even, chi-square on each',
    resources: () => fromIstio(dr('{loadBalancer: {simple: ROUND_ROBIN, warmupDurationSecs: 60s}}'), { upstreams: THREE }),
    distribution: { request: get('/warm'), count: 150, weights: EVEN },
  },
];

function spreadOver(obs: Observation[]): number {
  return new Set(obs.map((o) => o.upstream)).size;
}

/**
 * Sequential requests over a healthy host and a failing one: how many failed (Envoy ejects on its main
 * thread, so one more request may reach the host before the worker sees it: `threshold` and one more
 * are the same outcome), and who answered the last eight.
 */
function ejection(threshold: number) {
  return (obs: Observation[]): unknown => {
    const failures = obs.filter((o) => o.status >= 500).length;
    return {
      failures: failures === threshold || failures === threshold + 1 ? `ejected after ${threshold} (+1 in flight)` : failures,
      last8: obs.slice(-8).reduce<Record<string, number>>((n, o) => ({ ...n, [`${o.status} ${o.upstream}`]: (n[`${o.status} ${o.upstream}`] ?? 0) + 1 }), {}),
    };
  };
}

/** Per request after the first: did it reuse the previous request's upstream connection? */
function sameConnectionAsPrevious(obs: Observation[]): unknown {
  return obs.map((o, i) => ({ status: o.status, reused: i === 0 ? null : o.upstreamSaw?.connection === obs[i - 1]!.upstreamSaw?.connection }));
}
