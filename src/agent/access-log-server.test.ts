// A real Envoy with the translator's access log on its HCM and the agent's `envoy_accesslog_service`
// pipe cluster in its bootstrap: its access logs reach the agent's access log service, and the agent
// counts them as Istio's metrics, labelled from the workload table.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { envoyBootstrap } from '../envoy/bootstrap.js';
import { NO_ENVOY, testEnvoyPath } from '../envoy/testdata/live-envoy.js';
import { EnvoySupervisor } from '../envoy/supervisor.js';
import type { HttpAccessLogEntry } from '../telemetry/access-log-entry.js';
import { ACCESS_LOG_NAMES } from '../telemetry/istio-labels.js';
import { ENVOY_DEFAULT_BUCKETS_MS, ISTIO_REQUEST_DURATION, ISTIO_REQUESTS_TOTAL } from '../telemetry/istio-metric-names.js';
import { workloadInfo } from '../telemetry/workload-table.js';
import { accessLogEntry } from '../translate/access-log.js';
import { startAccessLogServer, type RunningAccessLogServer } from './access-log-server.js';
import { IstioMetrics } from './istio-metrics.js';

const POD_IP = '127.201.8.1';
const UPSTREAM_IP = '127.201.8.2';
const ADMIN_PORT = 18500;
const LISTENER_PORT = 18501;
const UPSTREAM_PORT = 18502;
const CLUSTER = 'outbound|5000|v2|helloworld.sample.svc.cluster.local';
const REQUESTS = 7;

const envoyPath = testEnvoyPath();

describe('Envoy\'s access logs to the agent (ALS), counted as Istio metrics', { skip: envoyPath ? false : NO_ENVOY }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'als-'));
  const entries: Array<{ logName: string; entry: HttpAccessLogEntry }> = [];
  const registry = new Registry();
  const metrics = new IstioMetrics({
    registry,
    podIp: POD_IP,
    self: { ...workloadInfo({ name: 'sleep-5c6d-abcde', namespace: 'sample', labels: { app: 'sleep', 'pod-template-hash': '5c6d' }, cluster: 'cluster-1' }), principal: '' },
  });
  let upstream: Server;
  let als: RunningAccessLogServer;
  let envoy: EnvoySupervisor;
  const envoyLog: string[] = [];

  before(async () => {
    metrics.setWorkloadTable({
      workloads: {
        [UPSTREAM_IP]: {
          ...workloadInfo({ name: 'helloworld-v2-6b7c-q1w2e', namespace: 'sample', labels: { app: 'helloworld', version: 'v2', 'pod-template-hash': '6b7c' }, cluster: 'cluster-2' }),
          services: [{ host: 'helloworld.sample.svc.cluster.local', target_port: UPSTREAM_PORT }],
        },
      },
    });
    upstream = createServer((req, res) => res.end(`hello ${req.url}\n`));
    await new Promise<void>((resolve) => upstream.listen(UPSTREAM_PORT, UPSTREAM_IP, resolve));
    als = await startAccessLogServer({
      socketPath: join(dir, 'ALS'),
      onEntry: (logName, entry) => {
        entries.push({ logName, entry });
        metrics.record(logName, entry);
      },
      log: (l) => envoyLog.push(l),
    });
    const bootstrap = envoyBootstrap({
      nodeId: `sidecar~${POD_IP}~sleep-5c6d-abcde.sample~sample.svc.cluster.local`, cluster: 'sleep.sample', metadata: { CLUSTER_ID: 'cluster-1' },
      xdsAddress: `${POD_IP}:1`, podIp: POD_IP, adminPort: ADMIN_PORT, prometheusPort: 0, accessLogSocket: als.socketPath,
    });
    // Static config only: the HCM as the translator writes a sidecar's outbound one, with the agent's logger.
    delete bootstrap['dynamic_resources'];
    const statics = bootstrap['static_resources'] as { clusters: unknown[]; listeners: unknown[] };
    statics.clusters.push({
      name: CLUSTER, type: 'STATIC', connect_timeout: '1s',
      load_assignment: { cluster_name: CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: UPSTREAM_IP, port_value: UPSTREAM_PORT } } } }] }] },
    });
    statics.listeners.push({
      name: 'outbound', address: { socket_address: { address: POD_IP, port_value: LISTENER_PORT } }, traffic_direction: 'OUTBOUND',
      filter_chains: [{
        filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'outbound',
            route_config: { virtual_hosts: [{ name: 'hw', domains: ['*'], routes: [{ match: { prefix: '/hello' }, route: { cluster: CLUSTER } }] }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            access_log: [accessLogEntry(ACCESS_LOG_NAMES.outbound)],
          },
        }],
      }],
    });
    const bootstrapPath = join(dir, 'envoy.json');
    writeFileSync(bootstrapPath, JSON.stringify(bootstrap));
    envoy = new EnvoySupervisor({ binary: envoyPath!, bootstrapPath, concurrency: 1, logLevel: 'warning', drainTimeS: 1, log: (l) => envoyLog.push(l) });
    envoy.start();
    const deadline = Date.now() + 20_000;
    // Static config only: LIVE is all there is to wait for.
    const live = async (): Promise<boolean> => (await fetch(`http://${POD_IP}:${ADMIN_PORT}/ready`).catch(() => undefined))?.status === 200;
    while (!(await live())) {
      if (Date.now() > deadline) throw new Error(`Envoy did not get ready: ${envoyLog.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    await envoy?.stop();
    await als?.close();
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${REQUESTS} requests and a 404 reach the agent, each once, with Istio's labels`, async () => {
    for (let i = 0; i < REQUESTS; i++) {
      const res = await fetch(`http://${POD_IP}:${LISTENER_PORT}/hello/${i}`);
      assert.equal(res.status, 200);
      await res.text();
    }
    const missing = await fetch(`http://${POD_IP}:${LISTENER_PORT}/nowhere`);
    assert.equal(missing.status, 404);
    await missing.text();
    // Envoy flushes its access log buffer every second.
    const deadline = Date.now() + 10_000;
    while (entries.length < REQUESTS + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(entries.length, REQUESTS + 1, `entries: ${JSON.stringify(entries.map((e) => e.entry.request?.path))}; ${envoyLog.join('\n')}`);
    assert.ok(entries.every((e) => e.logName === ACCESS_LOG_NAMES.outbound), 'the logger\'s name arrives with every entry');
    const first = entries[0]!.entry;
    assert.equal(first.common_properties?.upstream_cluster, CLUSTER);
    assert.equal(first.common_properties?.upstream_remote_address?.socket_address?.address, UPSTREAM_IP);
    assert.equal(first.response?.response_code?.value, 200);
    assert.ok((first.request?.request_headers_bytes ?? 0) > 0);

    const counted = (await registry.getSingleMetric(ISTIO_REQUESTS_TOTAL)!.get()).values;
    const ok = counted.filter((v) => v.labels.response_code === '200');
    assert.equal(ok.length, 1, 'one series for the 200s');
    assert.equal(ok[0]!.value, REQUESTS);
    assert.deepEqual(
      { ...ok[0]!.labels },
      {
        reporter: 'source', source_workload: 'sleep', source_workload_namespace: 'sample', source_principal: 'unknown', source_app: 'sleep', source_version: 'unknown',
        source_cluster: 'cluster-1', source_canonical_service: 'sleep', source_canonical_revision: 'latest',
        destination_workload: 'helloworld-v2', destination_workload_namespace: 'sample', destination_principal: 'unknown', destination_app: 'helloworld',
        destination_version: 'v2', destination_service: 'helloworld.sample.svc.cluster.local', destination_service_name: 'helloworld',
        destination_service_namespace: 'sample', destination_cluster: 'cluster-2', destination_canonical_service: 'helloworld', destination_canonical_revision: 'v2',
        request_protocol: 'http', response_code: '200', grpc_response_status: '', response_flags: '-', connection_security_policy: 'unknown',
      },
    );
    const notFound = counted.filter((v) => v.labels.response_code === '404');
    assert.equal(notFound.length, 1);
    assert.equal(notFound[0]!.value, 1);
    assert.equal(notFound[0]!.labels.response_flags, 'NR');
    assert.equal(notFound[0]!.labels.destination_service, 'unknown');

    const text = await registry.getSingleMetricAsString(ISTIO_REQUEST_DURATION);
    for (const le of ENVOY_DEFAULT_BUCKETS_MS) assert.ok(text.includes(`le="${le}"`), `bucket ${le}`);
    assert.match(text, new RegExp(`${ISTIO_REQUEST_DURATION}_count\\{[^}]*response_code="200"[^}]*\\} ${REQUESTS}\\n`));
  });
});
