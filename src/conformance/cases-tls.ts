// Conformance cases: TLS. Downstream termination (STRICT and PERMISSIVE mTLS, client certificate and
// SAN checks), x-forwarded-client-cert per forward_client_cert_details, upstream mTLS (client
// certificate, trust bundle, SAN check, transport_socket_matches by endpoint metadata), and a gateway's
// HTTPS servers on one port (a chain per SNI, each its own HCM and routes). Certificates are
// made at run time (tls-pki.ts) and reach both proxies as SDS Secrets over ADS.

import assert from 'node:assert/strict';
import type { CaseRequest, ConformanceCase, Observation } from './case.js';
import { get, HOSTILE, tagged, type Res } from './case-builders.js';
import { clustersOf, oneHost, type CaseResources } from './resources.js';
import { httpListener } from '../proxy/testutil/envoy.js';
import { adsSecrets, CLIENT_ID, PROXY_ID, UPSTREAM_ID } from './tls-pki.js';
import { plainToStruct } from '../xds/struct.js';
import { ALPN_MESH_INBOUND } from '../translate/tls-context.js';

const SDS_ADS = { ads: {}, resource_api_version: 'V3' };
const CERT_SECRET = 'kubernetes://conformance-cert';
const CA_SECRET = 'kubernetes://conformance-cert-cacert';
const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW_BUFFER = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

const secrets = (): Res[] => adsSecrets(CERT_SECRET, CA_SECRET);

/** A CommonTlsContext as Istio writes one: certificate and root from SDS, SAN matchers in the default validation context. */
function common(sanMatchers: Res[] = [], alpn = ['h2', 'http/1.1']): Res {
  return {
    tls_certificate_sds_secret_configs: [{ name: CERT_SECRET, sds_config: SDS_ADS }],
    combined_validation_context: {
      default_validation_context: sanMatchers.length > 0 ? { match_typed_subject_alt_names: sanMatchers.map((matcher) => ({ san_type: 'URI', matcher })) } : {},
      validation_context_sds_secret_config: { name: CA_SECRET, sds_config: SDS_ADS },
    },
    alpn_protocols: alpn,
  };
}

const strict = (sanMatchers: Res[] = []): Res => ({ common_tls_context: common(sanMatchers), require_client_certificate: { value: true } });

/** The sidecar inbound XFCC settings (Istio's): APPEND_FORWARD with subject, URI and DNS. */
const INBOUND_XFCC: Res = { forward_client_cert_details: 'APPEND_FORWARD', set_current_client_cert_details: { subject: { value: true }, uri: true, dns: true } };

function downstream(context: Res, hcm: Res = INBOUND_XFCC, permissive = false): () => CaseResources {
  return () => ({
    routes: oneHost([tagged('all', { prefix: '/' }, 'a')]),
    ...clustersOf({ a: ['a'] }),
    hcm,
    secrets: secrets(),
    downstreamTls: { context, permissive },
  });
}

const tlsGet = (clientCert: CaseRequest['clientCert'], extra: Omit<CaseRequest, 'path'> = {}): CaseRequest => get('/tls', { protocol: 'https', ...(clientCert ? { clientCert } : {}), ...extra });

/** What the upstream saw of the client certificate, per request: the case is about it. */
function xfccSeen(observations: Observation[]): (string | null)[] {
  return observations.map((o) => o.upstreamSaw?.headers['x-forwarded-client-cert'] ?? null);
}

const upstreamTls = (sanMatchers: Res[]): Res => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': UPSTREAM_TLS, common_tls_context: common(sanMatchers, ['istio-peer-exchange', 'istio']), sni: 'outbound_.5000_._.helloworld.sample.svc.cluster.local' },
});

function upstreamCase(cluster: Res, upstreamNames: string[], transportMatch?: CaseResources['transportMatch']): () => CaseResources {
  return () => ({
    routes: oneHost([tagged('all', { prefix: '/' }, 'up')]),
    ...clustersOf({ up: upstreamNames }, { up: cluster }),
    secrets: secrets(),
    ...(transportMatch ? { transportMatch } : {}),
  });
}

const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };

/**
 * As Istio's gateway with two HTTPS servers on port 443: a chain per server matched by SNI, each with
 * its own DownstreamTlsContext and its own HCM over its own RDS route configuration
 * (`https.443.<port name>.<gateway>.<namespace>`), routing the same path to different clusters.
 */
function httpsServers(): CaseResources {
  const server = (host: string, portName: string, cluster: string) => {
    const routeName = `https.443.${portName}.gw.sample`;
    const [chain] = httpListener(`gw-${portName}`, '', 0, routeName)['filter_chains'] as Res[];
    return {
      route: { name: routeName, virtual_hosts: [{ name: `${host}:443`, domains: [host, `${host}:*`], routes: [tagged(portName, { prefix: '/' }, cluster)] }] },
      chain: {
        ...chain,
        name: portName,
        filter_chain_match: { server_names: [host] },
        transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS, common_tls_context: common() } },
      },
    };
  };
  const a = server('a.example.test', 'https-a', 'a');
  const b = server('b.example.test', 'https-b', 'b');
  return {
    routes: [a.route, b.route],
    ...clustersOf({ a: ['a'], b: ['b'] }),
    secrets: secrets(),
    network: { chains: [a.chain, b.chain], listenerFilters: [TLS_INSPECTOR] },
  };
}

const FORWARD_MODES = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const;

export const TLS_CASES: ConformanceCase[] = [
  {
    name: 'downstream STRICT mTLS: a client certificate from the mesh root is served (HTTP/1.1 and h2 by ALPN) with the XFCC Istio\'s inbound writes; none or another root\'s is refused',
    resources: downstream(strict()),
    requests: [tlsGet('client'), tlsGet('namedClient'), tlsGet('client', { protocol: 'h2' }), tlsGet(undefined), tlsGet('foreignClient')],
    expectUpstreams: ['a', 'a', 'a', undefined, undefined],
    expect: (obs, target) => {
      const seen = xfccSeen(obs.slice(0, 3));
      const plain = new RegExp(`^By=${PROXY_ID};Hash=[0-9a-f]{64};Subject="";URI=${CLIENT_ID}$`);
      const named = new RegExp(`^By=${PROXY_ID};Hash=[0-9a-f]{64};Subject="O=conformance,CN=sleep";URI=${CLIENT_ID};DNS=sleep.sample.svc$`);
      assert.ok(seen.some((x) => plain.test(x ?? '')) && seen.some((x) => named.test(x ?? '')), `${target}: ${JSON.stringify(seen)}`);
      assert.deepEqual(obs.slice(3).map((o) => o.status), [0, 0], target);
    },
  },
  {
    name: 'downstream mTLS SAN check: a client whose URI SAN matches the matcher is served, one that does not is refused',
    resources: downstream(strict([{ prefix: 'spiffe://cluster.local/ns/sample/' }])),
    requests: [tlsGet('client')],
    expectUpstreams: ['a'],
  },
  {
    name: 'downstream mTLS SAN check: no SAN matches the exact matcher, the connection is refused',
    resources: downstream(strict([{ exact: 'spiffe://cluster.local/ns/other/sa/x' }])),
    requests: [tlsGet('client'), tlsGet('namedClient')],
    expectUpstreams: [undefined, undefined],
  },
  {
    name: 'downstream TLS without client verification: a client without a certificate is served and XFCC is removed',
    resources: downstream({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: CERT_SECRET, sds_config: SDS_ADS }] } }),
    requests: [tlsGet(undefined, { headers: HOSTILE }), tlsGet('client')],
    expectUpstreams: ['a', 'a'],
    expect: (obs) => assert.deepEqual(xfccSeen(obs), [null, null]),
  },
  {
    name: 'PERMISSIVE (tls_inspector, a TLS chain and a plaintext chain): TLS with a client certificate and plaintext are both served',
    resources: downstream({ common_tls_context: common(), require_client_certificate: { value: true } }, INBOUND_XFCC, true),
    requests: [tlsGet('client'), get('/plain'), get('/plain', { headers: HOSTILE }), tlsGet(undefined)],
    expectUpstreams: ['a', 'a', 'a', undefined],
    expect: (obs) => {
      const [tls, plain, hostile] = xfccSeen(obs);
      assert.match(tls ?? '', new RegExp(`URI=${CLIENT_ID}$`));
      assert.deepEqual([plain, hostile], [null, null]);
    },
  },
  {
    name: 'PERMISSIVE as Istio translates it (the TLS chain matches Istio\'s ALPN values): TLS offering istio is mesh mTLS; TLS offering only http/1.1 matches no chain (Envoy does not fall back to the plaintext chain); plaintext is served',
    resources: () => {
      const base = downstream({ common_tls_context: common(), require_client_certificate: { value: true } }, INBOUND_XFCC, true)();
      return { ...base, downstreamTls: { ...base.downstreamTls!, applicationProtocols: [...ALPN_MESH_INBOUND] } };
    },
    requests: [tlsGet('client', { alpn: ['istio', 'http/1.1'] }), tlsGet('client', { alpn: ['http/1.1'] }), get('/plain')],
    expectUpstreams: ['a', undefined, 'a'],
  },
  ...FORWARD_MODES.map((mode): ConformanceCase => ({
    name: `XFCC ${mode} on an mTLS connection (set_current_client_cert_details: cert, subject, URI, DNS), with and without a client's own XFCC`,
    resources: downstream(strict(), { forward_client_cert_details: mode, set_current_client_cert_details: { subject: { value: true }, cert: true, uri: true, dns: true } }),
    requests: [tlsGet('namedClient', { headers: HOSTILE }), tlsGet('client')],
    expectUpstreams: ['a', 'a'],
    expect: (obs) => {
      const [withClaim, without] = xfccSeen(obs);
      if (mode === 'SANITIZE') assert.deepEqual([withClaim, without], [null, null]);
      if (mode === 'FORWARD_ONLY' || mode === 'ALWAYS_FORWARD_ONLY') assert.deepEqual([withClaim, without], [HOSTILE['x-forwarded-client-cert'], null]);
      if (mode === 'APPEND_FORWARD') assert.ok(withClaim?.startsWith(`${HOSTILE['x-forwarded-client-cert']},By=`), String(withClaim));
      if (mode === 'SANITIZE_SET') assert.ok(withClaim?.startsWith('By=') && withClaim.includes(';Cert="-----BEGIN%20CERTIFICATE'), String(withClaim));
    },
  })),
  {
    name: 'a gateway\'s two HTTPS servers on one port: each SNI chain is served by its own HCM and route configuration (HTTP/1.1 and h2); an unknown name matches no chain',
    resources: httpsServers,
    requests: [
      get('/', { protocol: 'https', sni: 'a.example.test', host: 'a.example.test' }),
      get('/', { protocol: 'https', sni: 'b.example.test', host: 'b.example.test' }),
      get('/', { protocol: 'h2', sni: 'b.example.test', host: 'b.example.test' }),
      get('/', { protocol: 'h2', sni: 'a.example.test', host: 'a.example.test' }),
      // The Host names the other server: routed by the chain's own table, where no virtual host has it.
      get('/', { protocol: 'https', sni: 'a.example.test', host: 'b.example.test' }),
      get('/', { protocol: 'https', sni: 'c.example.test', host: 'c.example.test' }),
    ],
    expectUpstreams: ['a', 'b', 'b', 'a', undefined, undefined],
    expect: (obs) => assert.deepEqual(obs.slice(4).map((o) => o.status), [404, 0]),
  },
  ...(['ALL', 'EXTERNAL_ONLY'] as const).map((requireTls): ConformanceCase => ({
    name: `virtual host require_tls ${requireTls} (a gateway's httpsRedirect): plaintext gets 301 to https:// whether a route matches or not, TLS is served`,
    resources: () => ({
      ...downstream({ common_tls_context: common() }, {}, true)(),
      routes: oneHost([tagged('all', { prefix: '/tls' }, 'a')], { require_tls: requireTls, response_headers_to_add: [{ header: { key: 'x-vhost', value: 'added' } }] }),
    }),
    requests: [get('/plain?q=1', { host: 'hello.example.test' }), get('/nothing', { host: 'hello.example.test:8080' }), get('/plain', { protocol: 'h2c' }), tlsGet(undefined)],
    expectUpstreams: [undefined, undefined, undefined, 'a'],
    responseHeaders: ['location', 'x-vhost'],
    expect: (obs) => assert.deepEqual(obs.map((o) => o.status), [301, 301, 301, 200]),
  })),
  {
    name: 'upstream mTLS to a TLS upstream requiring client certificates: the proxy presents its certificate and accepts the upstream\'s SAN',
    resources: upstreamCase({ transport_socket: upstreamTls([{ exact: UPSTREAM_ID }]) }, ['mtls']),
    requests: [get('/up'), get('/up', { protocol: 'h2c' })],
    expectUpstreams: ['mtls', 'mtls'],
    expect: (obs) => assert.deepEqual(obs.map((o) => o.upstreamSaw?.headers['x-seen-client-uri']), [PROXY_ID, PROXY_ID]),
  },
  {
    name: 'upstream mTLS whose SAN matcher the upstream certificate does not satisfy: connection failure, 503',
    resources: upstreamCase({ transport_socket: upstreamTls([{ exact: 'spiffe://cluster.local/ns/sample/sa/not-helloworld' }]) }, ['mtls']),
    requests: [get('/up')],
    expectUpstreams: [undefined],
    check: (o) => assert.equal(o.status, 503),
  },
  {
    name: 'transport_socket_matches (auto mTLS): an endpoint with tlsMode istio gets TLS, one without metadata plain TCP (tlsMode-disabled)',
    resources: upstreamCase(
      {
        transport_socket_matches: [
          { name: 'tlsMode-istio', match: plainToStruct({ tlsMode: 'istio' }), transport_socket: upstreamTls([{ exact: UPSTREAM_ID }]) },
          { name: 'tlsMode-disabled', match: plainToStruct({}), transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': RAW_BUFFER } } },
        ],
      },
      ['mtls', 'a'],
      { mtls: { tlsMode: 'istio' } },
    ),
    requests: [get('/up'), get('/up'), get('/up'), get('/up')],
    summarize: (obs) => obs.map((o) => `${o.status} ${o.upstream ?? '-'} ${o.upstreamSaw?.headers['x-seen-client-uri'] ?? ''}`).sort(),
    expect: (obs) => assert.deepEqual(obs.map((o) => o.status), [200, 200, 200, 200]),
  },
];
