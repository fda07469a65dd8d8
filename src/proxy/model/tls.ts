// TLS contexts as the proxy sees them (envoy.extensions.transport_sockets.tls.v3): where a certificate and
// a trust bundle come from (inline, or an SDS secret by name from ADS or from the agent beside the proxy),
// which peer names are accepted, ALPN and SNI.

import type { TlsSecret } from '../../security/secrets.js';
import type { Cluster } from './cluster.js';
import type { Listener } from './listener.js';
import type { StringMatcher } from './route.js';

/** Where a secret comes from: inline in the resource, over the proxy's ADS stream, or from the local agent (`sds-grpc`). */
export type SecretRef =
  | { kind: 'inline'; secret: TlsSecret }
  | { kind: 'sds'; name: string; source: 'ads' | 'local' };

/** A SAN matcher (match_typed_subject_alt_names; match_subject_alt_names matches any SAN type). */
export interface SanMatcher {
  type: 'URI' | 'DNS' | 'EMAIL' | 'IP_ADDRESS' | 'any';
  matcher: StringMatcher;
}

export interface CertificateValidation {
  /** The trusted CA bundle; undefined: any certificate is accepted (Envoy without trusted_ca). */
  trustedCa: SecretRef | undefined;
  /** The peer certificate must carry a SAN matching one of these; empty: any. */
  sanMatchers: SanMatcher[];
}

export interface CommonTls {
  /** The certificate and key presented (at most one: Envoy picks by SNI among several; we refuse several). */
  certificate: SecretRef | undefined;
  validation: CertificateValidation | undefined;
  alpn: string[];
}

export interface DownstreamTls extends CommonTls {
  requireClientCertificate: boolean;
}

export interface UpstreamTls extends CommonTls {
  sni: string | undefined;
}

/** A cluster's transport socket for an endpoint: TLS with this context, or plain TCP. */
export type UpstreamTransportSpec = { kind: 'raw' } | { kind: 'tls'; tls: UpstreamTls };

/** transport_socket_matches entry: used for endpoints whose `envoy.transport_socket_match` metadata has all of `match`. */
export interface TransportSocketMatch {
  name: string;
  match: Readonly<Record<string, unknown>>;
  transport: UpstreamTransportSpec;
}

/** The secret references of a TLS context (for warming and the SDS subscription). */
export function secretRefs(tls: CommonTls): SecretRef[] {
  return [tls.certificate, tls.validation?.trustedCa].filter((r): r is SecretRef => r !== undefined);
}

export function listenerTlsContexts(l: Listener): DownstreamTls[] {
  return [...l.chains, ...(l.defaultChain ? [l.defaultChain] : [])].flatMap((c) => (c.tls ? [c.tls] : []));
}

export function clusterTlsContexts(c: Cluster): UpstreamTls[] {
  return [c.transport, ...(c.transportSocketMatches ?? []).map((m) => m.transport)].flatMap((t) => (t?.kind === 'tls' ? [t.tls] : []));
}
