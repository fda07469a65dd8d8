// The TLS pieces of Envoy config as Istio writes them: the workload certificate and the mesh root
// from the pod agent's SDS (`default`, `ROOTCA` on `sds-grpc`), a gateway's credentialName from the
// ADS stream (`kubernetes://<name>`), the ALPN values Istio's proxies offer and match on, and the
// endpoint metadata that picks a cluster's TLS socket. Pure data builders; no decisions about modes.

import { parseSpiffeId } from '../security/spiffe.js';
import { CA_CERT_SUFFIX, CREDENTIAL_NAME_PREFIX, ROOT_CA_SECRET, SDS_CLUSTER, WORKLOAD_SECRET } from '../security/secrets.js';
import { isIP } from 'node:net';
import type {
  CommonTlsContext,
  DownstreamTlsContext,
  Metadata,
  SdsConfigSource,
  SdsSecretConfig,
  SubjectAltNameMatcher,
  TransportSocket,
  TransportSocketMatch,
  UpstreamTlsContext,
} from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';

/** The pod agent's SDS server; no initial fetch timeout: a cluster or listener waits for its certificate. */
export const AGENT_SDS: SdsConfigSource = {
  api_config_source: {
    api_type: 'GRPC',
    set_node_on_first_message_only: true,
    transport_api_version: 'V3',
    grpc_services: [{ envoy_grpc: { cluster_name: SDS_CLUSTER } }],
  },
  initial_fetch_timeout: { seconds: 0, nanos: 0 },
  resource_api_version: 'V3',
};
/** SDS over the proxy's own ADS stream: how a gateway fetches credentialName secrets. */
export const ADS_SDS: SdsConfigSource = { ads: {}, resource_api_version: 'V3' };
/** Envoy's TLS transport socket. */
export const TLS_SOCKET_NAME = 'envoy.transport_sockets.tls';

/** What an Istio client offers to a peer proxy (Istio's ALPNInMeshWithMxc; `h2` added for HTTP/2 clusters). */
export const ALPN_IN_MESH: readonly string[] = ['istio-peer-exchange', 'istio'];
/** The ALPN values an inbound TLS chain takes as mesh mTLS (Istio's allIstioMtlsALPNs, its order). */
export const ALPN_MESH_INBOUND: readonly string[] = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
/** What an inbound TLS chain answers: HTTP ports speak h2 or HTTP/1.1; TCP ports also take peer exchange. */
const ALPN_INBOUND_HTTP: readonly string[] = ['h2', 'http/1.1'];
const ALPN_INBOUND_TCP: readonly string[] = ['istio-peer-exchange', 'h2', 'http/1.1'];

/** The endpoint metadata key Envoy matches a cluster's transport_socket_matches against. */
export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';
/** The pod label the injector sets on pods with a sidecar, which a WorkloadEntry may carry too. */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

const workloadCertificate = (): SdsSecretConfig => ({ name: WORKLOAD_SECRET, sds_config: AGENT_SDS });
const meshRoot = (): SdsSecretConfig => ({ name: ROOT_CA_SECRET, sds_config: AGENT_SDS });

/** A credentialName's SDS resource, served over ADS: `kubernetes://<name>` (a name with a scheme stays as written). */
export function credentialSecret(credentialName: string, caOnly = false): SdsSecretConfig {
  const base = credentialName.includes('://') ? credentialName : `${CREDENTIAL_NAME_PREFIX}${credentialName}`;
  return { name: caOnly ? `${base}${CA_CERT_SUFFIX}` : base, sds_config: ADS_SDS };
}

/** SAN matchers: SPIFFE and other URIs as URI, addresses as IP_ADDRESS, anything else as DNS. */
export function sanMatchers(names: readonly string[]): SubjectAltNameMatcher[] {
  return names.map((name) => ({
    san_type: parseSpiffeId(name) || name.includes('://') ? 'URI' : isIP(name) ? 'IP_ADDRESS' : 'DNS',
    matcher: { exact: name },
  }));
}

/** The mesh's trust: the peer's chain must end at ROOTCA, and its SAN be one of `sans` (any, when none). */
function meshValidation(sans: readonly string[]): Pick<CommonTlsContext, 'combined_validation_context'> {
  return {
    combined_validation_context: {
      default_validation_context: sans.length > 0 ? { match_typed_subject_alt_names: sanMatchers(sans) } : {},
      validation_context_sds_secret_config: meshRoot(),
    },
  };
}

/** Istio's ISTIO_MUTUAL client context: the workload certificate, the mesh root, the peer's identities. */
export function istioMutualContext(sans: readonly string[], sni: string, http2: boolean): UpstreamTlsContext {
  return {
    '@type': TYPE_URL.upstreamTlsContext,
    common_tls_context: {
      tls_certificate_sds_secret_configs: [workloadCertificate()],
      ...meshValidation(sans),
      alpn_protocols: http2 ? [...ALPN_IN_MESH, 'h2'] : [...ALPN_IN_MESH],
    },
    sni,
  };
}

export function tlsSocket(context: UpstreamTlsContext | DownstreamTlsContext): TransportSocket {
  return { name: TLS_SOCKET_NAME, typed_config: context };
}

export const RAW_BUFFER_SOCKET: TransportSocket = { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': TYPE_URL.rawBuffer } };

/** Istio's auto mTLS: mesh mTLS to endpoints marked tlsMode istio, plaintext to the others. */
export function autoMtlsMatches(context: UpstreamTlsContext): TransportSocketMatch[] {
  return [
    { name: 'tlsMode-istio', match: { fields: { tlsMode: { string_value: 'istio' } } }, transport_socket: tlsSocket(context) },
    { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER_SOCKET },
  ];
}

/** The metadata that makes an endpoint take its cluster's tlsMode-istio socket. */
export const ISTIO_TLS_MODE_METADATA: Metadata['filter_metadata'] = { [TRANSPORT_SOCKET_MATCH_KEY]: { fields: { tlsMode: { string_value: 'istio' } } } };

/**
 * An inbound mTLS chain's server context (Istio's inbound mTLS): the workload certificate, a client
 * certificate required and checked against the mesh root (any mesh identity: authorization is RBAC's job).
 */
export function inboundMtlsContext(http: boolean): DownstreamTlsContext {
  return {
    '@type': TYPE_URL.downstreamTlsContext,
    common_tls_context: {
      tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
      tls_certificate_sds_secret_configs: [workloadCertificate()],
      ...meshValidation([]),
      alpn_protocols: [...(http ? ALPN_INBOUND_HTTP : ALPN_INBOUND_TCP)],
    },
    require_client_certificate: { value: true },
  };
}
