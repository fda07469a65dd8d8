// What a downstream TLS connection tells about its peer, read once per connection: the client
// certificate (DER, SHA-256, subject, URI and DNS SANs) and our own certificate's URI SANs. The XFCC
// header is written from it, and the RBAC filter reads the peer's identity through peerCertificate().

import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { certificateNames } from './contexts.js';

export interface PeerCertificate {
  der: Buffer;
  pem: string;
  /** The verified chain as PEM, the peer's certificate first. */
  chainPem: string;
  /** Lower-case hex SHA-256 of the DER (XFCC Hash). */
  sha256: string;
  /** The subject as OpenSSL prints it with XN_FLAG_RFC2253 (Envoy's subjectPeerCertificate). */
  subject: string;
  uriSans: string[];
  dnsSans: string[];
}

export interface ConnectionTls {
  /** The client's certificate; undefined when it presented none. */
  peer: PeerCertificate | undefined;
  /** Our certificate's URI SANs (XFCC By). */
  localUriSans: string[];
  alpn: string | undefined;
}

const TLS_INFO = Symbol('meshwork.connectionTls');

type Tagged = { [TLS_INFO]?: ConnectionTls };

/** Reads the finished handshake of `socket` and keeps it with the socket (HTTP/2 sessions reach it through their socket). */
export function recordConnectionTls(socket: TLSSocket): ConnectionTls {
  const peerCert = socket.getPeerX509Certificate();
  const localCert = socket.getX509Certificate();
  const info: ConnectionTls = {
    peer: peerCert ? describe(peerCert, socket) : undefined,
    localUriSans: localCert ? certificateNames(localCert).uri : [],
    alpn: socket.alpnProtocol || undefined,
  };
  (socket as unknown as Tagged)[TLS_INFO] = info;
  return info;
}

/** The TLS facts of the connection a request came on (its socket, or an HTTP/2 session's socket proxy); undefined: plaintext. */
export function connectionTlsOf(socket: unknown): ConnectionTls | undefined {
  return socket ? (socket as Tagged)[TLS_INFO] : undefined;
}

/** The client certificate of the connection a request came on (for RBAC principals and XFCC). */
export function peerCertificate(req: { tls: ConnectionTls | undefined }): PeerCertificate | undefined {
  return req.tls?.peer;
}

function describe(cert: X509Certificate, socket: TLSSocket): PeerCertificate {
  const names = certificateNames(cert);
  return {
    der: cert.raw,
    pem: cert.toString(),
    chainPem: chainOf(socket),
    sha256: createHash('sha256').update(cert.raw).digest('hex'),
    subject: rfc2253(cert.subject),
    uriSans: names.uri,
    dnsSans: names.dns,
  };
}

function chainOf(socket: TLSSocket): string {
  const pems: string[] = [];
  const seen = new Set<string>();
  let c = socket.getPeerCertificate(true) as (ReturnType<TLSSocket['getPeerCertificate']> & { issuerCertificate?: unknown }) | undefined;
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    pems.push(new X509Certificate(c.raw).toString());
    c = c.issuerCertificate as typeof c;
  }
  return pems.join('');
}

/** Node prints the subject one RDN a line in certificate order; RFC 2253 writes them last first, comma separated. */
function rfc2253(subject: string | undefined): string {
  return (subject ?? '').split('\n').filter(Boolean).reverse().join(',');
}
