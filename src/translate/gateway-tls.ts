// TLS termination at a gateway (Istio's HTTPS servers with tls.mode SIMPLE, MUTUAL or OPTIONAL_MUTUAL):
// a filter chain per server on the port's listener, chosen by SNI (server_names from the server's hosts,
// as Istio's getSNIHostsForServer), with a DownstreamTlsContext whose certificate is the SDS secret
// `kubernetes://<credentialName>` fetched over ADS (and for MUTUAL the CA `kubernetes://<credentialName>-cacert`).
// The control plane serves those Secrets only to gateways of the Secret's namespace (gatewaySecrets).

import type { Gateway, GatewayServer } from '../config/istio-types.js';
import type { IstioObject } from '../registry/model.js';
import { CA_CERT_SUFFIX, CREDENTIAL_NAME_PREFIX } from '../security/secrets.js';
import { sdsSecret, type GatewayCredential, type SdsSecret } from '../security/credentials.js';
import { TYPE_URL, type TransportSocket } from './envoy-types.js';
import { ADS_SDS, TLS_SOCKET_NAME } from './tls-context.js';
/** Istio's ALPNHttp: what an HTTPS gateway server offers. */
const ALPN_HTTP = ['h2', 'http/1.1'];

/** What one terminating server puts on its port's listener. */
export interface GatewayServerTls {
  /** SNI names the chain matches (empty: any, for a server with host `*`). */
  serverNames: string[];
  transportSocket: TransportSocket;
  /** The SDS secrets the chain needs, e.g. `kubernetes://cert` and `kubernetes://cert-cacert`. */
  sdsNames: string[];
  /** Where the server is, for reports. */
  where: { gateway: IstioObject<Gateway>; index: number };
}

const TERMINATING_MODES = new Set(['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL']);
const TLS_VERSIONS: Record<string, string> = { TLS_AUTO: 'TLS_AUTO', TLSV1_0: 'TLSv1_0', TLSV1_1: 'TLSv1_1', TLSV1_2: 'TLSv1_2', TLSV1_3: 'TLSv1_3' };

/**
 * Why an HTTPS server cannot terminate TLS here (field and message), or undefined when it can. Only
 * credentialName is served: certificate files (serverCertificate, privateKey, caCertificates) would
 * have to exist inside the gateway pod, which a local pod has no volume for.
 */
export function terminationProblem(server: GatewayServer): { field: string; message: string } | undefined {
  const tls = server.tls;
  const mode = tls?.mode ?? 'PASSTHROUGH';
  if (!tls) return { field: 'tls', message: 'an HTTPS server needs tls (mode SIMPLE, MUTUAL or OPTIONAL_MUTUAL, and credentialName).' };
  if (mode === 'ISTIO_MUTUAL') {
    return { field: 'tls.mode', message: 'ISTIO_MUTUAL at a gateway (clients present mesh workload certificates) is not supported yet. Use MUTUAL with credentialName.' };
  }
  if (!TERMINATING_MODES.has(mode)) return { field: 'tls.mode', message: `tls.mode ${mode} does not terminate TLS.` };
  if (!tls.credentialName) {
    const files = tls.serverCertificate !== undefined || tls.privateKey !== undefined || tls.caCertificates !== undefined;
    return {
      field: files ? 'tls.serverCertificate' : 'tls.credentialName',
      message: files
        ? 'certificates from files in the gateway pod (serverCertificate, privateKey, caCertificates) are not supported: pods here have no volumes. Put them in a kubernetes.io/tls Secret in the gateway\'s namespace and set credentialName.'
        : 'a terminating server needs credentialName: the name of a kubernetes.io/tls Secret (tls.crt, tls.key; ca.crt for MUTUAL) in the gateway\'s namespace.',
    };
  }
  for (const field of ['minProtocolVersion', 'maxProtocolVersion'] as const) {
    const version = tls[field];
    if (version !== undefined && !TLS_VERSIONS[version]) return { field: `tls.${field}`, message: `${version} is not a TLS version; use TLSV1_2, TLSV1_3 (or TLSV1_0, TLSV1_1, TLS_AUTO).` };
  }
  return undefined;
}

/** Istio's getSNIHostsForServer: the server's hosts without their namespace, sorted, once each; `*` matches any SNI. */
export function sniHosts(server: GatewayServer): string[] {
  const hosts = new Set((server.hosts ?? []).map((h) => (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h).toLowerCase()));
  return hosts.has('*') ? [] : [...hosts].sort();
}

/** The chain of a terminating server (call only when terminationProblem found nothing). */
export function gatewayServerTls(gateway: IstioObject<Gateway>, server: GatewayServer, index: number): GatewayServerTls {
  const tls = server.tls ?? {};
  const mode = tls.mode ?? 'SIMPLE';
  const certificate = `${CREDENTIAL_NAME_PREFIX}${tls.credentialName ?? ''}`;
  const sdsNames = [certificate];
  const common: Record<string, unknown> = {
    alpn_protocols: ALPN_HTTP,
    tls_certificate_sds_secret_configs: [{ name: certificate, sds_config: ADS_SDS }],
  };
  // Istio sets TLS parameters only when the server sets one (Envoy's defaults otherwise).
  const ciphers = [...new Set(tls.cipherSuites ?? [])];
  if (tls.minProtocolVersion || tls.maxProtocolVersion || ciphers.length > 0) {
    common['tls_params'] = {
      tls_minimum_protocol_version: TLS_VERSIONS[tls.minProtocolVersion ?? 'TLS_AUTO'],
      tls_maximum_protocol_version: TLS_VERSIONS[tls.maxProtocolVersion ?? 'TLS_AUTO'],
      ...(ciphers.length > 0 ? { cipher_suites: ciphers } : {}),
    };
  }
  if (mode !== 'SIMPLE') {
    const ca = `${certificate}${CA_CERT_SUFFIX}`;
    sdsNames.push(ca);
    const sans = tls.subjectAltNames ?? [];
    common['combined_validation_context'] = {
      default_validation_context: sans.length > 0
        ? { match_typed_subject_alt_names: sans.flatMap((san) => (['DNS', 'URI'] as const).map((san_type) => ({ san_type, matcher: { exact: san } }))) }
        : {},
      validation_context_sds_secret_config: { name: ca, sds_config: ADS_SDS },
    };
  }
  return {
    serverNames: sniHosts(server),
    transportSocket: {
      name: TLS_SOCKET_NAME,
      typed_config: {
        '@type': TYPE_URL.downstreamTlsContext,
        common_tls_context: common,
        require_client_certificate: { value: mode === 'MUTUAL' },
      },
    },
    sdsNames,
    where: { gateway, index },
  };
}

/**
 * The Secret resources a gateway of `namespace` gets for the SDS names its chains refer to, and the
 * names that cannot be served (their chains stay warming in Envoy until the Secret appears).
 * Credentials of other namespaces are never looked at: Istio's SDS authorization.
 */
export function gatewaySecrets(credentials: readonly GatewayCredential[], namespace: string, sdsNames: Iterable<string>): { secrets: SdsSecret[]; missing: Map<string, string> } {
  const own = new Map(credentials.filter((c) => c.namespace === namespace).map((c) => [c.name, c]));
  const secrets: SdsSecret[] = [];
  const missing = new Map<string, string>();
  for (const name of [...new Set(sdsNames)].sort()) {
    const found = sdsSecret(name, own);
    if ('secret' in found) secrets.push(found.secret);
    else missing.set(name, found.missing);
  }
  return { secrets, missing };
}
