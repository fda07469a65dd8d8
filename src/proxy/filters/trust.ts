// The trust boundary of a listener, as Envoy's connection manager draws it before routing: who the
// client is (x-forwarded-for with use_remote_address and xff_num_trusted_hops), whether the request is
// internal (x-envoy-internal, from internal_address_config), what an untrusted client may not send
// (x-envoy-* control headers, x-forwarded-client-cert), and x-envoy-external-address at the edge.
// x-forwarded-client-cert follows forward_client_cert_details and set_current_client_cert_details as
// Envoy's mutateXfccRequestHeader: on a connection without a client certificate every mode but
// ALWAYS_FORWARD_ONLY removes it.

import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { CidrRange, TrustBoundary } from '../model/listener.js';
import type { ConnectionTls } from '../tls/peer-certificate.js';
import type { HeaderRecord } from './headers.js';

/** x-envoy-* headers that steer the proxy: only an internal request may carry them further. */
const INTERNAL_ONLY = [
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-alt-stat-name',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
  'x-envoy-original-url',
  'x-envoy-hedge-on-per-try-timeout',
];
/** Removed too when the request enters the mesh here (an edge request). */
const EDGE_ONLY = ['x-envoy-decorator-operation', 'x-envoy-downstream-service-cluster', 'x-envoy-downstream-service-node'];

export interface TrustVerdict {
  /** The request came from outside through this listener (use_remote_address, not internal). */
  edge: boolean;
  internal: boolean;
  /** The client's address as judged (for logging): a trusted x-forwarded-for entry or the peer. */
  clientAddress: string;
}

let localAddressCache: string | undefined;

/**
 * The address Envoy appends to x-forwarded-for for a loopback peer: the machine's first non-loopback
 * IPv4 interface address, else 127.0.0.1 (Envoy's local address of the node).
 */
export function localAddress(): string {
  if (localAddressCache === undefined) {
    localAddressCache = '127.0.0.1';
    outer: for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        if (a.family === 'IPv4' && !isLoopback(a.address)) {
          localAddressCache = a.address;
          break outer;
        }
      }
    }
  }
  return localAddressCache;
}

function stripMapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function isLoopback(address: string): boolean {
  const a = stripMapped(address);
  return isIP(a) === 4 ? a.startsWith('127.') : a === '::1';
}

function ipv4Bits(a: string): bigint {
  return a.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Bits(a: string): bigint | undefined {
  let s = a;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const bits = ipv4Bits(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${(bits >> 16n).toString(16)}:${(bits & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Whether the address lies in the CIDR range (same family only). */
export function inCidr(address: string, range: CidrRange): boolean {
  const a = isIP(address);
  const r = isIP(range.prefix);
  if (a === 0 || a !== r) return false;
  const width = a === 4 ? 32 : 128;
  const x = a === 4 ? ipv4Bits(address) : ipv6Bits(address);
  const y = a === 4 ? ipv4Bits(range.prefix) : ipv6Bits(range.prefix);
  if (x === undefined || y === undefined) return false;
  const shift = BigInt(width - range.length);
  return x >> shift === y >> shift;
}

/**
 * The x-forwarded-for entry `skip` places from the right (Envoy's getLastAddressFromXFF): undefined when
 * there are not enough entries or the entry is not an IP address; `single` when the header holds one
 * address and none was skipped.
 */
export function lastAddressFromXff(xff: string | undefined, skip: number): { address: string | undefined; single: boolean } {
  if (xff === undefined) return { address: undefined, single: false };
  let rest = xff;
  for (let i = 0; i < skip; i++) {
    const comma = rest.lastIndexOf(',');
    if (comma < 0) return { address: undefined, single: false };
    rest = rest.slice(0, comma);
  }
  const comma = rest.lastIndexOf(',');
  if (comma >= 0 && comma + 1 < rest.length) rest = rest.slice(comma + 1);
  const candidate = rest.trim();
  if (isIP(candidate) === 0) return { address: undefined, single: false };
  return { address: candidate, single: comma < 0 && skip === 0 };
}

function headerString(headers: HeaderRecord, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Rewrites the request's forwarding headers in place as Envoy's connection manager does before routing
 * (ConnectionManagerUtility::mutateRequestHeaders), for a connection from `remoteAddress`.
 */
export function applyTrustBoundary(headers: HeaderRecord, trust: TrustBoundary, remoteAddress: string, tls?: ConnectionTls): TrustVerdict {
  const remote = stripMapped(remoteAddress);
  delete headers['x-envoy-internal'];
  const xff = headerString(headers, 'x-forwarded-for');
  let final: string | undefined;
  let allowTrustedChecks: boolean;
  if (trust.useRemoteAddress) {
    allowTrustedChecks = xff === undefined;
    if (trust.xffNumTrustedHops > 0) final = lastAddressFromXff(xff, trust.xffNumTrustedHops - 1).address;
    final ??= remote;
    if (!trust.skipXffAppend && isIP(remote) !== 0) {
      const appended = isLoopback(remote) ? localAddress() : remote;
      headers['x-forwarded-for'] = xff ? `${xff},${appended}` : appended;
    }
    // The previous hop is not trusted to say how the client spoke to it.
    if (trust.xffNumTrustedHops === 0 || headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = tls ? 'https' : 'http';
  } else {
    const found = lastAddressFromXff(xff, trust.xffNumTrustedHops);
    final = found.address;
    allowTrustedChecks = found.single;
  }
  const internal = allowTrustedChecks && final !== undefined && trust.internalCidrs.some((r) => inCidr(final!, r));
  final ??= remote;
  const edge = !internal && trust.useRemoteAddress;
  if (internal) {
    headers['x-envoy-internal'] = 'true';
  } else {
    if (edge) for (const name of EDGE_ONLY) delete headers[name];
    for (const name of INTERNAL_ONLY) delete headers[name];
  }
  if (edge && isIP(final) !== 0) headers['x-envoy-external-address'] = final;
  applyXfcc(headers, trust, tls);
  return { edge, internal, clientAddress: final };
}

/** Envoy's PEM encoding for XFCC Cert and Chain: the PEM with these characters percent-encoded. */
function urlEncodedPem(pem: string): string {
  return pem.replace(/[\n +/=]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The XFCC element for the current connection: By and Hash, then the details asked for, in Envoy's order. */
export function clientCertElement(trust: TrustBoundary, tls: ConnectionTls): string {
  const peer = tls.peer!;
  const parts = tls.localUriSans.map((uri) => `By=${uri}`);
  parts.push(`Hash=${peer.sha256}`);
  for (const detail of trust.clientCertDetails) {
    if (detail === 'Cert') parts.push(`Cert="${urlEncodedPem(peer.pem)}"`);
    else if (detail === 'Chain') parts.push(`Chain="${urlEncodedPem(peer.chainPem)}"`);
    else if (detail === 'Subject') parts.push(`Subject="${peer.subject}"`);
    // The URI key is written even when the certificate has no URI SAN.
    else if (detail === 'URI') parts.push(...(peer.uriSans.length > 0 ? peer.uriSans.map((u) => `URI=${u}`) : ['URI=']));
    else parts.push(...peer.dnsSans.map((d) => `DNS=${d}`));
  }
  return parts.join(';');
}

function applyXfcc(headers: HeaderRecord, trust: TrustBoundary, tls: ConnectionTls | undefined): void {
  const mode = trust.forwardClientCert;
  if (mode === 'ALWAYS_FORWARD_ONLY') return;
  if (mode === 'SANITIZE' || !tls?.peer) {
    delete headers['x-forwarded-client-cert'];
    return;
  }
  if (mode === 'FORWARD_ONLY') return;
  const element = clientCertElement(trust, tls);
  const existing = headerString(headers, 'x-forwarded-client-cert');
  headers['x-forwarded-client-cert'] = mode === 'APPEND_FORWARD' && existing ? `${existing},${element}` : element;
}
