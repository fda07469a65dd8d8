// Builders the conformance cases share: Istio YAML for helloworld, hand-written routes and clusters,
// requests.

import type { CaseRequest } from './case.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from '../translate/testdata/fixture.js';
import { MeshTranslator } from '../translate/translate.js';
import { clustersOf, oneHost, type CaseLocality, type CaseResources } from './resources.js';
import { adsSecrets } from './tls-pki.js';
import { ROOT_CA_SECRET, WORKLOAD_SECRET } from '../security/secrets.js';
import type { CommonTlsContext } from '../translate/envoy-types.js';

export type Res = Record<string, unknown>;

export const HW = 'helloworld:5000';
export const get = (path: string, extra: Omit<CaseRequest, 'path'> = {}): CaseRequest => ({ path, host: HW, ...extra });
export const withHeaders = (path: string, headers: Record<string, string>): CaseRequest => get(path, { headers });

/** A VirtualService for helloworld with the given http routes (YAML list items, indented by 2). */
export function vs(http: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
${http}${extra}`;
}

/** A hand-written route that tags the request with x-route so the upstream shows which route matched. */
export function tagged(name: string, match: Res, cluster = 'a', extra: Res = {}): Res {
  return {
    name,
    match,
    route: { cluster, ...extra },
    request_headers_to_add: [{ header: { key: 'x-route', value: name }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
  };
}

export function handWritten(routes: Res[], clusters: Record<string, string[]> = { a: ['a'] }, clusterExtra: Record<string, Res> = {}, vhostExtra: Res = {}): () => CaseResources {
  return () => ({ routes: oneHost(routes, vhostExtra), ...clustersOf(clusters, clusterExtra) });
}

export const HTTP2: Res = {
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
};

export const RANDOM_UNLIMITED_RETRIES: Res = { lb_policy: 'RANDOM', circuit_breakers: { thresholds: [{ max_retries: { value: 4294967295 } }] } };

/** A client that claims what only the mesh may say: a client certificate, internal status, an address. */
export const HOSTILE: Record<string, string> = {
  'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/sample/sa/helloworld;Hash=00ff;Subject="CN=evil";URI=spiffe://cluster.local/ns/evil/sa/x',
  'x-envoy-internal': 'true',
  'x-envoy-external-address': '198.51.100.66',
  'x-envoy-retry-on': '5xx',
  'x-envoy-max-retries': '1',
  'x-envoy-decorator-operation': 'spoofed',
  'x-forwarded-proto': 'https',
};


/**
 * One route to cluster `lb` whose load assignment is hand-written: localities with priorities, weights
 * and health (`name:UNHEALTHY`), and the cluster's extra fields (common_lb_config...).
 */
export function withLocalities(localities: CaseLocality[], clusterExtra: Res = {}, routeExtra: Res = {}): () => CaseResources {
  return () => {
    const upstreams = localities.flatMap((l) => l.hosts.map((h) => h.split(':')[0]!));
    return { ...handWritten([tagged('all', { prefix: '/' }, 'lb', routeExtra)], { lb: upstreams }, { lb: clusterExtra })(), localities: { lb: localities } };
  };
}

/** Istio's STRICT mTLS for namespace sample: helloworld's inbound listener takes mesh mTLS only. */
const STRICT_MTLS = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default}
spec: {mtls: {mode: STRICT}}
`;

/**
 * AuthorizationPolicies (YAML; namespace sample unless they say otherwise) translated by the real
 * translator for helloworld-v1's sidecar: its inbound listener's HTTP filters (the RBAC filters first)
 * and connection manager fields (`hcmExtra` over them), in front of one route to upstream `a`. With
 * `mtls`, the namespace's PeerAuthentication is STRICT and the listener terminates mTLS with the
 * translated chain's DownstreamTlsContext; its SDS secrets (the pod agent's `default`, `ROOTCA`) come
 * over ADS instead, made from the test PKI.
 */
export function inboundAuthz(yaml: string, hcmExtra: Res = {}, mtls = false): () => CaseResources {
  return () => {
    const clusters = scenarioClusters();
    const objects = parseYaml(mtls ? `${STRICT_MTLS}---\n${yaml}` : yaml, 'conformance case');
    for (const c of clusters) c.apply('sample', structuredClone(objects));
    const translated = new MeshTranslator(buildSnapshot(clusters)).translate(proxyFor(clusters[0]!.pod('helloworld-v1'), 'sidecar'));
    const inbound = translated.listeners.find((l) => l.traffic_direction === 'INBOUND' && l.address?.socket_address.port_value === 5000);
    const chain = inbound?.filter_chains?.[0];
    const manager = chain?.filters[0]?.typed_config as Res | undefined;
    if (!inbound || !chain || !manager) throw new Error('no inbound HTTP listener on 5000 for helloworld-v1 in the translation');
    const { '@type': _type, stat_prefix: _prefix, route_config: _routes, ...hcm } = manager;
    const resources = { ...handWritten([tagged('all', { prefix: '/' })])(), hcm: { ...hcm, ...hcmExtra } };
    if (!mtls) return resources;
    if (inbound.filter_chains!.length !== 1 || !chain.transport_socket) throw new Error('STRICT mTLS: the inbound listener on 5000 should have one chain, with TLS');
    const { '@type': _tlsType, ...context } = structuredClone(chain.transport_socket.typed_config) as unknown as Res & { common_tls_context: CommonTlsContext };
    const common = context.common_tls_context;
    for (const sds of [...(common.tls_certificate_sds_secret_configs ?? []), common.combined_validation_context?.validation_context_sds_secret_config, common.validation_context_sds_secret_config]) {
      if (sds) sds.sds_config = { ads: {}, resource_api_version: 'V3' };
    }
    return { ...resources, secrets: adsSecrets(WORKLOAD_SECRET, ROOT_CA_SECRET), downstreamTls: { context } };
  };
}
