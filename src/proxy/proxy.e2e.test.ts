// End to end: F's ADS server with a hand-written snapshot drives the proxy; real curl and a real
// HTTP/2 client send traffic through it to real upstream servers on 127.0.0.1.

import { execFile } from 'node:child_process';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { chiSquareTest, SUITE_ALPHA } from '../stats/chisquare.js';
import { edsCluster, httpListener, loadAssignment, routeConfig, weightedRoute } from './testutil/envoy.js';
import { manyRequests, NODE_ID, proxyGet, startHarness, waitUntil, type Harness, type Resources } from './testutil/harness.js';
import { freePort, startUpstream, type TestUpstream } from './testutil/upstream.js';

const run = promisify(execFile);
const V1 = 'outbound|5000|v1|helloworld.sample.svc.cluster.local';
const V2 = 'outbound|5000|v2|helloworld.sample.svc.cluster.local';
const EMPTY = 'outbound|5000||empty.sample.svc.cluster.local';
const URL_HELLO = 'http://helloworld.sample:5000/hello';

let v1: TestUpstream;
let v2: TestUpstream;
let h: Harness;
let port: number;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function resources(weights: [number, number], hostRoute: Record<string, unknown> = { prefix: '/' }): Resources {
  return {
    listeners: [httpListener('127.0.0.1_' + port, '127.0.0.1', port, 'http_proxy')],
    routes: [
      routeConfig('http_proxy', [
        {
          name: 'helloworld.sample.svc.cluster.local:5000',
          domains: ['helloworld.sample.svc.cluster.local:5000', 'helloworld.sample:5000', 'helloworld:5000'],
          routes: [weightedRoute(hostRoute, [[V1, weights[0]], [V2, weights[1]]])],
        },
        { name: 'empty:5000', domains: ['empty.sample:5000'], routes: [{ match: { prefix: '/' }, route: { cluster: EMPTY } }] },
      ]),
    ],
    clusters: [edsCluster(V1), edsCluster(V2), edsCluster(EMPTY)],
    endpoints: [loadAssignment(V1, [{ port: v1.port }]), loadAssignment(V2, [{ port: v2.port }]), loadAssignment(EMPTY, [])],
  };
}

before(async () => {
  v1 = await startUpstream('helloworld-v1');
  v2 = await startUpstream('helloworld-v2');
  port = await freePort();
  h = await startHarness(resources([80, 20]));
});

after(async () => {
  agent.destroy();
  await h.close();
  await v1.close();
  await v2.close();
});

/** The server saw every type it sent ACKed: the proxy applied the last push. */
function waitSynced(): Promise<void> {
  return waitUntil('all types SYNCED', () => {
    const types = h.xdsServer.xds.status().find((s) => s.nodeId === NODE_ID)?.types ?? {};
    return Object.values(types).length === 4 && Object.values(types).every((t) => t.state === 'SYNCED');
  });
}

async function split(n: number): Promise<[number, number]> {
  const bodies = await manyRequests(n, 16, async () => (await proxyGet(port, URL_HELLO, { agent })).body);
  const a = bodies.filter((b) => b.startsWith('helloworld-v1')).length;
  const b = bodies.filter((b) => b.startsWith('helloworld-v2')).length;
  assert.equal(a + b, n, `every answer from v1 or v2: ${bodies.find((x) => !x.startsWith('helloworld-v'))}`);
  return [a, b];
}

test('curl through http_proxy reaches an upstream, with Envoy response headers', async () => {
  const { stdout } = await run('curl', ['-sS', '-i', '-x', `http://127.0.0.1:${port}`, URL_HELLO], { env: { PATH: process.env['PATH'] ?? '/usr/bin' } });
  const [head, body] = stdout.split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 200 OK/);
  assert.match(head, /\r\nserver: meshwork\r\n/i);
  assert.match(head, /\r\nx-envoy-upstream-service-time: \d+\r\n/i);
  assert.match(head, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
  assert.match(body, /^helloworld-v[12] GET \/hello$/, 'origin-form path upstream');
  const seen = v1.lastHeaders ?? v2.lastHeaders;
  assert.equal(seen?.['host'], 'helloworld.sample:5000');
});

test('HTTP/2 with prior knowledge on the same port', async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const res = await new Promise<{ status: number; body: string; server: string | undefined }>((resolve, reject) => {
      const stream = session.request({ ':method': 'GET', ':path': '/hello', ':authority': 'helloworld.sample:5000' });
      let status = 0;
      let server: string | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (hd) => {
        status = Number(hd[':status']);
        server = hd['server'] as string | undefined;
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString(), server }));
      stream.on('error', reject);
      stream.end();
    });
    assert.equal(res.status, 200);
    assert.equal(res.server, 'meshwork');
    assert.match(res.body, /^helloworld-v[12] GET \/hello$/);
  } finally {
    session.close();
  }
});

test('80/20 weighted clusters: 1000 requests pass a chi-square test', async () => {
  const observed = await split(1000);
  const result = chiSquareTest(observed, [80, 20], SUITE_ALPHA);
  assert.ok(result.pass, `split ${observed.join('/')} p=${result.pValue}`);
  assert.ok(observed[0] > 700 && observed[1] > 100, `roughly 80/20: ${observed.join('/')}`);
});

test('a weight change pushed at run time applies', async () => {
  h.push(resources([0, 100]));
  await waitSynced();
  assert.deepEqual(await split(100), [0, 100]);
  h.push(resources([50, 50]));
  await waitSynced();
  const observed = await split(400);
  assert.ok(chiSquareTest(observed, [50, 50], SUITE_ALPHA).pass, `50/50: ${observed.join('/')}`);
});

test('an invalid update is NACKed with the resource and field; the last good config keeps serving', async () => {
  h.push(resources([50, 50]));
  h.push(resources([100, 0], { safe_regex: { regex: '/hello(' } }));
  await waitUntil('NACK seen by the server', () => h.xdsServer.xds.status().find((s) => s.nodeId === NODE_ID)?.types.RDS?.nack !== undefined);
  const nack = h.xdsServer.xds.status().find((s) => s.nodeId === NODE_ID)?.types.RDS?.nack;
  assert.match(nack?.message ?? '', /RouteConfiguration 'http_proxy': virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex/);
  const observed = await split(200);
  assert.ok(observed[1] > 40, `still 50/50, not 100/0: ${observed.join('/')}`);
  const dump = JSON.parse((await proxyAdmin('/config_dump')).body) as { configs: { '@type': string; dynamic_route_configs?: { error_state?: { details: string } }[] }[] };
  const routesDump = dump.configs.find((c) => c['@type'].endsWith('RoutesConfigDump'));
  assert.match(routesDump?.dynamic_route_configs?.[0].error_state?.details ?? '', /invalid regex/);
  // A valid push afterwards is ACKed again.
  h.push(resources([80, 20]));
  await waitSynced();
});

test('a cluster without endpoints answers 503 no healthy upstream', async () => {
  const res = await proxyGet(port, 'http://empty.sample:5000/x', { agent });
  assert.equal(res.status, 503);
  assert.equal(res.body, 'no healthy upstream');
});

test('a weighted share naming a cluster that does not exist: accepted (no NACK), that share answers 503 as Envoy does (NC)', async () => {
  // What the translator sends for a canary to a subset no DestinationRule defines (Istio keeps the route).
  const V3 = 'outbound|5000|v3|helloworld.sample.svc.cluster.local';
  const withMissing = resources([50, 50]);
  withMissing.routes = [routeConfig('http_proxy', [{
    name: 'helloworld.sample.svc.cluster.local:5000',
    domains: ['helloworld.sample:5000'],
    routes: [weightedRoute({ prefix: '/' }, [[V1, 50], [V3, 50]])],
  }])];
  h.push(withMissing);
  await waitSynced();
  assert.equal(h.xdsServer.xds.status().find((s) => s.nodeId === NODE_ID)?.types.RDS?.nack, undefined, 'RDS was not NACKed');
  const answers = await manyRequests(200, 16, async () => {
    const res = await proxyGet(port, URL_HELLO, { agent });
    return `${res.status} ${res.body.split(' ')[0]}`;
  });
  const ok = answers.filter((a) => a === '200 helloworld-v1').length;
  const noCluster = answers.filter((a) => a === '503 ').length;
  assert.equal(ok + noCluster, 200, `only v1 answers and empty 503s: ${answers.find((a) => a !== '200 helloworld-v1' && a !== '503 ')}`);
  assert.ok(chiSquareTest([ok, noCluster], [50, 50], SUITE_ALPHA).pass, `50/50: ${ok}/${noCluster}`);
  h.push(resources([80, 20]));
  await waitSynced();
});

test('an unknown host answers 404', async () => {
  const res = await proxyGet(port, 'http://nowhere.sample:5000/x', { agent });
  assert.equal(res.status, 404);
  assert.equal(res.headers['server'], 'meshwork');
});

test('CONNECT answers 405 with a clear body', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('CONNECT helloworld.sample:443 HTTP/1.1\r\nHost: helloworld.sample:443\r\n\r\n'));
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
  assert.match(reply, /^HTTP\/1\.1 405 /);
  assert.match(reply, /CONNECT is not supported/);
});

function proxyAdmin(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: h.proxy.adminAddress.port, path }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('admin: /ready, /config_dump, /stats/prometheus, /clusters', async () => {
  assert.equal((await proxyAdmin('/ready')).status, 200);
  const dump = JSON.parse((await proxyAdmin('/config_dump')).body) as { configs: Record<string, unknown>[] };
  const types = dump.configs.map((c) => c['@type']);
  assert.deepEqual(types, [
    'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
    'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
    'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
    'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
  ]);
  const listeners = dump.configs[0] as { dynamic_listeners: { name: string; active_state: { version_info: string; last_updated: string; listener: { '@type': string } } }[] };
  assert.equal(listeners.dynamic_listeners[0].name, `127.0.0.1_${port}`);
  assert.equal(listeners.dynamic_listeners[0].active_state.listener['@type'], 'type.googleapis.com/envoy.config.listener.v3.Listener');
  assert.ok(listeners.dynamic_listeners[0].active_state.version_info);
  assert.ok(!Number.isNaN(Date.parse(listeners.dynamic_listeners[0].active_state.last_updated)));
  const clusters = dump.configs[2] as { dynamic_active_clusters: { cluster: { name: string } }[] };
  assert.deepEqual(clusters.dynamic_active_clusters.map((c) => c.cluster.name).sort(), [EMPTY, V1, V2].sort());

  const prom = (await proxyAdmin('/stats/prometheus')).body;
  assert.match(prom, new RegExp(`envoy_cluster_upstream_rq\\{envoy_cluster_name="${V1.replace(/\|/g, '\\|')}",envoy_response_code="200"\\} \\d+`));
  assert.match(prom, /envoy_cluster_upstream_rq\{envoy_cluster_name="outbound\|5000\|\|empty.sample.svc.cluster.local",envoy_response_code="503"\} \d+/);
  assert.match(prom, /envoy_cluster_upstream_rq_time_bucket\{le="5",envoy_cluster_name="outbound\|5000\|v1/);
  assert.match(prom, /meshwork_proxy_xds_updates\{type="RDS",result="nack"\} [1-9]/);

  const text = (await proxyAdmin('/clusters')).body;
  assert.match(text, new RegExp(`${V1.replace(/\|/g, '\\|')}::127\\.0\\.0\\.1:${v1.port}::health_flags::healthy`));
});
