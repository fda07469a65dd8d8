// End to end through F's ADS server: endpoint churn under load, retries, timeouts, fault injection,
// HTTP/2 upstreams, route rewrites and the control plane going away and coming back.

import * as http from 'node:http';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RETRY_PREVIOUS_HOSTS } from '../translate/http-routes.js';
import { startXdsServer } from '../xds/server.js';
import { CONNECT_FAILURE_BODY } from './upstream/forward.js';
import { edsCluster, FAULT_TYPE, httpListener, loadAssignment, routeConfig } from './testutil/envoy.js';

/** Istio lifts Envoy's default max_retries (3 concurrent retries): these tests retry in parallel. */
const RETRIES_UNLIMITED = { circuit_breakers: { thresholds: [{ max_retries: { value: 4294967295 } }] } };
import { manyRequests, NODE_ID, proxyGet, startHarness, waitUntil, type Harness, type Resources } from './testutil/harness.js';
import { freePort, startUpstream, type TestUpstream } from './testutil/upstream.js';

let a: TestUpstream;
let b: TestUpstream;
let bad: TestUpstream;
let slow: TestUpstream;
let grpcish: TestUpstream;
let deadPort: number;
let port: number;
let h: Harness;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function vhost(name: string, routes: Record<string, unknown>[]): Record<string, unknown> {
  return { name, domains: [`${name}.sample:80`], routes };
}

function resources(churnEndpoints: TestUpstream[]): Resources {
  // Retries on a host not tried yet, as Istio configures every retry policy.
  const previousHosts = { retry_host_predicate: [RETRY_PREVIOUS_HOSTS], host_selection_retry_max_attempts: 5 };
  const retry5xx = { retry_on: '5xx', num_retries: { value: 2 }, ...previousHosts };
  return {
    listeners: [httpListener('outbound', '127.0.0.1', port, 'routes')],
    routes: [
      routeConfig('routes', [
        vhost('churn', [{ match: { prefix: '/' }, route: { cluster: 'churn' } }]),
        vhost('flaky', [{ match: { prefix: '/' }, route: { cluster: 'flaky', retry_policy: retry5xx } }]),
        vhost('dead', [{ match: { prefix: '/' }, route: { cluster: 'dead', retry_policy: { retry_on: 'connect-failure', num_retries: { value: 1 }, ...previousHosts } } }]),
        vhost('deadnoretry', [{ match: { prefix: '/' }, route: { cluster: 'deadonly' } }]),
        vhost('slow', [
          { match: { prefix: '/pertry' }, route: { cluster: 'slowthenfast', timeout: { seconds: 5 }, retry_policy: { retry_on: '5xx', num_retries: { value: 1 }, per_try_timeout: { nanos: 200_000_000 }, ...previousHosts } } },
          { match: { prefix: '/' }, route: { cluster: 'slow', timeout: { nanos: 200_000_000 } } },
        ]),
        vhost('fault', [
          {
            match: { prefix: '/' },
            route: { cluster: 'churn' },
            typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { http_status: 418, percentage: { numerator: 100 } } } },
          },
        ]),
        vhost('rewrite', [
          {
            match: { prefix: '/api/' },
            route: { cluster: 'churn', prefix_rewrite: '/v2/', host_rewrite_literal: 'backend.internal' },
            request_headers_to_add: [{ header: { key: 'x-mesh', value: 'yes' } }],
            response_headers_to_add: [{ header: { key: 'x-served-by', value: 'meshwork' } }],
            response_headers_to_remove: ['x-upstream'],
          },
          { match: { path: '/direct' }, direct_response: { status: 202, body: { inline_string: 'direct answer' } } },
          { match: { path: '/moved' }, redirect: { path_redirect: '/new', response_code: 'FOUND' } },
          { match: { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] }, route: { cluster: 'h2' } },
        ]),
      ]),
    ],
    clusters: [
      edsCluster('churn'),
      edsCluster('flaky', RETRIES_UNLIMITED),
      edsCluster('dead', RETRIES_UNLIMITED),
      edsCluster('deadonly', RETRIES_UNLIMITED),
      edsCluster('slow', RETRIES_UNLIMITED),
      edsCluster('slowthenfast', RETRIES_UNLIMITED),
      edsCluster('h2', { http2_protocol_options: {} }),
    ],
    endpoints: [
      loadAssignment('churn', churnEndpoints.map((u) => ({ port: u.port }))),
      loadAssignment('flaky', [{ port: bad.port }, { port: a.port }]),
      loadAssignment('dead', [{ port: deadPort }, { port: b.port }]),
      loadAssignment('deadonly', [{ port: deadPort }]),
      loadAssignment('slow', [{ port: slow.port }]),
      loadAssignment('slowthenfast', [{ port: slow.port }, { port: a.port }]),
      loadAssignment('h2', [{ port: grpcish.port }]),
    ],
  };
}

before(async () => {
  [a, b, bad, slow] = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('bad'), startUpstream('slow')]);
  grpcish = await startUpstream('h2', { http2: true });
  bad.status = 503;
  slow.delayMs = 1500;
  deadPort = await freePort();
  port = await freePort();
  h = await startHarness(resources([a, b]));
});

after(async () => {
  agent.destroy();
  await h.close();
  await Promise.all([a, b, bad, slow, grpcish].map((u) => u.close()));
});

function waitSynced(): Promise<void> {
  return waitUntil('all types SYNCED', () => {
    const types = h.xdsServer.xds.status().find((s) => s.nodeId === NODE_ID)?.types ?? {};
    return Object.values(types).length === 4 && Object.values(types).every((t) => t.state === 'SYNCED');
  });
}

test('removing an endpoint by EDS during a stream of requests loses none', async () => {
  const bBefore = b.served;
  let pushedAt = -1;
  const results = await manyRequests(400, 8, async (i) => {
    if (i === 150) {
      h.push(resources([a]));
      pushedAt = i;
    }
    return proxyGet(port, 'http://churn.sample:80/x', { agent });
  });
  assert.equal(pushedAt, 150);
  const failed = results.filter((r) => r.status !== 200);
  assert.equal(failed.length, 0, `failed: ${failed.map((f) => `${f.status} ${f.body}`).join(', ')}`);
  await waitSynced();
  assert.ok(b.served > bBefore, 'b served before its removal');
  const bAfter = b.served;
  await manyRequests(50, 8, () => proxyGet(port, 'http://churn.sample:80/x', { agent }));
  assert.equal(b.served, bAfter, 'no request reaches a removed endpoint');
  h.push(resources([a, b]));
  await waitSynced();
});

test('retry_on 5xx moves to another endpoint: every request succeeds', async () => {
  const badBefore = bad.served;
  const results = await manyRequests(40, 4, () => proxyGet(port, 'http://flaky.sample:80/x', { agent }));
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
  assert.ok(results.every((r) => r.body.startsWith('a ')));
  assert.ok(bad.served > badBefore, 'the failing endpoint was tried');
  const prom = await h.proxy.stats.text();
  assert.match(prom, /envoy_cluster_upstream_rq_retry\{envoy_cluster_name="flaky"\} [1-9]/);
});

test('connect failures: retried with connect-failure, else 503 with Envoy body', async () => {
  const results = await manyRequests(20, 4, () => proxyGet(port, 'http://dead.sample:80/x', { agent }));
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
  const res = await proxyGet(port, 'http://deadnoretry.sample:80/x', { agent });
  assert.equal(res.status, 503);
  assert.equal(res.body, CONNECT_FAILURE_BODY);
  assert.match(res.body, /^upstream connect error or disconnect\/reset before headers/);
});

test('route timeout answers 504; per_try_timeout retries on another endpoint', async () => {
  const res = await proxyGet(port, 'http://slow.sample:80/x', { agent });
  assert.equal(res.status, 504);
  assert.equal(res.body, 'upstream request timeout');
  const results = await manyRequests(6, 3, () => proxyGet(port, 'http://slow.sample:80/pertry', { agent }));
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
  assert.ok(results.every((r) => r.body.startsWith('a ')), results.map((r) => r.body).join('|'));
});

test('fault abort from typed_per_filter_config', async () => {
  const before = a.served + b.served;
  const res = await proxyGet(port, 'http://fault.sample:80/x', { agent });
  assert.equal(res.status, 418);
  assert.equal(res.body, 'fault filter abort');
  assert.equal(a.served + b.served, before, 'an aborted request never reaches the upstream');
});

test('prefix_rewrite, host_rewrite_literal, header mutations, direct response, redirect', async () => {
  const res = await proxyGet(port, 'http://rewrite.sample:80/api/items?q=1', { agent });
  assert.equal(res.status, 200);
  assert.match(res.body, / GET \/v2\/items\?q=1$/);
  assert.equal(res.headers['x-served-by'], 'meshwork');
  assert.equal(res.headers['x-upstream'], undefined);
  const seen = [a, b].map((u) => u.lastHeaders).find((hd) => hd?.['x-mesh'] === 'yes');
  assert.equal(seen?.['host'], 'backend.internal');
  const direct = await proxyGet(port, 'http://rewrite.sample:80/direct', { agent });
  assert.equal(direct.status, 202);
  assert.equal(direct.body, 'direct answer');
  const moved = await proxyGet(port, 'http://rewrite.sample:80/moved', { agent });
  assert.equal(moved.status, 302);
  assert.equal(moved.headers['location'], 'http://rewrite.sample:80/new');
});

test('a header match routes to an HTTP/2 upstream cluster', async () => {
  const res = await proxyGet(port, 'http://rewrite.sample:80/hello', { agent, headers: { 'x-canary': 'true' } });
  assert.equal(res.status, 200);
  assert.match(res.body, /^h2 GET \/hello$/);
  assert.equal(grpcish.lastHeaders?.[':authority'], 'rewrite.sample:80');
  const plain = await proxyGet(port, 'http://rewrite.sample:80/hello', { agent });
  assert.equal(plain.status, 404, 'no route without the header');
});

test('the proxy keeps serving while the control plane is down, and reconnects', async () => {
  const xdsPort = h.xdsServer.port;
  let reconnected = 0;
  const off = h.proxy.xds.onEvent((e) => {
    if (e.kind === 'connected') reconnected++;
  });
  await h.xdsServer.close();
  await waitUntil('disconnect noticed', () => !h.proxy.xds.connected);
  const res = await proxyGet(port, 'http://churn.sample:80/x', { agent });
  assert.equal(res.status, 200, 'last good config still serves');
  const again = await startXdsServer({ host: '127.0.0.1', port: xdsPort, cache: h.cache, log: () => undefined });
  try {
    await waitUntil('reconnected', () => reconnected > 0, 8000);
    await waitUntil('synced with the new server', () => {
      const types = again.xds.status().find((s) => s.nodeId === NODE_ID)?.types ?? {};
      return Object.values(types).length === 4 && Object.values(types).every((t) => t.state === 'SYNCED');
    });
    assert.equal((await proxyGet(port, 'http://churn.sample:80/x', { agent })).status, 200);
  } finally {
    off();
    await again.close();
  }
});
