// Through the chain without a mesh: a client -> the MCI's Envoy edge (edge-xds.ts) -> two gateways with
// the listener the translator writes for a gateway (one Envoy, one meshwork proxy) -> an echo app, all
// on 127.235/16 and fed by one ADS server. The app must never see a client's x-forwarded-client-cert
// or its claims of internal status, and x-forwarded-for must carry what the client said plus each hop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { UpstreamView } from '../conformance/case.js';
import { startEchoUpstream } from '../conformance/upstream.js';
import { BACKEND_HEADER } from '../edge/edge-proxy.js';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath, type TestEnvoy } from '../envoy/testdata/live-envoy.js';
import { startProxy, type RunningProxy } from '../proxy/main.js';
import type { ProxyIdentity } from '../registry/model.js';
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration } from '../translate/envoy-types.js';
import { gatewayListener } from '../translate/listeners.js';
import { SnapshotCache } from '../xds/cache.js';
import { TYPE_URLS } from '../xds/protos.js';
import { startXdsServer } from '../xds/server.js';
import type { XdsSnapshot } from '../xds/snapshot.js';
import { edgeNodeId, edgeResources, edgeSnapshot } from './edge-xds.js';
import type { EdgePlan } from './resources.js';

const envoyPath = testEnvoyPath();
const XDS = '127.235.7.1';
const VIP = '127.235.7.2';
const ENVOY_GW = '127.235.7.3';
const MESHWORK_GW = '127.235.7.4';
const APP = '127.235.7.5';
const GW_PORT = 8080;
const STATUS_PORT = 15021;
const ROUTE = 'http.8080';

const plan: EdgePlan = {
  mcs: { namespace: 'istio-gateway', name: 'istio-ingressgateway' } as EdgePlan['mcs'],
  derivedServiceName: 'mci-istio-ingressgateway',
  servicePort: { port: GW_PORT } as EdgePlan['servicePort'],
  healthCheck: { type: 'HTTP', port: STATUS_PORT, requestPath: '/healthz/ready', checkIntervalSec: 1, timeoutSec: 1, healthyThreshold: 1, unhealthyThreshold: 2 },
};

function gatewayIdentity(ip: string, pod: string): ProxyIdentity {
  return { id: `router~${ip}~${pod}.istio-system~istio-system.svc.cluster.local`, kind: 'router', namespace: 'istio-system', cluster: 'cluster-1', labels: { istio: 'ingressgateway' }, ip, podName: pod };
}

function gatewaySnapshot(proxy: ProxyIdentity, app: { host: string; port: number }): XdsSnapshot {
  const listener: Listener = gatewayListener(proxy, GW_PORT, [{ routeConfigName: ROUTE }]);
  const route: RouteConfiguration = {
    name: ROUTE,
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'app', match: { prefix: '/' }, route: { cluster: 'app', timeout: { seconds: 5, nanos: 0 } } }] }],
  };
  const cluster: Cluster = {
    name: 'app',
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'app' },
    connect_timeout: { seconds: 1, nanos: 0 },
    lb_policy: 'ROUND_ROBIN',
  };
  const cla: ClusterLoadAssignment = { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: app.host, port_value: app.port } } } }] }] };
  return {
    resources: {
      [TYPE_URLS.listener]: new Map([[listener.name, listener]]),
      [TYPE_URLS.route]: new Map([[route.name, route]]),
      [TYPE_URLS.cluster]: new Map([[cluster.name, cluster]]),
      [TYPE_URLS.endpoint]: new Map([[cla.cluster_name, cla]]),
    },
  };
}

async function statusServer(host: string): Promise<Server> {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(STATUS_PORT, host, resolve));
  return server;
}

test('edge Envoy -> gateway (Envoy and meshwork proxy) -> app: the app never sees a client-sent x-forwarded-client-cert', { skip: envoyPath ? false : NO_ENVOY }, async (t) => {
  const app = await startEchoUpstream('app', { host: APP });
  const statuses = [await statusServer(ENVOY_GW), await statusServer(MESHWORK_GW)];
  const cache = new SnapshotCache();
  const xds = await startXdsServer({ host: XDS, port: 0, cache, log: () => {} });
  const envoys: TestEnvoy[] = [];
  let proxy: RunningProxy | undefined;
  t.after(async () => {
    await proxy?.stop();
    for (const e of envoys) await e.stop();
    await xds.close();
    for (const s of statuses) await new Promise<void>((resolve) => s.close(() => resolve()));
    await app.close();
  });

  const envoyGw = gatewayIdentity(ENVOY_GW, 'gw-envoy');
  const meshworkGw = gatewayIdentity(MESHWORK_GW, 'gw-meshwork');
  cache.setSnapshot(envoyGw.id, gatewaySnapshot(envoyGw, app));
  cache.setSnapshot(meshworkGw.id, gatewaySnapshot(meshworkGw, app));
  const mci = 'istio-gateway/istio-ingressgateway';
  const edgeNode = edgeNodeId(mci, VIP);
  cache.setSnapshot(edgeNode, edgeSnapshot(edgeResources({
    mci,
    vip: VIP,
    port: GW_PORT,
    plan,
    backends: [
      { cluster: 'cluster-1', pod: 'gw-envoy', ip: ENVOY_GW, port: GW_PORT },
      { cluster: 'cluster-2', pod: 'gw-meshwork', ip: MESHWORK_GW, port: GW_PORT },
    ],
  })));

  envoys.push(await startTestEnvoy({ binary: envoyPath!, xdsPort: xds.port, xdsHost: XDS, nodeId: edgeNode, adminHost: VIP, logLevel: 'error' }));
  envoys.push(await startTestEnvoy({ binary: envoyPath!, xdsPort: xds.port, xdsHost: XDS, nodeId: envoyGw.id, adminHost: ENVOY_GW, logLevel: 'error' }));
  proxy = await startProxy({
    xdsServer: `${XDS}:${xds.port}`,
    nodeId: meshworkGw.id,
    cluster: 'istio-ingressgateway',
    metadata: { CLUSTER_ID: 'cluster-2', NAMESPACE: 'istio-system' },
    adminAddress: { host: MESHWORK_GW, port: 0 },
    accessLog: false,
    drainMs: 0,
    log: () => {},
    backoff: { initialMs: 50, maxMs: 200, multiplier: 2, jitter: 0 },
  });
  await proxy.waitReady(10_000);

  const claims = {
    'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/sample/sa/helloworld;Hash=00ff;URI=spiffe://cluster.local/ns/evil/sa/x',
    'x-envoy-internal': 'true',
    'x-envoy-external-address': '198.51.100.66',
    'x-forwarded-for': '203.0.113.7',
  };
  const seen = new Map<string, UpstreamView[]>();
  const deadline = Date.now() + 20_000;
  while (!(seen.get('cluster-1/gw-envoy')?.length && seen.get('cluster-2/gw-meshwork')?.length)) {
    assert.ok(Date.now() < deadline, `both gateways should answer through the edge within 20 s; answered: ${[...seen.keys()].join(', ')}`);
    const res = await fetch(`http://${VIP}:${GW_PORT}/hello`, { headers: { ...claims, 'x-test-key': 'chain' } }).catch(() => undefined);
    if (!res || res.status !== 200) {
      await res?.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const backend = res.headers.get(BACKEND_HEADER) ?? '';
    const view = (await res.json()) as UpstreamView;
    seen.set(backend, [...(seen.get(backend) ?? []), view]);
  }
  for (const [backend, views] of seen) {
    for (const v of views) {
      const h = v.headers;
      assert.equal(h['x-forwarded-client-cert'], undefined, `${backend}: the app saw the client's XFCC`);
      assert.equal(h['x-envoy-internal'], undefined, `${backend}: a client's x-envoy-internal passed`);
      // The client's claim, then the edge's peer (the client), then the gateway's peer (the edge).
      const hops = (h['x-forwarded-for'] ?? '').split(',').map((s) => s.trim());
      assert.equal(hops.length, 3, `${backend}: x-forwarded-for ${h['x-forwarded-for']}`);
      assert.equal(hops[0], '203.0.113.7');
      // The gateway trusts no proxy in front of it (numTrustedProxies 0): the external address is its
      // peer, never the address a client wrote.
      assert.ok(h['x-envoy-external-address'] && h['x-envoy-external-address'] !== '198.51.100.66' && h['x-envoy-external-address'] !== '203.0.113.7', `${backend}: x-envoy-external-address ${h['x-envoy-external-address']}`);
      assert.equal(h['x-forwarded-proto'], 'http');
    }
  }

  // The edge alone already drops the claims: each gateway must drop them too when reached directly (a
  // cluster's own load balancer in front of it, or a client inside the network).
  for (const [name, ip] of [['gw-envoy', ENVOY_GW], ['gw-meshwork', MESHWORK_GW]] as const) {
    const res = await fetch(`http://${ip}:${GW_PORT}/direct`, { headers: { ...claims, 'x-test-key': `direct-${name}` } });
    assert.equal(res.status, 200);
    const h = ((await res.json()) as UpstreamView).headers;
    assert.equal(h['x-forwarded-client-cert'], undefined, `${name}: the app saw the client's XFCC`);
    assert.equal(h['x-envoy-internal'], undefined, `${name}: a client's x-envoy-internal passed`);
    const hops = (h['x-forwarded-for'] ?? '').split(',').map((x) => x.trim());
    assert.equal(hops.length, 2, `${name}: x-forwarded-for ${h['x-forwarded-for']}`);
    assert.equal(hops[0], '203.0.113.7');
    assert.ok(h['x-envoy-external-address'] && !['198.51.100.66', '203.0.113.7'].includes(h['x-envoy-external-address']), `${name}: x-envoy-external-address ${h['x-envoy-external-address']}`);
  }
});
