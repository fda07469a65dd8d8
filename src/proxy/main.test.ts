import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferedAccessLog, formatAccessLog, type AccessLogEntry } from './accesslog.js';
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
  assert.deepEqual(parseMetadata('{"PROXY_CONFIG":{"gatewayTopology":{"numTrustedProxies":1}}}'), { PROXY_CONFIG: { gatewayTopology: { numTrustedProxies: 1 } } });
});

const ENTRY: AccessLogEntry = {
  startMs: Date.parse('2026-01-02T03:04:05.678Z'),
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
};

test("access log line in Envoy's default format", () => {
  const line = formatAccessLog(ENTRY);
  assert.equal(
    line,
    '[2026-01-02T03:04:05.678Z] "GET /hello HTTP/1.1" 200 - 0 42 3 2 "-" "curl/7.88.1" "abc" "helloworld.sample:5000" "127.10.0.7:5000" outbound|5000|v1|helloworld.sample.svc.cluster.local\n',
  );
});

test('start times keep their milliseconds, padded, across seconds', () => {
  assert.match(formatAccessLog({ ...ENTRY, startMs: Date.parse('2026-01-02T03:04:05.007Z') }), /^\[2026-01-02T03:04:05\.007Z\]/);
  assert.match(formatAccessLog({ ...ENTRY, startMs: Date.parse('2026-01-02T03:04:06.070Z') }), /^\[2026-01-02T03:04:06\.070Z\]/);
  assert.match(formatAccessLog({ ...ENTRY, startMs: Date.parse('1999-12-31T23:59:59.999Z') }), /^\[1999-12-31T23:59:59\.999Z\]/);
});

test('the buffered access log writes once per event loop turn, at once when full, and on flush', async () => {
  const writes: string[] = [];
  const log = bufferedAccessLog((t) => writes.push(t), 1000);
  log.sink(ENTRY);
  log.sink(ENTRY);
  assert.equal(writes.length, 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 1);
  assert.equal(writes[0], formatAccessLog(ENTRY).repeat(2));
  for (let i = 0; i < 6; i++) log.sink(ENTRY); // over 1000 characters: written without waiting
  assert.equal(writes.length, 2);
  log.sink(ENTRY);
  log.flush();
  assert.equal(writes.length, 3);
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 3, 'nothing left for the scheduled flush');
});
