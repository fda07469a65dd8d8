// envoy.extensions.transport_sockets.tls.v3 DownstreamTlsContext / UpstreamTlsContext / Secret -> the
// proxy's TLS model. Every field is either acted on, listed as accepted without effect (`unenforced`:
// it changes no verification), or refused by name: a verification setting is never dropped silently.

import type { TlsSecret } from '../../security/secrets.js';
import { SDS_CLUSTER } from '../../security/secrets.js';
import type { CertificateValidation, CommonTls, DownstreamTls, SanMatcher, SecretRef, UpstreamTls, UpstreamTransportSpec } from '../model/tls.js';
import { decodeStringMatcher } from './headers.js';
import { enumName, isObj, join, obj, objs, Problems, str, strs, wrappedBool, type Obj } from './fields.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const DOWNSTREAM_TLS_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const RAW_BUFFER_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const RAW_BUFFER_NAME = 'envoy.transport_sockets.raw_buffer';

/** Fields of a message not in `known` are refused, so a new verification knob is never skipped. */
function refuseUnknown(o: Obj, known: readonly string[], path: string, p: Problems, what: string): void {
  for (const [k, v] of Object.entries(o)) {
    if (k === '@type' || known.includes(k)) continue;
    // Decoded protos carry empty repeated fields and each oneof's name (naming the member that is set).
    if ((Array.isArray(v) && v.length === 0) || (typeof v === 'string' && v in o && known.includes(v))) continue;
    p.add(join(path, k), `is not supported by the meshwork proxy's ${what}`);
  }
}

/** config.core.v3.DataSource as PEM text: inline only (files and environment variables are the agent's business). */
function dataSource(o: Obj | undefined, path: string, p: Problems): string | undefined {
  if (!o) return undefined;
  const inlineString = str(o, 'inline_string', path, p);
  if (inlineString !== undefined) return inlineString;
  const inlineBytes = str(o, 'inline_bytes', path, p);
  if (inlineBytes !== undefined) return Buffer.from(inlineBytes, 'base64').toString('utf8');
  if (o['filename'] !== undefined || o['environment_variable'] !== undefined) {
    p.add(path, 'filename and environment_variable data sources are not supported (use inline data or SDS)');
  } else p.add(path, 'one of inline_string, inline_bytes is required');
  return undefined;
}

/** SdsSecretConfig: `ads` (the proxy's ADS stream) or the agent's `sds-grpc` cluster. */
function sdsRef(o: Obj, path: string, p: Problems): SecretRef | undefined {
  const name = str(o, 'name', path, p);
  if (!name) {
    p.add(join(path, 'name'), 'is required');
    return undefined;
  }
  const config = obj(o, 'sds_config', path, p);
  if (!config) {
    p.add(join(path, 'sds_config'), 'is required (secrets inside the SDS config are not supported)');
    return undefined;
  }
  if (config['ads'] !== undefined) return { kind: 'sds', name, source: 'ads' };
  const api = obj(config, 'api_config_source', join(path, 'sds_config'), p);
  const services = api ? objs(api, 'grpc_services', join(path, 'sds_config.api_config_source'), p) : [];
  const cluster = services.length === 1 ? services[0]!.value['envoy_grpc'] : undefined;
  if (isObj(cluster) && cluster['cluster_name'] === SDS_CLUSTER) return { kind: 'sds', name, source: 'local' };
  p.add(join(path, 'sds_config'), `only ads or an api_config_source with envoy_grpc cluster '${SDS_CLUSTER}' (the local agent) is supported`);
  return undefined;
}

const SAN_TYPES = ['SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'] as const;

/** CertificateValidationContext: the trust bundle (inline) and the SAN matchers. */
function validationContext(o: Obj, path: string, p: Problems, trustedCa: SecretRef | undefined): CertificateValidation {
  refuseUnknown(o, ['trusted_ca', 'match_subject_alt_names', 'match_typed_subject_alt_names'], path, p, 'certificate validation');
  const sanMatchers: SanMatcher[] = [];
  for (const { value, path: mPath } of objs(o, 'match_typed_subject_alt_names', path, p)) {
    const type = enumName(value, 'san_type', SAN_TYPES, mPath, p);
    if (type === undefined || type === 'SAN_TYPE_UNSPECIFIED' || type === 'OTHER_NAME') {
      p.add(join(mPath, 'san_type'), 'must be one of EMAIL, DNS, URI, IP_ADDRESS');
      continue;
    }
    const m = obj(value, 'matcher', mPath, p);
    const matcher = m && decodeStringMatcher(m, join(mPath, 'matcher'), p);
    if (matcher) sanMatchers.push({ type, matcher });
    else if (!m) p.add(join(mPath, 'matcher'), 'is required');
  }
  for (const { value, path: mPath } of objs(o, 'match_subject_alt_names', path, p)) {
    const matcher = decodeStringMatcher(value, mPath, p);
    if (matcher) sanMatchers.push({ type: 'any', matcher });
  }
  const inlineCa = dataSource(obj(o, 'trusted_ca', path, p), join(path, 'trusted_ca'), p);
  if (inlineCa !== undefined && trustedCa) p.add(join(path, 'trusted_ca'), 'is also given by validation_context_sds_secret_config');
  return { trustedCa: inlineCa !== undefined ? { kind: 'inline', secret: { trustedCaPem: inlineCa } } : trustedCa, sanMatchers };
}

function commonTls(o: Obj, path: string, p: Problems, unenforced: string[]): CommonTls {
  refuseUnknown(
    o,
    ['tls_params', 'tls_certificates', 'tls_certificate_sds_secret_configs', 'validation_context', 'validation_context_sds_secret_config', 'combined_validation_context', 'alpn_protocols'],
    path,
    p,
    'common_tls_context',
  );
  const certificates: SecretRef[] = [];
  for (const { value, path: cPath } of objs(o, 'tls_certificates', path, p)) {
    refuseUnknown(value, ['certificate_chain', 'private_key'], cPath, p, 'tls_certificates');
    const chain = dataSource(obj(value, 'certificate_chain', cPath, p), join(cPath, 'certificate_chain'), p);
    const key = dataSource(obj(value, 'private_key', cPath, p), join(cPath, 'private_key'), p);
    if (chain !== undefined && key !== undefined) certificates.push({ kind: 'inline', secret: { certificateChainPem: chain, privateKeyPem: key } });
  }
  for (const { value, path: sPath } of objs(o, 'tls_certificate_sds_secret_configs', path, p)) {
    const ref = sdsRef(value, sPath, p);
    if (ref) certificates.push(ref);
  }
  if (certificates.length > 1) p.add(path, 'more than one certificate (selection by SNI or key type) is not supported');
  const params = obj(o, 'tls_params', path, p);
  if (params) {
    // Protocol versions and cipher preferences narrow what is negotiated; Node's defaults (TLS 1.2+, strong suites) apply.
    for (const k of Object.keys(params)) unenforced.push(`${join(path, 'tls_params')}.${k}`);
  }
  let validation: CertificateValidation | undefined;
  const plain = obj(o, 'validation_context', path, p);
  const sdsValidation = obj(o, 'validation_context_sds_secret_config', path, p);
  const combined = obj(o, 'combined_validation_context', path, p);
  if ([plain, sdsValidation, combined].filter(Boolean).length > 1) p.add(path, 'only one of validation_context, validation_context_sds_secret_config, combined_validation_context may be set');
  if (plain) validation = validationContext(plain, join(path, 'validation_context'), p, undefined);
  else if (sdsValidation) validation = { trustedCa: sdsRef(sdsValidation, join(path, 'validation_context_sds_secret_config'), p), sanMatchers: [] };
  else if (combined) {
    const cPath = join(path, 'combined_validation_context');
    refuseUnknown(combined, ['default_validation_context', 'validation_context_sds_secret_config'], cPath, p, 'combined_validation_context');
    const secret = obj(combined, 'validation_context_sds_secret_config', cPath, p);
    const ref = secret ? sdsRef(secret, join(cPath, 'validation_context_sds_secret_config'), p) : undefined;
    if (!secret) p.add(join(cPath, 'validation_context_sds_secret_config'), 'is required');
    validation = validationContext(obj(combined, 'default_validation_context', cPath, p) ?? {}, join(cPath, 'default_validation_context'), p, ref);
  }
  if (validation && !validation.trustedCa && validation.sanMatchers.length > 0) {
    // Envoy refuses SAN matching without a trust bundle: names in an unverified certificate mean nothing.
    p.add(path, 'SAN matchers need a trusted CA (trusted_ca or a validation secret)');
  }
  return { certificate: certificates[0], validation, alpn: strs(o, 'alpn_protocols', path, p) };
}

export function decodeDownstreamTls(o: Obj, path: string, p: Problems, unenforced: string[]): DownstreamTls {
  refuseUnknown(o, ['common_tls_context', 'require_client_certificate', 'disable_stateless_session_resumption', 'disable_stateful_session_resumption'], path, p, 'DownstreamTlsContext');
  const common = commonTls(obj(o, 'common_tls_context', path, p) ?? {}, join(path, 'common_tls_context'), p, unenforced);
  if (!common.certificate) p.add(join(path, 'common_tls_context'), 'a server certificate is required (tls_certificates or tls_certificate_sds_secret_configs)');
  const requireClientCertificate = wrappedBool(o, 'require_client_certificate', path, p) ?? false;
  if (requireClientCertificate && !common.validation?.trustedCa) p.add(join(path, 'require_client_certificate'), 'needs a trusted CA to verify client certificates against');
  return { ...common, requireClientCertificate };
}

export function decodeUpstreamTls(o: Obj, path: string, p: Problems, unenforced: string[]): UpstreamTls {
  refuseUnknown(o, ['common_tls_context', 'sni', 'max_session_keys', 'allow_renegotiation'], path, p, 'UpstreamTlsContext');
  if (o['max_session_keys'] !== undefined) unenforced.push(join(path, 'max_session_keys'));
  if (o['allow_renegotiation'] === true) p.add(join(path, 'allow_renegotiation'), 'is not supported');
  const common = commonTls(obj(o, 'common_tls_context', path, p) ?? {}, join(path, 'common_tls_context'), p, unenforced);
  return { ...common, sni: str(o, 'sni', path, p) || undefined };
}

/** A transport_socket: raw_buffer, or TLS with a context of the given direction. */
export function decodeTransportSocket<T>(
  ts: Obj,
  path: string,
  p: Problems,
  tlsUrl: string,
  decodeTls: (o: Obj, path: string, p: Problems) => T,
): { kind: 'raw' } | { kind: 'tls'; tls: T } | undefined {
  const name = str(ts, 'name', path, p) ?? '';
  const typed = obj(ts, 'typed_config', path, p);
  const url = typed?.['@type'];
  if (url === RAW_BUFFER_URL || (!typed && name === RAW_BUFFER_NAME)) return { kind: 'raw' };
  if (typed && url === tlsUrl) return { kind: 'tls', tls: decodeTls(typed, join(path, 'typed_config'), p) };
  p.add(path, `transport socket '${name}'${url ? ` (${String(url)})` : ''} is not supported (raw_buffer and ${TLS_TRANSPORT_SOCKET} with ${tlsUrl.split('.').pop()} are)`);
  return undefined;
}

export function decodeUpstreamTransport(ts: Obj, path: string, p: Problems, unenforced: string[]): UpstreamTransportSpec | undefined {
  return decodeTransportSocket(ts, path, p, UPSTREAM_TLS_URL, (o, tPath, tp) => decodeUpstreamTls(o, tPath, tp, unenforced));
}

/** envoy.extensions.transport_sockets.tls.v3.Secret: a certificate with its key, or a trust bundle. */
export function decodeSecret(o: Obj): { ok: true; value: TlsSecret } | { ok: false; error: string[] } {
  const p = new Problems();
  if (!str(o, 'name', '', p)) p.add('name', 'is required');
  refuseUnknown(o, ['name', 'tls_certificate', 'validation_context'], '', p, 'Secret (session_ticket_keys and generic_secret are not used)');
  const secret: TlsSecret = {};
  const cert = obj(o, 'tls_certificate', '', p);
  if (cert) {
    refuseUnknown(cert, ['certificate_chain', 'private_key'], 'tls_certificate', p, 'tls_certificate');
    secret.certificateChainPem = dataSource(obj(cert, 'certificate_chain', 'tls_certificate', p), 'tls_certificate.certificate_chain', p);
    secret.privateKeyPem = dataSource(obj(cert, 'private_key', 'tls_certificate', p), 'tls_certificate.private_key', p);
  }
  const validation = obj(o, 'validation_context', '', p);
  if (validation) {
    // SAN matchers belong in the resource's default_validation_context, where both proxies read them.
    refuseUnknown(validation, ['trusted_ca'], 'validation_context', p, 'Secret validation_context');
    secret.trustedCaPem = dataSource(obj(validation, 'trusted_ca', 'validation_context', p), 'validation_context.trusted_ca', p);
  }
  if (!cert && !validation) p.add('', 'one of tls_certificate, validation_context is required');
  return p.list.length ? { ok: false, error: p.list } : { ok: true, value: secret };
}
