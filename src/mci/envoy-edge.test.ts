// The Envoy edge with a real Envoy: two gateway-like upstreams (serving /hello, ready on 15021 at
// /healthz/ready) on 127.240.77.x, the controller's ADS server and one Envoy on a test VIP. Requests
// to the VIP split over both gateways (chi-square); a gateway whose readiness fails stops getting
// traffic after unhealthyThreshold checks and gets it again after healthyThreshold passing ones.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NO_ENVOY, testEnvoyPath } from '../envoy/testdata/live-envoy.js';
import type { EdgeBackend } from '../edge/edge-proxy.js';
import { BACKEND_HEADER } from '../edge/edge-proxy.js';
import type { HealthCheckSpec } from '../edge/health.js';
import { chiSquareTest, SUITE_ALPHA } from '../stats/chisquare.js';
import type { EdgePlan } from './resources.js';
import { EdgeXds, EnvoyEdge } from './envoy-edge.js';

const envoyPath = testEnvoyPath();

const NET = '127.240.77';
const VIP = `${NET}.1`;
const EDGE_PORT = 18080;
const SERVING_PORT = 18081;
const STATUS_PORT = 15021;

interface Gateway {
  backend: EdgeBackend;
  ready: boolean;
  served: number;
  probes: number;
  servers: Server[];
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

async function startGateway(cluster: string, pod: string, ip: string): Promise<Gateway> {
  const gw: Gateway = { backend: { cluster, pod, ip, port: SERVING_PORT, zone: `${cluster}-a` }, ready: true, served: 0, probes: 0, servers: [] };
  const app = createServer((req, res) => {
    if (req.url === '/hello') {
      gw.served++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${cluster}/${pod}\n`);
    } else res.writeHead(404).end();
  });
  const status = createServer((req, res) => {
    if (req.url !== '/healthz/ready') return void res.writeHead(404).end();
    gw.probes++;
    res.writeHead(gw.ready ? 200 : 503).end();
  });
  await listen(app, ip, SERVING_PORT);
  await listen(status, ip, STATUS_PORT);
  gw.servers.push(app, status);
  return gw;
}

const healthCheck: HealthCheckSpec = { type: 'HTTP', port: STATUS_PORT, requestPath: '/healthz/ready', checkIntervalSec: 1, timeoutSec: 1, healthyThreshold: 2, unhealthyThreshold: 2 };
const plan: EdgePlan = {
  mcs: { name: 'istio-ingressgateway', namespace: 'istio-gateway', labels: {}, ports: [], selector: {} },
  derivedServiceName: 'mci-istio-ingressgateway-0a1b2c3d',
  servicePort: { name: 'http', port: 80, targetPort: SERVING_PORT },
  healthCheck,
};

describe('the MCI edge on a real Envoy', { skip: envoyPath ? false : NO_ENVOY, timeout: 90_000 }, () => {
  let a: Gateway;
  let b: Gateway;
  let xds: EdgeXds;
  let edge: EnvoyEdge;
  const log: string[] = [];
  const url = `http://${VIP}:${EDGE_PORT}/hello`;

  /** One request through the VIP; the gateway that served it, from the body and from the edge's header. */
  async function hello(): Promise<string> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    const body = await res.text();
    assert.equal(res.status, 200, `GET /hello: ${res.status} ${body}`);
    const from = /^hello from (\S+)$/m.exec(body)?.[1] ?? '?';
    assert.equal(res.headers.get(BACKEND_HEADER), from, 'the edge names the gateway that served');
    return from;
  }

  async function split(n: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const from = await hello();
      out[from] = (out[from] ?? 0) + 1;
    }
    return out;
  }

  function assertNoNack(): void {
    const status = xds.status(edge.nodeId);
    assert.ok(status, 'Envoy is connected to the edge ADS server');
    for (const [type, s] of Object.entries(status.types)) {
      assert.equal(s?.nack, undefined, `${type} NACKed: ${s?.nack?.message ?? ''}`);
      if (s?.state !== 'NOT SENT') assert.equal(s?.state, 'SYNCED', `${type}: ${JSON.stringify(s)}`);
    }
  }

  async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; log:\n${log.slice(-20).join('\n')}`);
      await sleep(50);
    }
  }

  before(async () => {
    a = await startGateway('cluster-1', 'istio-ingressgateway-a', `${NET}.11`);
    b = await startGateway('cluster-2', 'istio-ingressgateway-b', `${NET}.12`);
    xds = await EdgeXds.start(`${NET}.100`, (line) => log.push(line));
    edge = new EnvoyEdge({ name: 'istio-gateway/istio-ingressgateway', host: VIP, port: EDGE_PORT, adminPort: 0, binary: envoyPath!, xds, log: (line) => log.push(line) });
    await edge.start();
    edge.update({ plan, backends: [a.backend, b.backend] });
    await edge.ready(20_000);
  });

  after(async () => {
    await edge?.stop();
    await xds?.close();
    for (const gw of [a, b]) for (const s of gw?.servers ?? []) s.close();
  });

  it('Envoy accepts the edge (no NACK, every type SYNCED) and probes both gateways on the status port', async () => {
    assertNoNack();
    await until('both gateways healthy', 10_000, async () => ((await edge.gateways()).filter((g) => g.healthy).length === 2 ? true : undefined));
    assert.ok(a.probes > 0 && b.probes > 0, `probes: ${a.probes}, ${b.probes}`);
    const gws = await edge.gateways();
    assert.deepEqual(gws.map((g) => [g.id, g.cluster, g.address]).sort(), [
      ['cluster-1/istio-ingressgateway-a', 'cluster-1', `${NET}.11:${SERVING_PORT}`],
      ['cluster-2/istio-ingressgateway-b', 'cluster-2', `${NET}.12:${SERVING_PORT}`],
    ]);
  });

  it('requests to the VIP are spread over the gateways of both clusters (chi-square, 50/50)', async (t) => {
    const before = await edge.gateways();
    const served = [a.served, b.served];
    const n = 400;
    const got = await split(n);
    const observed = ['cluster-1/istio-ingressgateway-a', 'cluster-2/istio-ingressgateway-b'].map((id) => got[id] ?? 0);
    t.diagnostic(`split: ${JSON.stringify(got)}`);
    const result = chiSquareTest(observed, [50, 50], SUITE_ALPHA);
    assert.ok(result.pass, `${JSON.stringify(got)} is not 50/50 (p=${result.pValue})`);
    assert.deepEqual([a.served - served[0]!, b.served - served[1]!], observed, 'the gateways saw what the edge reported');
    // Envoy's per-host rq_total counts routed requests only (never health checks).
    const afterStats = await edge.gateways();
    const delta = afterStats.map((g) => g.requests - (before.find((x) => x.id === g.id)?.requests ?? 0)).reduce((x, y) => x + y, 0);
    assert.equal(delta, n);
  });

  it('a gateway failing /healthz/ready is dropped after unhealthyThreshold checks and rejoins after healthyThreshold passes', async (t) => {
    const t0 = Date.now();
    b.ready = false;
    let lastOnB = 0;
    // Load until b has served nothing for 3 check intervals.
    await until('b to stop getting traffic', 15_000, async () => {
      if ((await hello()) === 'cluster-2/istio-ingressgateway-b') lastOnB = Date.now();
      return Date.now() - Math.max(lastOnB, t0) > 3_000 ? true : undefined;
    });
    const dropMs = Math.max(lastOnB, t0) - t0;
    t.diagnostic(`unhealthy: last request on b ${dropMs} ms after its readiness started failing`);
    const interval = healthCheck.checkIntervalSec * 1000;
    // The first failing probe comes within one interval, the unhealthyThreshold-th one (threshold-1) intervals later.
    assert.ok(dropMs >= (healthCheck.unhealthyThreshold - 1) * interval - 250, `dropped after ${dropMs} ms: sooner than ${healthCheck.unhealthyThreshold} failed checks`);
    assert.ok(dropMs <= healthCheck.unhealthyThreshold * interval + 1_000, `dropped after ${dropMs} ms`);
    const gws = await edge.gateways();
    assert.deepEqual(gws.map((g) => [g.id, g.healthy]).sort(), [['cluster-1/istio-ingressgateway-a', true], ['cluster-2/istio-ingressgateway-b', false]]);
    assert.ok(log.some((l) => /gateway cluster-2\/istio-ingressgateway-b is now unhealthy/.test(l)), 'the transition is logged');
    assert.deepEqual(await split(50), { 'cluster-1/istio-ingressgateway-a': 50 }, 'only the healthy gateway serves');

    const t1 = Date.now();
    b.ready = true;
    await until('b to serve again', 15_000, async () => ((await hello()) === 'cluster-2/istio-ingressgateway-b' ? true : undefined));
    const backMs = Date.now() - t1;
    t.diagnostic(`healthy again: b served ${backMs} ms after its readiness recovered`);
    assert.ok(backMs >= (healthCheck.healthyThreshold - 1) * interval - 250, `back after ${backMs} ms: sooner than ${healthCheck.healthyThreshold} passing checks`);
    assert.ok(backMs <= healthCheck.healthyThreshold * interval + 1_000, `back after ${backMs} ms`);
    const got = await split(200);
    const result = chiSquareTest([got['cluster-1/istio-ingressgateway-a'] ?? 0, got['cluster-2/istio-ingressgateway-b'] ?? 0], [50, 50], SUITE_ALPHA);
    assert.ok(result.pass, `after recovery ${JSON.stringify(got)} is not 50/50`);
    assertNoNack();
  });

  it('endpoint and health check changes are pushed over EDS and CDS and accepted', async () => {
    edge.update({ plan, backends: [a.backend] });
    await until('b removed from Envoy', 5_000, async () => ((await edge.gateways()).length === 1 ? true : undefined));
    assert.deepEqual(await split(20), { 'cluster-1/istio-ingressgateway-a': 20 });
    const slower: EdgePlan = { ...plan, healthCheck: { ...healthCheck, checkIntervalSec: 2, healthyThreshold: 3 } };
    edge.update({ plan: slower, backends: [a.backend, b.backend] });
    await until('b back in Envoy and healthy', 10_000, async () => ((await edge.gateways()).filter((g) => g.healthy).length === 2 ? true : undefined));
    await until('every type SYNCED', 5_000, async () => {
      const s = xds.status(edge.nodeId);
      return s && Object.values(s.types).every((x) => x?.state !== 'STALE') ? true : undefined;
    });
    assertNoNack();
    const got = await split(100);
    assert.deepEqual(Object.keys(got).sort(), ['cluster-1/istio-ingressgateway-a', 'cluster-2/istio-ingressgateway-b']);
    // Once Envoy's admin says a gateway is unhealthy, its load balancer no longer picks it.
    a.ready = false;
    await until('a unhealthy', 15_000, async () => ((await edge.gateways()).find((g) => g.id === 'cluster-1/istio-ingressgateway-a')?.healthy === false ? true : undefined));
    assert.deepEqual(await split(20), { 'cluster-2/istio-ingressgateway-b': 20 });
    a.ready = true;
  });

  it('a health check change alone is applied at once (the re-created cluster gets its endpoints)', async () => {
    const before = await edge.gateways();
    const t0 = Date.now();
    edge.update({ plan: { ...plan, healthCheck: { ...healthCheck, timeoutSec: 1, checkIntervalSec: 1, healthyThreshold: 3 } }, backends: [a.backend, b.backend] });
    await until('every type SYNCED', 5_000, async () => {
      const s = xds.status(edge.nodeId);
      return s && Object.values(s.types).every((x) => x?.state === 'SYNCED' || x?.state === 'NOT SENT') ? true : undefined;
    });
    assert.ok(Date.now() - t0 < 3_000, `synced after ${Date.now() - t0} ms`);
    assert.equal(before.length, 2);
    const got = await split(20);
    assert.equal((got['cluster-1/istio-ingressgateway-a'] ?? 0) + (got['cluster-2/istio-ingressgateway-b'] ?? 0), 20);
  });

  it('a configuration Envoy rejects is reported (the NACK\'s message) while the last good one keeps serving', async () => {
    assert.equal(edge.rejected(), undefined);
    // Fits the proto, but Envoy's own validation refuses a header value with a line break.
    edge.update({ plan: { ...plan, healthCheck: { ...healthCheck, requestPath: '/healthz/ready\nx' } }, backends: [a.backend, b.backend] });
    const rejected = await until('the NACK', 10_000, async () => edge.rejected());
    assert.match(rejected, /^Envoy rejected the edge's CDS \(version \w+\): Proto constraint validation failed .*HttpHealthCheckValidationError\.Path/);
    assert.ok(!rejected.includes('\n') && rejected.length <= 700, 'the reason alone, on one line (it goes into the MCI status)');
    const got = await split(20);
    assert.equal((got['cluster-1/istio-ingressgateway-a'] ?? 0) + (got['cluster-2/istio-ingressgateway-b'] ?? 0), 20, 'the last good configuration serves');
    edge.update({ plan, backends: [a.backend, b.backend] });
    await until('the NACK cleared by an accepted update', 10_000, async () => (edge.rejected() === undefined ? true : undefined)).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(xds.status(edge.nodeId)?.types)}`);
    });
    assertNoNack();
  });
});
