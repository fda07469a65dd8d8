// A cluster's TLS to its endpoints, as Istio decides it (cluster_builder.go / cluster_tls.go):
// - no tls in the DestinationRule: auto mTLS -- transport_socket_matches that use mesh mTLS towards
//   endpoints marked tlsMode istio (pods with a sidecar) and plaintext towards the rest; not for
//   MESH_EXTERNAL ServiceEntries, nor where the service's namespace (or the mesh) disables mTLS;
// - DISABLE: plaintext; ISTIO_MUTUAL: mesh mTLS to every endpoint, the sni and subjectAltNames as
//   written, else Istio's `outbound_.<port>_.<subset>_.<host>` and the service accounts' identities;
// - SIMPLE / MUTUAL: TLS with the rule's sni and subjectAltNames, certificates from credentialName
//   (SDS `kubernetes://<name>` over ADS, its CA `<name>-cacert`).
// Proxyless gRPC clients, and proxies whose agent has no certificates, get no TLS at all.

import type { ClientTLSSettings } from '../config/istio-types.js';
import { spiffeId } from '../security/spiffe.js';
import type { ServiceView, TranslationContext } from './context.js';
import type { Cluster, CommonTlsContext, UpstreamTlsContext } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { serviceMtlsDisabled } from './peer-authentication.js';
import { problemAt, type ConfigRef } from '../config/problems.js';
import { autoMtlsMatches, credentialSecret, istioMutualContext, sanMatchers, TLS_MODE_LABEL, tlsSocket } from './tls-context.js';
import type { MeshEndpoint } from '../registry/model.js';

/** Istio's SNI for mesh mTLS (BuildDNSSrvSubsetKey): `outbound_.<port>_.<subset>_.<host>`. */
export function istioSni(port: number, subset: string | undefined, hostname: string): string {
  return `outbound_.${port}_.${subset ?? ''}_.${hostname}`;
}

/** The identities behind a service: its endpoints' service accounts as SPIFFE IDs, plus a ServiceEntry's subjectAltNames; sorted, once each. */
export function serviceIdentities(ctx: TranslationContext, service: ServiceView, endpoints: readonly MeshEndpoint[]): string[] {
  const ids = new Set(service.subjectAltNames ?? []);
  for (const e of endpoints) {
    if (e.serviceAccount) ids.add(spiffeId({ trustDomain: ctx.trustDomain, namespace: e.namespace, serviceAccount: e.serviceAccount }));
  }
  return [...ids].sort();
}

/** Whether an endpoint is a mesh workload that takes mesh mTLS (a sidecar, or the tlsMode label a WorkloadEntry may carry). */
export function meshTlsEndpoint(e: MeshEndpoint): boolean {
  return e.hasSidecar || e.labels[TLS_MODE_LABEL] === 'istio';
}

export interface ClusterTlsInput {
  ctx: TranslationContext;
  cluster: Cluster;
  service: ServiceView;
  port: number;
  subset: string | undefined;
  tls: ClientTLSSettings | undefined;
  /** The service's identities (serviceIdentities). */
  identities: readonly string[];
  /** Where to report (undefined: the finding belongs to another cluster of the same rule). */
  ref: ConfigRef | undefined;
  /** The traffic policy's field path. */
  field: string;
}

function isHttp2(cluster: Cluster): boolean {
  const options = cluster.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  return options?.explicit_http_config !== undefined && 'http2_protocol_options' in options.explicit_http_config;
}

export function applyClusterTls(input: ClusterTlsInput): void {
  const { ctx, cluster, service, port, subset, tls, identities, ref, field } = input;
  const warn = (at: string, code: 'unsupported' | 'unsupported-by-proxyless', message: string) => {
    if (ref) ctx.problems.add(problemAt(ref, 'warning', code, `${field}.tls${at}`, message));
  };
  // A tls block without a mode is DISABLE (the proto enum's zero value).
  const mode = tls ? tls.mode ?? 'DISABLE' : undefined;
  if (ctx.proxy?.kind === 'proxyless') {
    if (mode !== undefined && mode !== 'DISABLE') {
      warn('.mode', 'unsupported-by-proxyless', `proxyless gRPC clients have no certificates here, so they cannot originate ${mode}: their calls stay plaintext.`);
    }
    return;
  }
  if (ctx.proxy?.plaintextOnly) {
    if (mode !== undefined && mode !== 'DISABLE') {
      warn('.mode', 'unsupported', `a proxy without workload certificates (its agent has no mesh root) cannot originate ${mode}: its requests stay plaintext.`);
    }
    return;
  }
  const sni = istioSni(port, subset, service.hostname);
  if (mode === undefined) {
    if (service.meshExternal || serviceMtlsDisabled(ctx.peerAuthentications, ctx.rootNamespace, service.namespace)) return;
    cluster.transport_socket_matches = autoMtlsMatches(istioMutualContext(identities, sni, isHttp2(cluster)));
    return;
  }
  if (mode === 'DISABLE') return;
  if (mode === 'ISTIO_MUTUAL') {
    cluster.transport_socket = tlsSocket(istioMutualContext(tls?.subjectAltNames ?? identities, tls?.sni || sni, isHttp2(cluster)));
    return;
  }
  cluster.transport_socket = tlsSocket(originatedTls(tls!, mode, isHttp2(cluster), warn, ctx.proxy?.kind));
}

/** SIMPLE and MUTUAL: the rule's own TLS, certificates from credentialName only (no files in our pods). */
function originatedTls(
  tls: ClientTLSSettings,
  mode: 'SIMPLE' | 'MUTUAL',
  http2: boolean,
  warn: (at: string, code: 'unsupported', message: string) => void,
  proxyKind: string | undefined,
): UpstreamTlsContext {
  const common: CommonTlsContext = {};
  const files = (['caCertificates', 'clientCertificate', 'privateKey'] as const).filter((f) => tls[f]);
  for (const f of files) {
    warn(`.${f}`, 'unsupported', `file paths are not in this mesh's proxies (they have no mounted certificates); ${tls.credentialName ? 'credentialName is used instead' : 'set credentialName to a Secret with tls.crt, tls.key and ca.crt instead'}.`);
  }
  const sans = tls.subjectAltNames ?? [];
  if (tls.credentialName) {
    if (proxyKind === 'sidecar') {
      warn('.credentialName', 'unsupported', 'the control plane serves credentialName Secrets to gateways in the Secret\'s namespace only; a sidecar waits for it in vain and its connections fail. Originate this TLS at an egress gateway.');
    }
    if (mode === 'MUTUAL') common.tls_certificate_sds_secret_configs = [credentialSecret(tls.credentialName)];
    if (!tls.insecureSkipVerify) {
      const ca = credentialSecret(tls.credentialName, true);
      if (sans.length > 0) common.combined_validation_context = { default_validation_context: { match_typed_subject_alt_names: sanMatchers(sans) }, validation_context_sds_secret_config: ca };
      else common.validation_context_sds_secret_config = ca;
    }
  } else {
    if (mode === 'MUTUAL') {
      warn('.mode', 'unsupported', 'MUTUAL without credentialName has no client certificate to present here; the connection is TLS without one. Set credentialName.');
    }
    if (!tls.insecureSkipVerify) {
      // Envoy refuses SAN checks without a trusted CA, and the pod has no CA bundle to trust.
      warn('', 'unsupported', `without credentialName there is no CA to verify the server's certificate with${sans.length > 0 ? ' (subjectAltNames cannot be checked either)' : ''}: the server is not verified. Set credentialName to a Secret with ca.crt.`);
    }
  }
  if (http2) common.alpn_protocols = ['h2'];
  return { '@type': TYPE_URL.upstreamTlsContext, common_tls_context: common, ...(tls.sni ? { sni: tls.sni } : {}) };
}
