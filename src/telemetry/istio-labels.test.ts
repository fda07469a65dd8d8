// Istio's labels for one request, from its access log entry: the reporter, whose workload is the peer,
// principals and the security policy, the service from the cluster name, flags and codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpAccessLogEntry } from './access-log-entry.js';
import { ACCESS_LOG_NAMES, requestSample } from './istio-labels.js';
import { ISTIO_HTTP_LABELS } from './istio-metric-names.js';
import { workloadInfo, type WorkloadInfo } from './workload-table.js';

const sleep: WorkloadInfo = {
  ...workloadInfo({ name: 'sleep-5c6d-abcde', namespace: 'sample', labels: { app: 'sleep', 'pod-template-hash': '5c6d' }, cluster: 'cluster-1', serviceAccount: 'sleep' }),
  services: [{ host: 'sleep.sample.svc.cluster.local', target_port: 80 }],
  // As an agent without certificates describes itself.
  principal: '',
};
const hwV2: WorkloadInfo = {
  ...workloadInfo({ name: 'helloworld-v2-6b7c-q1w2e', namespace: 'sample', labels: { app: 'helloworld', version: 'v2', 'pod-template-hash': '6b7c' }, cluster: 'cluster-2', serviceAccount: 'default' }),
  services: [{ host: 'helloworld.sample.svc.cluster.local', target_port: 5000 }],
};
const table: Record<string, WorkloadInfo> = { '127.10.0.9': sleep, '127.20.0.7': hwV2 };
const lookup = (ip: string) => table[ip];
const addr = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

const outbound: HttpAccessLogEntry = {
  common_properties: {
    downstream_remote_address: addr('127.10.128.9', 40000),
    upstream_remote_address: addr('127.20.0.7', 5000),
    upstream_cluster: 'outbound|5000|v2|helloworld.sample.svc.cluster.local',
    response_flags: {},
    duration: { seconds: 0, nanos: 12_500_000 },
  },
  protocol_version: 'HTTP11',
  request: { request_headers_bytes: 100, request_body_bytes: 20 },
  response: { response_code: { value: 200 }, response_headers_bytes: 80, response_body_bytes: 60 },
};

const inbound: HttpAccessLogEntry = {
  common_properties: {
    downstream_remote_address: addr('127.10.0.9', 41000),
    downstream_local_address: addr('127.20.0.7', 5000),
    tls_properties: {
      peer_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/sample/sa/sleep' }] },
      local_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/sample/sa/default' }] },
    },
    upstream_remote_address: addr('127.20.128.7', 5000),
    upstream_cluster: 'inbound|5000||',
    time_to_last_downstream_tx_byte: { nanos: 3_000_000 },
  },
  protocol_version: 'HTTP11',
  request: { request_headers_bytes: 150, request_body_bytes: 0 },
  response: { response_code: { value: 200 }, response_headers_bytes: 90, response_body_bytes: 60 },
};

describe('Istio labels of a request', () => {
  it('outbound from a pod with certificates to a mesh workload: reporter=source, the upstream host is the destination', () => {
    const self = { ...sleep, principal: 'spiffe://cluster.local/ns/sample/sa/sleep' };
    const s = requestSample(ACCESS_LOG_NAMES.outbound, outbound, { self, lookup });
    assert.deepEqual(s.labels, {
      reporter: 'source',
      source_workload: 'sleep', source_workload_namespace: 'sample', source_principal: 'spiffe://cluster.local/ns/sample/sa/sleep',
      source_app: 'sleep', source_version: 'unknown', source_cluster: 'cluster-1', source_canonical_service: 'sleep', source_canonical_revision: 'latest',
      destination_workload: 'helloworld-v2', destination_workload_namespace: 'sample', destination_principal: 'spiffe://cluster.local/ns/sample/sa/default',
      destination_app: 'helloworld', destination_version: 'v2', destination_service: 'helloworld.sample.svc.cluster.local',
      destination_service_name: 'helloworld', destination_service_namespace: 'sample', destination_cluster: 'cluster-2',
      destination_canonical_service: 'helloworld', destination_canonical_revision: 'v2',
      request_protocol: 'http', response_code: '200', grpc_response_status: '', response_flags: '-', connection_security_policy: 'unknown',
    });
    assert.deepEqual(Object.keys(s.labels).sort(), [...ISTIO_HTTP_LABELS].sort());
    assert.equal(s.durationMs, 12.5);
    assert.equal(s.requestBytes, 120);
    assert.equal(s.responseBytes, 140);
  });

  it('inbound with a client certificate: reporter=destination, the downstream address is the source, mutual_tls', () => {
    const s = requestSample(ACCESS_LOG_NAMES.inbound, inbound, { self: hwV2, lookup });
    assert.equal(s.labels.reporter, 'destination');
    assert.equal(s.labels.source_workload, 'sleep');
    assert.equal(s.labels.source_principal, 'spiffe://cluster.local/ns/sample/sa/sleep');
    assert.equal(s.labels.destination_principal, 'spiffe://cluster.local/ns/sample/sa/default');
    assert.equal(s.labels.destination_workload, 'helloworld-v2');
    assert.equal(s.labels.destination_cluster, 'cluster-2');
    assert.equal(s.labels.destination_service, 'helloworld.sample.svc.cluster.local', 'the pod\'s service on the inbound cluster\'s port');
    assert.equal(s.labels.connection_security_policy, 'mutual_tls');
    assert.equal(s.durationMs, 3, 'time_to_last_downstream_tx_byte when the entry has no duration');
  });

  const cases: Array<{ name: string; logName: string; entry: HttpAccessLogEntry; want: Record<string, string> }> = [
    {
      name: 'inbound in plaintext: connection_security_policy none, principals unknown',
      logName: ACCESS_LOG_NAMES.inbound,
      entry: { ...inbound, common_properties: { ...inbound.common_properties, tls_properties: {} } },
      want: { connection_security_policy: 'none', source_principal: 'unknown', destination_principal: 'unknown', source_workload: 'sleep' },
    },
    {
      name: 'an unknown peer is unknown in every label of its side',
      logName: ACCESS_LOG_NAMES.inbound,
      entry: { ...inbound, common_properties: { ...inbound.common_properties, downstream_remote_address: addr('10.9.9.9', 1) } },
      want: { source_workload: 'unknown', source_workload_namespace: 'unknown', source_app: 'unknown', source_cluster: 'unknown', source_canonical_service: 'unknown' },
    },
    {
      name: 'no route (404 NR): no cluster, no upstream: the destination is unknown',
      logName: ACCESS_LOG_NAMES.outbound,
      entry: { common_properties: { response_flags: { no_route_found: true } }, response: { response_code: { value: 404 } } },
      want: { reporter: 'source', response_code: '404', response_flags: 'NR', destination_service: 'unknown', destination_workload: 'unknown' },
    },
    {
      name: 'a gateway reports as source; flags in Envoy\'s order',
      logName: ACCESS_LOG_NAMES.gateway,
      entry: { ...outbound, common_properties: { ...outbound.common_properties, response_flags: { upstream_retry_limit_exceeded: true, upstream_connection_failure: true } } },
      want: { reporter: 'source', response_flags: 'UF,URX', destination_version: 'v2' },
    },
    {
      name: 'gRPC: protocol from content-type, status from the trailers',
      logName: ACCESS_LOG_NAMES.outbound,
      entry: { ...outbound, request: { request_headers: { 'content-type': 'application/grpc' } }, response: { response_code: { value: 200 }, response_trailers: { 'grpc-status': '14' } } },
      want: { request_protocol: 'grpc', grpc_response_status: '14' },
    },
    {
      name: 'a pod without certificates reports no principals at the source',
      logName: ACCESS_LOG_NAMES.outbound,
      entry: outbound,
      want: { source_principal: 'unknown', destination_principal: 'unknown' },
    },
    {
      name: 'inbound behind a gateway: the connection\'s peer is the source, not the client in x-forwarded-for',
      logName: ACCESS_LOG_NAMES.inbound,
      entry: { ...inbound, common_properties: { ...inbound.common_properties, downstream_remote_address: addr('192.0.2.1', 0), downstream_direct_remote_address: addr('127.10.0.9', 41000) } },
      want: { source_workload: 'sleep' },
    },
    {
      name: 'an unnamed logger: the inbound cluster says destination',
      logName: '',
      entry: inbound,
      want: { reporter: 'destination' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const self = c.logName === ACCESS_LOG_NAMES.outbound || c.logName === ACCESS_LOG_NAMES.gateway ? sleep : hwV2;
      const s = requestSample(c.logName, c.entry, { self, lookup });
      for (const [label, value] of Object.entries(c.want)) assert.equal(s.labels[label as keyof typeof s.labels], value, label);
    });
  }
});
