import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAccessLog } from './accesslog.js';
import { parseMetadata, proxyOptionsFromEnv } from './main.js';

test('options: flags over environment, Istio node id gives the cluster default', () => {
  const o = proxyOptionsFromEnv(['--xds', '127.0.0.1:15010', '--no-access-log', '--metadata=CLUSTER_ID=cluster-1,NAMESPACE=sample'], {
    MESHWORK_NODE_ID: 'sidecar~127.10.0.5~sleep-1.sample~sample.svc.cluster.local',
    MESHWORK_XDS_ADDRESS: '127.0.0.1:1',
    MESHWORK_ADMIN_ADDRESS: '127.10.0.5:15000',
  });
  assert.equal(o.xdsServer, '127.0.0.1:15010');
  assert.equal(o.cluster, 'sample');
  assert.equal(o.accessLog, false);
  assert.deepEqual(o.metadata, { CLUSTER_ID: 'cluster-1', NAMESPACE: 'sample' });
  assert.deepEqual(o.adminAddress, { host: '127.10.0.5', port: 15000 });
  assert.throws(() => proxyOptionsFromEnv([], {}), /xDS server address is required/);
  assert.throws(() => proxyOptionsFromEnv(['--bogus', 'x'], {}), /unknown flag --bogus/);
  assert.deepEqual(parseMetadata('{"A":"b","N":1}'), { A: 'b', N: '1' });
});

test("access log line in Envoy's default format", () => {
  const line = formatAccessLog({
    start: new Date('2026-01-02T03:04:05.678Z'),
    method: 'GET',
    path: '/hello',
    protocol: 'HTTP/1.1',
    status: 200,
    flags: '',
    bytesReceived: 0,
    bytesSent: 42,
    durationMs: 3.4,
    upstreamServiceTimeMs: 2,
    forwardedFor: undefined,
    userAgent: 'curl/7.88.1',
    requestId: 'abc',
    authority: 'helloworld.sample:5000',
    upstreamHost: '127.10.0.7:5000',
    upstreamCluster: 'outbound|5000|v1|helloworld.sample.svc.cluster.local',
  });
  assert.equal(
    line,
    '[2026-01-02T03:04:05.678Z] "GET /hello HTTP/1.1" 200 - 0 42 3 2 "-" "curl/7.88.1" "abc" "helloworld.sample:5000" "127.10.0.7:5000" outbound|5000|v1|helloworld.sample.svc.cluster.local\n',
  );
});
