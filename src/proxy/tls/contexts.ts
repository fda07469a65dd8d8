// TLS contexts -> node:tls options, built from the secrets current when a connection starts, and the
// checks Envoy makes that node:tls does not: SAN matchers (match_subject_alt_names /
// match_typed_subject_alt_names) and a presented client certificate verified even when not required.

import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import type { TlsSecret } from '../../security/secrets.js';
import type { CommonTls, DownstreamTls, SanMatcher, UpstreamTls } from '../model/tls.js';
import { matchString } from '../route/match.js';
import type { SecretResolver } from './secrets.js';

/** The SANs of a certificate by type, as Envoy reads them. */
export interface CertificateNames {
  uri: string[];
  dns: string[];
  email: string[];
  ip: string[];
}

/** Parses X509Certificate.subjectAltName ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). */
export function certificateNames(cert: X509Certificate): CertificateNames {
  const names: CertificateNames = { uri: [], dns: [], email: [], ip: [] };
  for (const part of splitAltNames(cert.subjectAltName ?? '')) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    const type = part.slice(0, colon);
    const value = unquote(part.slice(colon + 1));
    if (type === 'URI') names.uri.push(value);
    else if (type === 'DNS') names.dns.push(value);
    else if (type === 'email') names.email.push(value);
    else if (type === 'IP Address') names.ip.push(value);
  }
  return names;
}

/** Node quotes a SAN value holding a comma or quote as a JSON string; split outside quotes. */
function splitAltNames(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function unquote(v: string): string {
  if (!v.startsWith('"')) return v;
  try {
    return JSON.parse(v) as string;
  } catch {
    return v;
  }
}

/** Envoy's SAN check: no matchers accepts any name; else some SAN of the matcher's type must match. */
export function sanMatches(matchers: readonly SanMatcher[], names: CertificateNames): boolean {
  if (matchers.length === 0) return true;
  return matchers.some((m) => {
    const candidates =
      m.type === 'URI' ? names.uri : m.type === 'DNS' ? names.dns : m.type === 'EMAIL' ? names.email : m.type === 'IP_ADDRESS' ? names.ip : [...names.email, ...names.dns, ...names.uri, ...names.ip];
    // DNS SANs may be wildcards: Envoy matches a '*.example.com' SAN against an exact matcher's name too.
    return candidates.some((n) => matchString(m.matcher, n) || (m.type !== 'URI' && n.startsWith('*.') && m.matcher.kind === 'exact' && dnsWildcardMatches(n, m.matcher.value)));
  });
}

function dnsWildcardMatches(san: string, name: string): boolean {
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot) === san.slice(1);
}

interface Built {
  cert: TlsSecret | undefined;
  ca: TlsSecret | undefined;
  context: tls.SecureContext;
}

/** The last context built per TLS context, reused while its secrets stay the same objects. */
const built = new WeakMap<CommonTls, Built>();

/** A secure context from the current secrets, or the reason there is none yet. */
export function secureContext(spec: CommonTls, secrets: SecretResolver): tls.SecureContext | Error {
  const cert = spec.certificate && secrets.resolve(spec.certificate);
  const ca = spec.validation?.trustedCa && secrets.resolve(spec.validation.trustedCa);
  if (spec.certificate && !cert) return new Error(`certificate secret not available: ${secrets.missing(spec).join(', ')}`);
  if (spec.validation?.trustedCa && !ca) return new Error(`validation secret not available: ${secrets.missing(spec).join(', ')}`);
  const previous = built.get(spec);
  if (previous && previous.cert === cert && previous.ca === ca) return previous.context;
  if (cert && (!cert.certificateChainPem || !cert.privateKeyPem)) return new Error('the certificate secret has no tls_certificate');
  if (ca && !ca.trustedCaPem) return new Error('the validation secret has no trusted_ca');
  try {
    const context = tls.createSecureContext({
      ...(cert ? { cert: cert.certificateChainPem, key: cert.privateKeyPem } : {}),
      ...(ca ? { ca: ca.trustedCaPem } : {}),
    });
    built.set(spec, { cert, ca, context });
    return context;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Server-side options for a chain's DownstreamTlsContext (checkPeer() completes the verification). */
/**
 * `offered`: the ALPN protocols of the client's ClientHello. As Envoy (BoringSSL), a server whose
 * protocols the client does not offer negotiates none and goes on (HTTP/1.1); Node would end the
 * handshake with no_application_protocol, so it is given only the protocols both sides have. Istio's
 * sidecars offer `istio-peer-exchange`, `istio` to inbound chains that list h2 and http/1.1.
 */
export function serverOptions(spec: DownstreamTls, context: tls.SecureContext, offered: readonly string[]): tls.TLSSocketOptions {
  const verify = spec.validation?.trustedCa !== undefined;
  const alpn = spec.alpn.filter((p) => offered.includes(p));
  return {
    isServer: true,
    secureContext: context,
    requestCert: verify,
    // A missing certificate fails the handshake only when required; a presented one is checked either way (checkPeer).
    rejectUnauthorized: verify && spec.requireClientCertificate,
    ...(alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
  };
}

/** Why a downstream peer is refused after the handshake, or undefined when it is accepted. */
export function checkPeer(spec: DownstreamTls, socket: tls.TLSSocket): string | undefined {
  if (spec.validation?.trustedCa === undefined) return undefined;
  const peer = socket.getPeerX509Certificate();
  if (!peer) return spec.requireClientCertificate ? 'no client certificate' : undefined;
  const verifyError = handshakeVerifyError(socket);
  if (verifyError) return `client certificate not trusted (${verifyError})`;
  if (!sanMatches(spec.validation.sanMatchers, certificateNames(peer))) return 'client certificate SAN does not match';
  return undefined;
}

/**
 * The chain verification result of a server-side handshake. A TLSSocket made outside a tls.Server does
 * not set `authorized`; the handle's verifyError() is what tls.Server reads. Without it, fail closed.
 */
function handshakeVerifyError(socket: tls.TLSSocket): string | undefined {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'cannot read the verification result';
  const e = handle.verifyError();
  return e ? (e.code ?? e.message) : undefined;
}

/** Client-side options for an UpstreamTlsContext: verification against the trust bundle, then the SAN matchers. */
export function clientOptions(spec: UpstreamTls, context: tls.SecureContext): tls.ConnectionOptions {
  const matchers = spec.validation?.sanMatchers ?? [];
  return {
    secureContext: context,
    // Envoy sends SNI only when the context says so, and never checks the host name (only SAN matchers).
    ...(spec.sni ? { servername: spec.sni } : { servername: '' }),
    ...(spec.alpn.length > 0 ? { ALPNProtocols: spec.alpn } : {}),
    rejectUnauthorized: spec.validation?.trustedCa !== undefined,
    checkServerIdentity: (_host, cert) => {
      const names = certificateNames(new X509Certificate(cert.raw));
      return sanMatches(matchers, names) ? undefined : new Error(`upstream certificate SANs ${JSON.stringify(names)} match none of the SAN matchers`);
    },
  };
}
