import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainToStruct } from '../../xds/struct.js';
import { edsCluster, httpListener } from '../testutil/envoy.js';
import { transportFor } from '../upstream/transport.js';
import { decodeCluster } from './cluster.js';
import { decodeListener } from './listener.js';
import { decodeSecret } from './tls.js';

const ISTIO_SDS = { api_config_source: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] }, initial_fetch_timeout: {}, resource_api_version: 'V3' };
const common = (extra: Record<string, unknown> = {}) => ({
  tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: ISTIO_SDS }],
  combined_validation_context: {
    default_validation_context: { match_subject_alt_names: [{ prefix: 'spiffe://cluster.local/ns/sample/' }] },
    validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: ISTIO_SDS },
  },
  alpn_protocols: ['h2', 'http/1.1'],
  ...extra,
});
const downstreamTls = (context: Record<string, unknown>) => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', ...context },
});

test('listener: a DownstreamTlsContext as Istio writes it (workload secrets from the agent, SAN matchers, mTLS required)', () => {
  const l = httpListener('l', '127.247.0.1', 8443, 'r');
  (l['filter_chains'] as Record<string, unknown>[])[0]!['transport_socket'] = downstreamTls({ common_tls_context: common(), require_client_certificate: { value: true } });
  const r = decodeListener(l);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const tls = r.value.chains[0]!.tls!;
  assert.deepEqual(tls.certificate, { kind: 'sds', name: 'default', source: 'local' });
  assert.deepEqual(tls.validation?.trustedCa, { kind: 'sds', name: 'ROOTCA', source: 'local' });
  assert.deepEqual(tls.validation?.sanMatchers.map((m) => m.type), ['any']);
  assert.equal(tls.requireClientCertificate, true);
  assert.deepEqual(tls.alpn, ['h2', 'http/1.1']);
});

test('listener: verification settings the proxy does not implement are refused by name, never dropped', () => {
  const l = httpListener('l', '127.247.0.1', 8443, 'r');
  (l['filter_chains'] as Record<string, unknown>[])[0]!['transport_socket'] = downstreamTls({
    common_tls_context: common({ combined_validation_context: { default_validation_context: { verify_certificate_spki: ['abc'] }, validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {} } } } }),
  });
  const r = decodeListener(l);
  assert.ok(!r.ok);
  assert.match(r.error.join('\n'), /verify_certificate_spki: is not supported/);
});

test('cluster: transport_socket_matches pick the first entry whose fields all equal the endpoint metadata, else the cluster transport', () => {
  const tlsSocket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: common(), sni: 'outbound_.5000_._.helloworld.sample.svc.cluster.local' } };
  const r = decodeCluster(edsCluster('c', {
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: plainToStruct({ tlsMode: 'istio' }), transport_socket: tlsSocket },
      { name: 'tlsMode-disabled', match: plainToStruct({}), transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } },
    ],
  }));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const endpoint = { host: '127.247.0.2', port: 80, weight: 1, health: 'HEALTHY' as const, priority: 0, locality: { region: '', zone: '', subZone: '' }, localityWeight: 0 };
  const istio = transportFor(r.value, { ...endpoint, transportMatch: { tlsMode: 'istio' } });
  assert.equal(istio.kind, 'tls');
  assert.equal(istio.kind === 'tls' && istio.tls.sni, 'outbound_.5000_._.helloworld.sample.svc.cluster.local');
  assert.equal(transportFor(r.value, endpoint).kind, 'raw');
  assert.equal(transportFor(r.value, { ...endpoint, transportMatch: { tlsMode: 'disabled' } }).kind, 'raw');
});

test('secret: a certificate with its key, a trust bundle; unknown kinds are refused', () => {
  const cert = decodeSecret({ name: 'default', tls_certificate: { certificate_chain: { inline_string: 'C' }, private_key: { inline_bytes: Buffer.from('K').toString('base64') } } });
  assert.deepEqual(cert, { ok: true, value: { certificateChainPem: 'C', privateKeyPem: 'K' } });
  assert.deepEqual(decodeSecret({ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: 'R' } } }), { ok: true, value: { trustedCaPem: 'R' } });
  const generic = decodeSecret({ name: 'x', generic_secret: { secret: { inline_string: 's' } } });
  assert.ok(!generic.ok);
});
