// Large responses: the meshwork proxy and Envoy take an RDS over gRPC's 4 MiB default; a proxyless
// gRPC client (4 MiB) is never sent one, and the status says why (also once it went away). Repeated NACK lines are rate-limited.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NO_ENVOY, startTestEnvoy, testEnvoyPath } from '../envoy/testdata/live-envoy.js';
import { startProxy, type RunningProxy } from '../proxy/main.js';
import { edsCluster, httpListener, loadAssignment, routeConfig } from '../proxy/testutil/envoy.js';
import { SnapshotCache } from './cache.js';
import { TYPE_URLS } from './protos.js';
import { GRPC_DEFAULT_RECEIVE_LIMIT, startXdsServer, type RunningXdsServer } from './server.js';
import { adsClient, ResponseQueue, waitFor } from './testdata/ads-client.js';

const envoyPath = testEnvoyPath();

/** A route table of about 5 MiB: many routes with long header matches, all to one cluster. */
function hugeSnapshot(listenerIp: string) {
  const routes = Array.from({ length: 24_000 }, (_, i) => ({
    name: `r${i}`,
    match: { prefix: `/p${i}/`, headers: [{ name: 'x-tenant', string_match: { exact: `tenant-${i}-${'x'.repeat(160)}` } }] },
    route: { cluster: 'app' },
  }));
  return {
    resources: {
      [TYPE_URLS.listener]: new Map([['in', httpListener('in', listenerIp, 8080, 'big')]]),
      [TYPE_URLS.route]: new Map([['big', routeConfig('big', [{ name: 'all', domains: ['*'], routes }])]]),
      [TYPE_URLS.cluster]: new Map([['app', edsCluster('app')]]),
      [TYPE_URLS.endpoint]: new Map([['app', loadAssignment('app', [{ host: '127.218.0.100', port: 9 }])]]),
    },
  };
}

describe('responses over gRPC\'s 4 MiB default', () => {
  const cache = new SnapshotCache();
  const logs: string[] = [];
  let xds: RunningXdsServer;
  let proxy: RunningProxy | undefined;

  before(async () => {
    xds = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: (l) => logs.push(l) });
  });
  after(async () => {
    await proxy?.stop();
    await xds?.close();
  });

  it('the meshwork proxy receives and ACKs a route table of more than 4 MiB', async () => {
    const nodeId = 'sidecar~127.218.0.1~big.test~test.svc.cluster.local';
    cache.setSnapshot(nodeId, hugeSnapshot('127.218.0.1'));
    const rds = cache.getPrepared(nodeId)?.types.get(TYPE_URLS.route)?.get('big');
    assert.ok(rds && rds.any.value.length > GRPC_DEFAULT_RECEIVE_LIMIT, `the route table is ${rds?.any.value.length} bytes`);
    proxy = await startProxy({ xdsServer: `127.0.0.1:${xds.port}`, nodeId, cluster: 'c', metadata: {}, adminAddress: { host: '127.218.0.1', port: 0 }, accessLog: false, log: () => {} });
    await waitFor('RDS ACKed', () => xds.xds.status().some((s) => s.nodeId === nodeId && s.types.RDS?.state === 'SYNCED'), 30_000);
    assert.ok(proxy.store.received.routes, 'the proxy holds the route table');
  });

  it('Envoy receives and ACKs it too', { skip: envoyPath ? false : NO_ENVOY }, async () => {
    const nodeId = 'sidecar~127.218.0.2~big-envoy.test~test.svc.cluster.local';
    cache.setSnapshot(nodeId, hugeSnapshot('127.218.0.2'));
    const envoy = await startTestEnvoy({ binary: envoyPath!, xdsPort: xds.port, nodeId });
    try {
      await waitFor('RDS ACKed by Envoy', () => xds.xds.status().some((s) => s.nodeId === nodeId && s.types.RDS?.state === 'SYNCED'), 30_000);
    } finally {
      await envoy.stop();
    }
  });

  it('a proxyless gRPC client is not sent what it cannot receive; its status and the counters say why', async () => {
    const nodeId = 'grpc-client-big';
    cache.setSnapshot(nodeId, hugeSnapshot('127.218.0.3'));
    const client = adsClient(xds.port);
    const stream = client.StreamAggregatedResources();
    const responses = new ResponseQueue<{ type_url: string }>(stream);
    const node = { id: nodeId, user_agent_name: 'gRPC Node Pure JS', metadata: { fields: { GENERATOR: { string_value: 'grpc' } } } };
    stream.write({ node, type_url: TYPE_URLS.route, resource_names: ['big'] });
    await waitFor('the held-back response', () => xds.xds.status().some((s) => s.nodeId === nodeId && s.sendError !== undefined), 10_000);
    const status = xds.xds.status().find((s) => s.nodeId === nodeId)!;
    assert.match(status.sendError ?? '', /^RDS response of \d+ bytes not sent: over the client's receive limit of 4194304 bytes/);
    assert.equal(status.types.RDS?.state, 'STALE');
    assert.equal(xds.xds.counters().oversized, 1);
    assert.equal(responses.length, 0);
    assert.equal(responses.error, undefined, 'the stream stays open');
    assert.ok(logs.some((l) => l.includes('not sent: over the client\'s receive limit')));
    // The proxy is STALE at once: it will never get that version by waiting.
    assert.equal(status.state, 'STALE');
    assert.deepEqual(status.stale?.map((s) => [s.type, s.has, s.why]), [['RDS', undefined, 'not-sent']]);
    // When it goes away, proxy-status says what it never received.
    stream.end();
    await waitFor('listed as disconnected', () => xds.xds.disconnected().some((p) => p.nodeId === nodeId));
    const gone = xds.xds.disconnected().find((p) => p.nodeId === nodeId)!;
    assert.equal(gone.reason, 'closed by the proxy, after its RDS response over its receive limit was held back');
    assert.match(gone.sendError ?? '', /^RDS response of \d+ bytes not sent/);
    client.close();
  });
});

describe('a NACK storm', () => {
  it('logs a few lines per type and window, and counts every NACK', async () => {
    const cache = new SnapshotCache();
    const logs: string[] = [];
    const xds = await startXdsServer({ host: '127.0.0.1', port: 0, cache, log: (l) => logs.push(l) });
    const nodeId = 'stormy';
    cache.setSnapshot(nodeId, { resources: { [TYPE_URLS.listener]: new Map([['in', httpListener('in', '127.218.0.4', 8080, 'r')]]), [TYPE_URLS.route]: new Map([['r', routeConfig('r', [])]]) } });
    const client = adsClient(xds.port);
    const stream = client.StreamAggregatedResources();
    const responses = new ResponseQueue<{ nonce: string; version_info: string }>(stream);
    stream.write({ node: { id: nodeId }, type_url: TYPE_URLS.listener, resource_names: [] });
    const first = await responses.next();
    for (let i = 0; i < 500; i++) {
      stream.write({ type_url: TYPE_URLS.listener, resource_names: [], response_nonce: first.nonce, version_info: '', error_detail: { code: 3, message: `bad listener ${i}` } });
    }
    await waitFor('500 NACKs counted', () => xds.xds.counters().nacks === 500, 10_000);
    const nackLines = logs.filter((l) => l.includes('NACK'));
    assert.ok(nackLines.length <= 6, `${nackLines.length} NACK lines logged for 500 NACKs`);
    assert.match(nackLines.at(-1) ?? '', /further "NACK LDS" lines are held back/);
    stream.end();
    client.close();
    await xds.close();
  });
});
