// Gateway HTTPS servers: a filter chain per TLS-terminating server on the port's listener (SNI from
// the server's hosts), SDS-over-ADS certificates named as Istio names them, the Secrets a gateway is
// served (its own namespace only), and what analyze says about missing or unusable credentials.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createCertificateAuthority, issueServerCertificate, type CertificateAuthority, type IssuedCertificate } from '../security/pki/authority.js';
import { credentialOf, type GatewayCredential, type SecretLike } from '../security/credentials.js';
import type { HttpConnectionManager, Listener } from './envoy-types.js';
import type { Problem } from '../config/problems.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from './testdata/fixture.js';
import { analyze, translate } from './translate.js';

const GW_NS = 'istio-gateway';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function tlsSecret(name: string, data: Record<string, string>, namespace = GW_NS, type = 'kubernetes.io/tls'): SecretLike {
  return { type, metadata: { name, namespace }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
}

function gatewayWith(yaml: string, credentials?: GatewayCredential[]) {
  const clusters = scenarioClusters(['destinationrule']);
  for (const c of clusters) c.apply('sample', parseYaml(yaml, 'test config'));
  const snapshot = buildSnapshot(clusters);
  if (credentials) snapshot.credentials = credentials;
  const gateway = proxyFor(clusters[0]!.pod('istio-ingressgateway'), 'router');
  return { snapshot, gateway, resources: translate(snapshot, gateway) };
}

const brief = (problems: Problem[]): string[] => problems.map((p) => `${p.severity} ${p.code} ${p.kind} ${p.namespace}/${p.name} ${p.field}`);
const listenerAt = (listeners: Listener[], port: number) => listeners.find((l) => l.address?.socket_address.port_value === port);
const rdsOf = (chain: { filters: { typed_config: unknown }[] }) => (chain.filters[0]!.typed_config as HttpConnectionManager).rds?.route_config_name;

const VS = (gateway: string, hosts: string[], name = 'hello') => `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${hosts.join(', ')}]
  gateways: [${gateway}]
  http: [{route: [{destination: {host: helloworld}}]}]
`;

const server = (port: number, name: string, hosts: string[], tls: string) => `  - port: {number: ${port}, name: ${name}, protocol: HTTPS}
    hosts: [${hosts.join(', ')}]
    tls: ${tls}
`;

const gatewayYaml = (servers: string, name = 'https-gw') => `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: ${name}}
spec:
  selector: {istio: ingressgateway}
  servers:
${servers}---
`;

let ca: CertificateAuthority;
let a: IssuedCertificate;
let b: IssuedCertificate;
before(async () => {
  ca = await createCertificateAuthority('test root');
  a = await issueServerCertificate(ca, { commonName: 'a.example.com', dnsNames: ['a.example.com'], ipAddresses: [] });
  b = await issueServerCertificate(ca, { commonName: 'b.example.com', dnsNames: ['b.example.com'], ipAddresses: [] });
});

describe('gateway HTTPS servers (TLS termination)', () => {
  it('SIMPLE with credentialName: one chain matched by SNI, the certificate over ADS SDS, h2 and http/1.1, its own route configuration', () => {
    const { resources } = gatewayWith(gatewayYaml(server(443, 'https', ['a.example.com'], '{mode: SIMPLE, credentialName: a-cert}')) + VS('https-gw', ['a.example.com']),
      [credentialOf(tlsSecret('a-cert', { 'tls.crt': a.certPem, 'tls.key': a.keyPem }))!]);
    const listener = listenerAt(resources.listeners, 443)!;
    assert.equal(listener.name, '0.0.0.0_443');
    assert.deepEqual(listener.listener_filters?.map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
    assert.equal(listener.filter_chains?.length, 1);
    const chain = listener.filter_chains![0]!;
    assert.deepEqual(chain.filter_chain_match, { server_names: ['a.example.com'] });
    assert.equal(rdsOf(chain), 'https.443.https.https-gw.sample');
    assert.deepEqual(chain.transport_socket, {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: {
          alpn_protocols: ['h2', 'http/1.1'],
          tls_certificate_sds_secret_configs: [{ name: 'kubernetes://a-cert', sds_config: { ads: {}, resource_api_version: 'V3' } }],
        },
        require_client_certificate: { value: false },
      },
    });
    const route = resources.routes.find((r) => r.name === 'https.443.https.https-gw.sample')!;
    assert.deepEqual(route.virtual_hosts.map((v) => v.domains), [['a.example.com', 'a.example.com:*']]);
    assert.deepEqual(resources.secrets, [{ name: 'kubernetes://a-cert', tls_certificate: { certificate_chain: { inline_string: a.certPem }, private_key: { inline_string: a.keyPem } } }]);
    assert.deepEqual(brief(resources.problems), []);
  });

  it('several servers on 443 with different hosts: one listener, a chain each, each host only in its server\'s route configuration', () => {
    const { resources } = gatewayWith(
      gatewayYaml(server(443, 'https-a', ['a.example.com'], '{mode: SIMPLE, credentialName: a-cert}') + server(443, 'https-b', ['sample/b.example.com', '"*.b.example.com"'], '{mode: SIMPLE, credentialName: b-cert}')) +
        VS('https-gw', ['a.example.com', 'b.example.com']),
      [credentialOf(tlsSecret('a-cert', { 'tls.crt': a.certPem, 'tls.key': a.keyPem }))!, credentialOf(tlsSecret('b-cert', { cert: b.certPem, key: b.keyPem }, GW_NS, 'Opaque'))!]);
    const listeners = resources.listeners.filter((l) => l.address?.socket_address.port_value === 443);
    assert.equal(listeners.length, 1);
    assert.deepEqual(listeners[0]!.filter_chains!.map((c) => [c.filter_chain_match?.server_names, rdsOf(c)]), [
      [['a.example.com'], 'https.443.https-a.https-gw.sample'],
      [['*.b.example.com', 'b.example.com'], 'https.443.https-b.https-gw.sample'],
    ]);
    const domains = (name: string) => resources.routes.find((r) => r.name === name)!.virtual_hosts.flatMap((v) => v.domains);
    assert.deepEqual(domains('https.443.https-a.https-gw.sample'), ['a.example.com', 'a.example.com:*']);
    assert.deepEqual(domains('https.443.https-b.https-gw.sample'), ['b.example.com', 'b.example.com:*']);
    assert.deepEqual(resources.secrets?.map((s) => s.name), ['kubernetes://a-cert', 'kubernetes://b-cert']);
  });

  it('MUTUAL: client certificates required and checked against kubernetes://<name>-cacert (ca.crt of the Secret, or a Secret <name>-cacert first)', () => {
    const yaml = gatewayYaml(server(443, 'https', ['a.example.com'], '{mode: MUTUAL, credentialName: a-cert, subjectAltNames: [client.example.com], minProtocolVersion: TLSV1_2, maxProtocolVersion: TLSV1_3, cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-GCM-SHA256]}')) + VS('https-gw', ['a.example.com']);
    const own = gatewayWith(yaml, [credentialOf(tlsSecret('a-cert', { 'tls.crt': a.certPem, 'tls.key': a.keyPem, 'ca.crt': ca.certPem }))!]);
    const context = listenerAt(own.resources.listeners, 443)!.filter_chains![0]!.transport_socket!.typed_config as Record<string, unknown>;
    assert.deepEqual(context['require_client_certificate'], { value: true });
    const common = context['common_tls_context'] as Record<string, unknown>;
    assert.deepEqual(common['tls_params'], { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3', cipher_suites: ['ECDHE-ECDSA-AES128-GCM-SHA256'] });
    assert.deepEqual(common['combined_validation_context'], {
      default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'client.example.com' } }, { san_type: 'URI', matcher: { exact: 'client.example.com' } }] },
      validation_context_sds_secret_config: { name: 'kubernetes://a-cert-cacert', sds_config: { ads: {}, resource_api_version: 'V3' } },
    });
    assert.deepEqual(own.resources.secrets?.map((s) => s.name), ['kubernetes://a-cert', 'kubernetes://a-cert-cacert']);
    assert.deepEqual(own.resources.secrets?.[1], { name: 'kubernetes://a-cert-cacert', validation_context: { trusted_ca: { inline_string: ca.certPem } } });
    // A separate <name>-cacert Secret wins over the ca.crt of the certificate's own Secret (Istio's GetCaCert).
    const separate = gatewayWith(yaml, [
      credentialOf(tlsSecret('a-cert', { 'tls.crt': a.certPem, 'tls.key': a.keyPem, 'ca.crt': ca.certPem }))!,
      credentialOf(tlsSecret('a-cert-cacert', { cacert: b.certPem }, GW_NS, 'Opaque'))!,
    ]);
    assert.deepEqual(separate.resources.secrets?.[1], { name: 'kubernetes://a-cert-cacert', validation_context: { trusted_ca: { inline_string: b.certPem } } });
  });

  it('Secrets of another namespace are never served to the gateway, and analyze reports the missing credential (IST0101)', () => {
    const { resources, snapshot } = gatewayWith(gatewayYaml(server(443, 'https', ['a.example.com'], '{mode: SIMPLE, credentialName: a-cert}')) + VS('https-gw', ['a.example.com']),
      [credentialOf(tlsSecret('a-cert', { 'tls.crt': a.certPem, 'tls.key': a.keyPem }, 'sample'))!]);
    assert.equal(resources.secrets, undefined);
    assert.equal(listenerAt(resources.listeners, 443)?.filter_chains?.length, 1, 'the chain stays (Envoy warms it until the Secret exists)');
    const problems = analyze(snapshot).filter((p) => p.code.endsWith('-credential'));
    assert.deepEqual(brief(problems), ['error unknown-credential Gateway sample/https-gw spec.servers[0].tls.credentialName']);
    assert.match(problems[0]!.message, /kubernetes:\/\/a-cert cannot be served to the gateway pods in namespace istio-gateway: Secret a-cert does not exist/);
  });

  it('a Secret whose key is not the certificate\'s is not served, and analyze says why (IST0161)', () => {
    const { resources, snapshot } = gatewayWith(gatewayYaml(server(443, 'https', ['a.example.com'], '{mode: SIMPLE, credentialName: a-cert}')) + VS('https-gw', ['a.example.com']),
      [credentialOf(tlsSecret('a-cert', { 'tls.crt': a.certPem, 'tls.key': b.keyPem }))!]);
    assert.equal(resources.secrets, undefined);
    const problems = analyze(snapshot).filter((p) => p.code.endsWith('-credential'));
    assert.deepEqual(brief(problems), ['error invalid-credential Gateway sample/https-gw spec.servers[0].tls.credentialName']);
    assert.match(problems[0]!.message, /tls\.key is not the private key of the certificate in tls\.crt/);
  });

  it('a later server for a host an earlier one on the port terminates loses that host; "*" matches any SNI', () => {
    const { resources } = gatewayWith(
      gatewayYaml(server(443, 'https-a', ['a.example.com'], '{mode: SIMPLE, credentialName: a-cert}') +
        server(443, 'https-dup', ['a.example.com'], '{mode: SIMPLE, credentialName: b-cert}') +
        server(443, 'https-any', ['"*"'], '{mode: SIMPLE, credentialName: b-cert}')) + VS('https-gw', ['"*"']));
    assert.deepEqual(listenerAt(resources.listeners, 443)!.filter_chains!.map((c) => [c.filter_chain_match?.server_names, rdsOf(c)]), [
      [['a.example.com'], 'https.443.https-a.https-gw.sample'],
      [undefined, 'https.443.https-any.https-gw.sample'],
    ]);
    assert.deepEqual(brief(resources.problems.filter((p) => p.code === 'invalid-config')), ['warning invalid-config Gateway sample/https-gw spec.servers[1].hosts']);
  });

  it('what cannot terminate here is reported and skipped: certificate files, ISTIO_MUTUAL, TLS-then-TCP, HTTP and HTTPS on one port', () => {
    const { resources } = gatewayWith(gatewayYaml(
      server(443, 'files', ['a.example.com'], '{mode: SIMPLE, serverCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem}') +
        server(8443, 'istio', ['a.example.com'], '{mode: ISTIO_MUTUAL}') +
        '  - port: {number: 9443, name: tls, protocol: TLS}\n    hosts: [a.example.com]\n    tls: {mode: SIMPLE, credentialName: a-cert}\n' +
        '  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n' +
        server(80, 'https-on-80', ['a.example.com'], '{mode: SIMPLE, credentialName: a-cert}')) + VS('https-gw', ['a.example.com']));
    assert.deepEqual(brief(resources.problems), [
      'warning unsupported Gateway sample/https-gw spec.servers[0].tls.serverCertificate',
      'warning unsupported Gateway sample/https-gw spec.servers[1].tls.mode',
      'warning unsupported Gateway sample/https-gw spec.servers[2].tls.mode',
      'warning invalid-config Gateway sample/https-gw spec.servers[4].port',
    ]);
    assert.deepEqual(resources.listeners.map((l) => l.address?.socket_address.port_value), [80]);
  });

  it('tls without a mode is PASSTHROUGH (the enum\'s zero value, as Istio reads it): no termination, no Secret', () => {
    const { resources, snapshot } = gatewayWith(gatewayYaml(server(443, 'https', ['a.example.com'], '{credentialName: a-cert}')) + VS('https-gw', ['a.example.com']), []);
    assert.equal(listenerAt(resources.listeners, 443), undefined, 'a passthrough server opens its port only for tls routes');
    assert.equal(resources.secrets, undefined);
    assert.deepEqual(analyze(snapshot).filter((p) => p.code.endsWith('-credential')), []);
  });

  it('httpsRedirect on the HTTP server: its virtual hosts require TLS (301 to https)', () => {
    const { resources } = gatewayWith(gatewayYaml('  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n    tls: {httpsRedirect: true}\n' +
      server(443, 'https', ['a.example.com'], '{mode: SIMPLE, credentialName: a-cert}')) + VS('https-gw', ['a.example.com']));
    assert.deepEqual(resources.routes.find((r) => r.name === 'http.80')!.virtual_hosts.map((v) => v.require_tls), ['ALL']);
    assert.deepEqual(resources.routes.find((r) => r.name === 'https.443.https.https-gw.sample')!.virtual_hosts.map((v) => v.require_tls), [undefined]);
  });
});

describe('credentials from Secrets (Istio\'s credentials controller)', () => {
  it('reads tls.crt/tls.key, cert/key, ca.crt/cacert; leaves service-account tokens and unrelated Secrets out; says what is wrong', () => {
    assert.equal(credentialOf(tlsSecret('sa', { 'ca.crt': ca.certPem, token: 'x' }, GW_NS, 'kubernetes.io/service-account-token')), undefined);
    assert.equal(credentialOf(tlsSecret('other', { password: 'x' }, GW_NS, 'Opaque')), undefined);
    assert.deepEqual(credentialOf(tlsSecret('c', { cacert: ca.certPem }, GW_NS, 'Opaque')), { namespace: GW_NS, name: 'c', caPem: ca.certPem });
    assert.equal(credentialOf(tlsSecret('c', { 'tls.crt': a.certPem }))?.problem, 'it has tls.crt but no tls.key');
    assert.match(credentialOf(tlsSecret('c', { 'tls.crt': 'junk', 'tls.key': a.keyPem }))?.problem ?? '', /^tls\.crt is not a PEM certificate/);
  });
});
