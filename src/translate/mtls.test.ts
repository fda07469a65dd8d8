// Mutual TLS in translation: PeerAuthentication precedence, the exact Envoy shapes of auto mTLS,
// DestinationRule tls modes and inbound chains, and what analyze says about them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerAuthentication } from '../config/istio-types.js';
import type { IstioObject, MeshSnapshot } from '../registry/model.js';
import type { Cluster, Listener, ProxyResources, TransportSocketMatch } from './envoy-types.js';
import { portMtls, workloadMtls } from './peer-authentication.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters, type FixtureCluster } from './testdata/fixture.js';
import { analyze, MeshTranslator, translate } from './translate.js';

const HW = 'helloworld.sample.svc.cluster.local';
const SDS = {
  api_config_source: { api_type: 'GRPC', set_node_on_first_message_only: true, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] },
  initial_fetch_timeout: { seconds: 0, nanos: 0 },
  resource_api_version: 'V3',
};
const ADS_SDS = { ads: {}, resource_api_version: 'V3' };

// ---- precedence --------------------------------------------------------------------------------

function pa(namespace: string, name: string, spec: PeerAuthentication, created = '2024-01-01T00:00:00Z'): IstioObject<PeerAuthentication> {
  return { name, namespace, spec, cluster: 'c', creationTimestamp: created };
}
const web = { namespace: 'shop', labels: { app: 'web' } };

describe('PeerAuthentication precedence (Istio ComposePeerAuthentication)', () => {
  const table: Array<{ name: string; policies: IstioObject<PeerAuthentication>[]; ports: Record<number, string> }> = [
    { name: 'nothing: PERMISSIVE', policies: [], ports: { 80: 'PERMISSIVE' } },
    { name: 'mesh-wide STRICT', policies: [pa('istio-system', 'm', { mtls: { mode: 'STRICT' } })], ports: { 80: 'STRICT' } },
    { name: 'namespace DISABLE over mesh STRICT', policies: [pa('istio-system', 'm', { mtls: { mode: 'STRICT' } }), pa('shop', 'n', { mtls: { mode: 'DISABLE' } })], ports: { 80: 'DISABLE' } },
    { name: 'namespace UNSET inherits the mesh', policies: [pa('istio-system', 'm', { mtls: { mode: 'STRICT' } }), pa('shop', 'n', { mtls: { mode: 'UNSET' } })], ports: { 80: 'STRICT' } },
    { name: 'namespace without mtls inherits the mesh', policies: [pa('istio-system', 'm', { mtls: { mode: 'DISABLE' } }), pa('shop', 'n', {})], ports: { 80: 'DISABLE' } },
    {
      name: 'workload STRICT over namespace PERMISSIVE, port-level DISABLE, port-level UNSET inherits the workload',
      policies: [pa('shop', 'n', { mtls: { mode: 'PERMISSIVE' } }), pa('shop', 'w', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'DISABLE' }, '9000': { mode: 'UNSET' } } })],
      ports: { 80: 'STRICT', 8080: 'DISABLE', 9000: 'STRICT' },
    },
    {
      name: 'workload UNSET with port-level STRICT inherits the namespace elsewhere',
      policies: [pa('shop', 'n', { mtls: { mode: 'DISABLE' } }), pa('shop', 'w', { selector: { matchLabels: { app: 'web' } }, portLevelMtls: { '8080': { mode: 'STRICT' } } })],
      ports: { 80: 'DISABLE', 8080: 'STRICT' },
    },
    { name: 'a selector that does not match', policies: [pa('shop', 'w', { selector: { matchLabels: { app: 'db' } }, mtls: { mode: 'STRICT' } })], ports: { 80: 'PERMISSIVE' } },
    { name: 'another namespace\'s policy', policies: [pa('other', 'n', { mtls: { mode: 'STRICT' } })], ports: { 80: 'PERMISSIVE' } },
    { name: 'a selector in the root namespace is ignored', policies: [pa('istio-system', 'w', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' } })], ports: { 80: 'PERMISSIVE' } },
    {
      name: 'two namespace-wide: the oldest wins',
      policies: [pa('shop', 'b-new', { mtls: { mode: 'STRICT' } }, '2024-02-01T00:00:00Z'), pa('shop', 'z-old', { mtls: { mode: 'DISABLE' } }, '2023-01-01T00:00:00Z')],
      ports: { 80: 'DISABLE' },
    },
    {
      name: 'two workload policies: the oldest wins (its port levels too)',
      policies: [
        pa('shop', 'a-new', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'DISABLE' } }, '2024-02-01T00:00:00Z'),
        pa('shop', 'z-old', { selector: { matchLabels: { app: 'web' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } }, '2023-01-01T00:00:00Z'),
      ],
      ports: { 80: 'STRICT', 8080: 'PERMISSIVE' },
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const mtls = workloadMtls(c.policies, 'istio-system', web);
      for (const [port, mode] of Object.entries(c.ports)) assert.equal(portMtls(mtls, Number(port)), mode, `port ${port}`);
    });
  }
});

// ---- translation -------------------------------------------------------------------------------

function mesh(yaml = '', edit?: (s: MeshSnapshot) => void): { clusters: FixtureCluster[]; snapshot: MeshSnapshot } {
  const clusters = scenarioClusters(['destinationrule']);
  if (yaml) for (const cluster of clusters) cluster.apply('sample', parseYaml(yaml, 'mtls test'));
  const snapshot = buildSnapshot(clusters);
  edit?.(snapshot);
  return { clusters, snapshot };
}
const sleep = (m: ReturnType<typeof mesh>, kind: 'sidecar' | 'proxyless' = 'sidecar') => translate(m.snapshot, proxyFor(m.clusters[0]!.pod('sleep'), kind));
const hello = (m: ReturnType<typeof mesh>) => translate(m.snapshot, proxyFor(m.clusters[0]!.pod('helloworld-v1'), 'sidecar'));
const cluster = (r: ProxyResources, name: string): Cluster => {
  const found = r.clusters.find((c) => c.name === name);
  assert.ok(found, `cluster ${name}`);
  return found;
};
const brief = (r: { problems: ProxyResources['problems'] }) => r.problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`);

function istioMutual(sans: string[], sni: string) {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS }],
        combined_validation_context: {
          default_validation_context: sans.length > 0 ? { match_typed_subject_alt_names: sans.map((s) => ({ san_type: 'URI', matcher: { exact: s } })) } : {},
          validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS },
        },
        alpn_protocols: ['istio-peer-exchange', 'istio'],
      },
      sni,
    },
  };
}
const autoMtls = (sans: string[], sni: string): TransportSocketMatch[] => [
  { name: 'tlsMode-istio', match: { fields: { tlsMode: { string_value: 'istio' } } }, transport_socket: istioMutual(sans, sni) as TransportSocketMatch['transport_socket'] },
  { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } },
];
const TLS_META = { tlsMode: { string_value: 'istio' } };
const endpointMeta = (r: ProxyResources, clusterName: string) =>
  r.endpoints.find((e) => e.cluster_name === clusterName)!.endpoints.flatMap((l) => l.lb_endpoints.map((e) => [e.endpoint.address.socket_address.address, e.metadata?.filter_metadata['envoy.transport_socket_match']?.fields ?? null]));

describe('auto mTLS (no tls in any DestinationRule)', () => {
  it('every outbound cluster to a mesh service: mesh mTLS to sidecar endpoints, plaintext to the rest; SANs of the service accounts; Istio\'s SNI per subset', () => {
    const r = sleep(mesh());
    assert.deepEqual(cluster(r, `outbound|5000||${HW}`).transport_socket_matches, autoMtls(['spiffe://cluster.local/ns/sample/sa/default'], `outbound_.5000_._.${HW}`));
    assert.deepEqual(cluster(r, `outbound|5000|v1|${HW}`).transport_socket_matches, autoMtls(['spiffe://cluster.local/ns/sample/sa/default'], `outbound_.5000_.v1_.${HW}`));
    assert.deepEqual(cluster(r, 'outbound|80||sleep.sample.svc.cluster.local').transport_socket_matches, autoMtls(['spiffe://cluster.local/ns/sample/sa/sleep'], 'outbound_.80_._.sleep.sample.svc.cluster.local'));
    assert.equal(cluster(r, `outbound|5000||${HW}`).transport_socket, undefined);
    assert.deepEqual(endpointMeta(r, `outbound|5000||${HW}`), [['127.10.0.2', TLS_META], ['127.20.0.2', TLS_META]]);
    // The gateway's pods run istio-proxy alone in this fixture: no sidecar, no tlsMode.
    assert.ok(endpointMeta(r, 'outbound|80||istio-ingressgateway.istio-gateway.svc.cluster.local').every(([, m]) => m === null));
    assert.deepEqual(r.problems, []);
  });

  it('the trust domain comes from the mesh config; SANs are sorted and once each', () => {
    const m = mesh('', (s) => {
      s.trustDomain = 'example.org';
      s.endpoints = s.endpoints.map((e) => (e.hostname === HW && e.cluster === 'cluster-2' ? { ...e, serviceAccount: 'hello-v2' } : e));
    });
    const tls = cluster(sleep(m), `outbound|5000||${HW}`).transport_socket_matches?.[0]?.transport_socket.typed_config as { common_tls_context: { combined_validation_context: unknown } };
    assert.deepEqual(tls.common_tls_context.combined_validation_context, {
      default_validation_context: { match_typed_subject_alt_names: ['default', 'hello-v2'].map((sa) => ({ san_type: 'URI', matcher: { exact: `spiffe://example.org/ns/sample/sa/${sa}` } })) },
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS },
    });
  });

  it('gateways get the same clusters; proxyless gRPC clients get none of it (no certificates)', () => {
    const m = mesh();
    const gw = translate(m.snapshot, proxyFor(m.clusters[0]!.pod('istio-ingressgateway'), 'router'));
    assert.deepEqual(cluster(gw, `outbound|5000|v2|${HW}`).transport_socket_matches, autoMtls(['spiffe://cluster.local/ns/sample/sa/default'], `outbound_.5000_.v2_.${HW}`));
    const grpc = sleep(m, 'proxyless');
    assert.ok(grpc.clusters.every((c) => c.transport_socket === undefined && c.transport_socket_matches === undefined));
    assert.ok(grpc.endpoints.every((cla) => cla.endpoints.every((l) => l.lb_endpoints.every((e) => e.metadata?.filter_metadata['envoy.transport_socket_match'] === undefined))));
  });

  it('a namespace (or the mesh) that disables mTLS gets no auto mTLS; a workload port DISABLE drops its endpoints\' tlsMode', () => {
    const ns = sleep(mesh(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: off}
spec: {mtls: {mode: DISABLE}}
`));
    assert.equal(cluster(ns, `outbound|5000||${HW}`).transport_socket_matches, undefined);
    const port = sleep(mesh(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: v1-plain}
spec: {selector: {matchLabels: {version: v1}}, mtls: {mode: STRICT}, portLevelMtls: {"5000": {mode: DISABLE}}}
`));
    assert.ok(cluster(port, `outbound|5000||${HW}`).transport_socket_matches);
    assert.deepEqual(endpointMeta(port, `outbound|5000||${HW}`), [['127.10.0.2', null], ['127.20.0.2', TLS_META]]);
  });

  it('ServiceEntries: MESH_EXTERNAL gets none; MESH_INTERNAL gets auto mTLS with its subjectAltNames and its endpoints\' service accounts', () => {
    const r = sleep(mesh(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec: {hosts: [ext.test], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 192.0.2.1}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vm}
spec:
  hosts: [vm.test]
  location: MESH_INTERNAL
  subjectAltNames: [spiffe://cluster.local/ns/vms/sa/legacy]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 192.0.2.2, serviceAccount: vm, labels: {security.istio.io/tlsMode: istio}}
  - {address: 192.0.2.3}
`));
    assert.equal(cluster(r, 'outbound|80||ext.test').transport_socket_matches, undefined);
    assert.deepEqual(cluster(r, 'outbound|80||vm.test').transport_socket_matches,
      autoMtls(['spiffe://cluster.local/ns/sample/sa/vm', 'spiffe://cluster.local/ns/vms/sa/legacy'], 'outbound_.80_._.vm.test'));
    assert.deepEqual(endpointMeta(r, 'outbound|80||vm.test'), [['192.0.2.2', TLS_META], ['192.0.2.3', null]]);
    assert.deepEqual(brief(r), []);
  });
});

function drTls(tls: string, extra = ''): string {
  return `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  trafficPolicy:
    tls: ${tls}
${extra}  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}, trafficPolicy: {tls: {mode: ISTIO_MUTUAL, sni: v2.mesh}}}
`;
}

describe('DestinationRule trafficPolicy.tls', () => {
  it('DISABLE: plaintext (no socket, no matches); a subset\'s own tls replaces it', () => {
    const r = sleep(mesh(drTls('{mode: DISABLE}')));
    const top = cluster(r, `outbound|5000||${HW}`);
    assert.equal(top.transport_socket, undefined);
    assert.equal(top.transport_socket_matches, undefined);
    assert.equal(cluster(r, `outbound|5000|v1|${HW}`).transport_socket_matches, undefined);
    assert.deepEqual(cluster(r, `outbound|5000|v2|${HW}`).transport_socket, istioMutual(['spiffe://cluster.local/ns/sample/sa/default'], 'v2.mesh'));
    assert.deepEqual(brief(r), []);
  });

  it('ISTIO_MUTUAL: mesh mTLS to every endpoint (a transport_socket, not matches); written sni and subjectAltNames win', () => {
    const r = sleep(mesh(drTls('{mode: ISTIO_MUTUAL}')));
    assert.deepEqual(cluster(r, `outbound|5000||${HW}`).transport_socket, istioMutual(['spiffe://cluster.local/ns/sample/sa/default'], `outbound_.5000_._.${HW}`));
    assert.equal(cluster(r, `outbound|5000||${HW}`).transport_socket_matches, undefined);
    const own = sleep(mesh(drTls('{mode: ISTIO_MUTUAL, sni: hello.mesh, subjectAltNames: [spiffe://other/ns/a/sa/b]}')));
    assert.deepEqual(cluster(own, `outbound|5000||${HW}`).transport_socket, istioMutual(['spiffe://other/ns/a/sa/b'], 'hello.mesh'));
  });

  it('SIMPLE with credentialName: the Secret\'s CA over ADS, SANs, sni', () => {
    const r = sleep(mesh(drTls('{mode: SIMPLE, credentialName: hello-cert, sni: hello.example.com, subjectAltNames: [hello.example.com, "spiffe://x/ns/y/sa/z"]}')));
    assert.deepEqual(cluster(r, `outbound|5000||${HW}`).transport_socket, {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'hello.example.com' } }, { san_type: 'URI', matcher: { exact: 'spiffe://x/ns/y/sa/z' } }] },
            validation_context_sds_secret_config: { name: 'kubernetes://hello-cert-cacert', sds_config: ADS_SDS },
          },
        },
        sni: 'hello.example.com',
      },
    });
    // A sidecar is not served credentialName Secrets (gateways in the Secret's namespace are).
    assert.deepEqual(brief(r), ['warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.tls.credentialName']);
  });

  it('MUTUAL with credentialName at a gateway: the client certificate and the CA from the Secret; insecureSkipVerify drops the CA', () => {
    const m = mesh(drTls('{mode: MUTUAL, credentialName: client}'));
    const gw = translate(m.snapshot, proxyFor(m.clusters[0]!.pod('istio-ingressgateway'), 'router'));
    assert.deepEqual(cluster(gw, `outbound|5000||${HW}`).transport_socket?.typed_config, {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'kubernetes://client', sds_config: ADS_SDS }],
        validation_context_sds_secret_config: { name: 'kubernetes://client-cacert', sds_config: ADS_SDS },
      },
    });
    assert.deepEqual(brief(gw), []);
    const insecure = mesh(drTls('{mode: MUTUAL, credentialName: client, insecureSkipVerify: true}'));
    const gw2 = translate(insecure.snapshot, proxyFor(insecure.clusters[0]!.pod('istio-ingressgateway'), 'router'));
    assert.deepEqual(cluster(gw2, `outbound|5000||${HW}`).transport_socket?.typed_config, {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'kubernetes://client', sds_config: ADS_SDS }] },
    });
  });

  it('file paths are reported (no certificates in our pods); SIMPLE without a CA is reported as unverified', () => {
    const r = sleep(mesh(drTls('{mode: MUTUAL, caCertificates: /etc/certs/ca.pem, clientCertificate: /etc/certs/c.pem, privateKey: /etc/certs/k.pem}')));
    assert.deepEqual(cluster(r, `outbound|5000||${HW}`).transport_socket?.typed_config, {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {},
    });
    assert.deepEqual(brief(r), [
      'warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.tls',
      'warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.tls.caCertificates',
      'warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.tls.clientCertificate',
      'warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.tls.mode',
      'warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.tls.privateKey',
    ]);
  });

  it('portLevelSettings: the port\'s tls replaces the rule\'s; proxyless clients are told they stay plaintext', () => {
    const m = mesh(drTls('{mode: DISABLE}', '    portLevelSettings: [{port: {number: 5000}, tls: {mode: ISTIO_MUTUAL}}]\n'));
    assert.ok(cluster(sleep(m), `outbound|5000||${HW}`).transport_socket);
    const grpc = sleep(m, 'proxyless');
    assert.equal(cluster(grpc, `outbound|5000||${HW}`).transport_socket, undefined);
    assert.ok(brief(grpc).includes('warning unsupported-by-proxyless DestinationRule sample/helloworld spec.trafficPolicy.tls.mode'));
  });
});

// ---- inbound -----------------------------------------------------------------------------------

function inbound(r: ProxyResources, port: number): Listener {
  const found = r.listeners.find((l) => l.name.endsWith(`_${port}`) && l.traffic_direction === 'INBOUND');
  assert.ok(found, `inbound listener ${port}`);
  return found;
}
function downstream(alpn: string[]) {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: SDS }],
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: SDS } },
        alpn_protocols: alpn,
      },
      require_client_certificate: { value: true },
    },
  };
}
const TCP_SERVICE = `
apiVersion: v1
kind: Service
metadata: {name: hello-tcp}
spec: {selector: {app: helloworld}, ports: [{name: tcp, port: 9000}]}
`;
const peer = (spec: string, name = 'p') => `
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${name}}
spec: ${spec}
`;

describe('inbound listeners by PeerAuthentication', () => {
  it('PERMISSIVE (nothing set): tls_inspector, a mesh mTLS chain on Istio\'s ALPN values, and the plaintext chain exactly as without mTLS', () => {
    const r = hello(mesh(TCP_SERVICE));
    const http = inbound(r, 5000);
    assert.deepEqual(http.listener_filters, [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }]);
    assert.equal(http.filter_chains?.length, 2);
    const [tls, plain] = http.filter_chains!;
    assert.deepEqual(tls!.filter_chain_match, { transport_protocol: 'tls', application_protocols: ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'] });
    assert.deepEqual(tls!.transport_socket, downstream(['h2', 'http/1.1']));
    assert.deepEqual(plain, { filters: tls!.filters });
    const hcm = plain!.filters[0]!.typed_config as { forward_client_cert_details?: string };
    assert.equal(hcm.forward_client_cert_details, 'APPEND_FORWARD');
    const disabled = hello(mesh(TCP_SERVICE + peer('{mtls: {mode: DISABLE}}')));
    assert.deepEqual(inbound(disabled, 5000).filter_chains, [plain], 'the plaintext chain is the DISABLE listener\'s');
    assert.deepEqual(inbound(r, 9000).filter_chains?.[0]?.transport_socket, downstream(['istio-peer-exchange', 'h2', 'http/1.1']));
  });

  it('STRICT: one chain, mesh mTLS with a client certificate required; DISABLE: plaintext only; per workload port', () => {
    const r = hello(mesh(TCP_SERVICE + peer('{selector: {matchLabels: {app: helloworld}}, mtls: {mode: STRICT}, portLevelMtls: {"9000": {mode: DISABLE}}}')));
    const http = inbound(r, 5000);
    assert.equal(http.listener_filters, undefined);
    assert.equal(http.filter_chains?.length, 1);
    assert.equal(http.filter_chains?.[0]?.filter_chain_match, undefined);
    assert.deepEqual(http.filter_chains?.[0]?.transport_socket, downstream(['h2', 'http/1.1']));
    const tcp = inbound(r, 9000);
    assert.equal(tcp.listener_filters, undefined);
    assert.deepEqual(tcp.filter_chains?.map((c) => c.transport_socket), [undefined]);
  });

  it('a Sidecar\'s ingress ports follow the PeerAuthentication too', () => {
    const r = hello(mesh(peer('{mtls: {mode: STRICT}}') + `
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ingress}
spec:
  workloadSelector: {labels: {app: helloworld}}
  ingress: [{port: {number: 7000, protocol: HTTP, name: http}, defaultEndpoint: 127.0.0.1:5000}]
`));
    assert.deepEqual(inbound(r, 7000).filter_chains?.map((c) => c.transport_socket !== undefined), [true]);
  });
});

// ---- analyze -----------------------------------------------------------------------------------

describe('analyze: PeerAuthentications', () => {
  it('conflicting policies, a selector matching nothing, a DestinationRule that breaks a STRICT workload', () => {
    const m = mesh(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns-old, creationTimestamp: "2023-01-01T00:00:00Z"}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ns-new, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: hello-strict, creationTimestamp: "2023-01-01T00:00:00Z"}
spec: {selector: {matchLabels: {app: helloworld}}, mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: hello-v1, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {selector: {matchLabels: {version: v1}}, mtls: {mode: DISABLE}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: nobody}
spec: {selector: {matchLabels: {app: ghost}}, mtls: {mode: STRICT}}
---${drTls('{mode: SIMPLE, credentialName: x}')}`);
    const found = analyze(m.snapshot).filter((p) => p.kind === 'PeerAuthentication' || p.code === 'mtls-policy-conflict');
    assert.deepEqual(brief({ problems: found }), [
      'error mtls-policy-conflict DestinationRule sample/helloworld spec.subsets[0].trafficPolicy.tls.mode',
      'error mtls-policy-conflict DestinationRule sample/helloworld spec.trafficPolicy.tls.mode',
      'warning conflicting-peer-authentications PeerAuthentication sample/hello-v1 spec.selector',
      'info no-matching-workloads PeerAuthentication sample/nobody spec.selector.matchLabels',
      'warning conflicting-peer-authentications PeerAuthentication sample/ns-new spec.selector',
    ]);
    // ISTIO_MUTUAL (the v2 subset, or no tls at all) is what a STRICT workload wants.
    assert.ok(!found.some((p) => p.field.startsWith('spec.subsets[1]')));
  });

  it('the scenario with mesh-wide STRICT and no tls in any rule: nothing to say', () => {
    const m = mesh(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`);
    assert.deepEqual(analyze(m.snapshot), []);
  });
});

describe('a proxy without workload certificates (plaintextOnly)', () => {
  it('gets no TLS clusters, no tlsMode endpoints and plaintext inbound listeners whatever the policies say; its own translation scope', () => {
    const m = mesh(TCP_SERVICE + peer('{mtls: {mode: STRICT}}') + '\n---' + drTls('{mode: ISTIO_MUTUAL}'));
    const plain = { ...proxyFor(m.clusters[0]!.pod('helloworld-v1'), 'sidecar'), plaintextOnly: true };
    const translator = new MeshTranslator(m.snapshot);
    const r = translator.translate(plain);
    assert.ok(r.clusters.every((c) => c.transport_socket === undefined && c.transport_socket_matches === undefined));
    assert.ok(r.endpoints.every((cla) => cla.endpoints.every((l) => l.lb_endpoints.every((e) => e.metadata?.filter_metadata['envoy.transport_socket_match'] === undefined))));
    for (const port of [5000, 9000]) assert.deepEqual(inbound(r, port).filter_chains?.map((c) => c.transport_socket), [undefined]);
    assert.ok(brief(r).includes('warning unsupported DestinationRule sample/helloworld spec.trafficPolicy.tls.mode'));
    // The same pod with certificates, translated by the same translator, is not given the plaintext scope's clusters.
    const withCerts = translator.translate(proxyFor(m.clusters[0]!.pod('helloworld-v1'), 'sidecar'));
    assert.ok(withCerts.clusters.some((c) => c.transport_socket !== undefined));
  });
});
