// Envoy's RBAC filter (source/extensions/filters/common/rbac): a request (or a TCP connection) is
// checked against each RBAC filter in order. ALLOW: allowed when some policy matches; DENY: denied
// when some policy matches; LOG: never denies. A policy matches when one of its permissions and one of
// its principals match. HTTP: a denial is a 403 "RBAC: access denied"; TCP: the connection is closed.

import type * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Permission, Principal, RbacFilter } from '../model/rbac.js';
import { connectionTlsOf } from '../tls/peer-certificate.js';
import { matchHeader, matchString, type MatchRequest } from '../route/match.js';
import { inCidr } from './trust.js';

export const RBAC_DENIED_BODY = 'RBAC: access denied';

/** What the matchers read of a request or connection. */
export interface RbacSubject {
  /** The HTTP request (absent on a TCP connection: header and path matchers do not match). */
  request?: MatchRequest;
  /** The peer's address (direct_remote_ip). */
  peer: string;
  /** The client's address as the connection manager judged it (remote_ip): x-forwarded-for aware. */
  remote: string;
  localAddress: string;
  localPort: number;
  /** The TLS server name the client asked for ('' without TLS). */
  serverName: string;
  /** The peer certificate's names (undefined: not a TLS connection). */
  peerCertificate: PeerNames | undefined;
}

export interface PeerNames {
  uriSans: string[];
  dnsSans: string[];
  subject: string;
}

/** Runs the filters in order: the first that denies decides; otherwise allowed. */
export function checkRbac(filters: readonly RbacFilter[], subject: RbacSubject, count: (filter: RbacFilter, allowed: boolean) => void): boolean {
  for (const filter of filters) {
    const rules = filter.rules;
    if (!rules) continue;
    const matched = rules.policies.some((p) => p.permissions.some((x) => permits(x, subject)) && p.principals.some((x) => identifies(x, subject)));
    const allowed = rules.action === 'ALLOW' ? matched : rules.action === 'DENY' ? !matched : true;
    count(filter, allowed);
    if (!allowed) return false;
  }
  return true;
}

function urlPath(req: MatchRequest): string {
  const q = req.path.search(/[?#]/);
  return q < 0 ? req.path : req.path.slice(0, q);
}

function permits(p: Permission, s: RbacSubject): boolean {
  switch (p.kind) {
    case 'any':
      return true;
    case 'and':
      return p.rules.every((r) => permits(r, s));
    case 'or':
      return p.rules.some((r) => permits(r, s));
    case 'not':
      return !permits(p.rule, s);
    case 'header':
      return s.request !== undefined && matchHeader(p.matcher, s.request);
    case 'url_path':
      return s.request !== undefined && matchString(p.matcher, urlPath(s.request));
    case 'destination_ip':
      return inCidr(stripMapped(s.localAddress), p.cidr);
    case 'destination_port':
      return s.localPort === p.port;
    case 'destination_port_range':
      return s.localPort >= p.start && s.localPort < p.end;
    case 'requested_server_name':
      return matchString(p.matcher, s.serverName);
    case 'metadata':
      return p.invert;
  }
}

function identifies(p: Principal, s: RbacSubject): boolean {
  switch (p.kind) {
    case 'any':
      return true;
    case 'and':
      return p.ids.every((r) => identifies(r, s));
    case 'or':
      return p.ids.some((r) => identifies(r, s));
    case 'not':
      return !identifies(p.id, s);
    case 'header':
      return s.request !== undefined && matchHeader(p.matcher, s.request);
    case 'url_path':
      return s.request !== undefined && matchString(p.matcher, urlPath(s.request));
    case 'direct_remote_ip':
      return inCidr(stripMapped(s.peer), p.cidr);
    case 'remote_ip':
      return inCidr(stripMapped(s.remote), p.cidr);
    case 'authenticated': {
      // Envoy: the URI SANs, then the DNS SANs, then the subject.
      const cert = s.peerCertificate;
      if (!cert) return false;
      if (!p.matcher) return true;
      const m = p.matcher;
      return cert.uriSans.some((n) => matchString(m, n)) || cert.dnsSans.some((n) => matchString(m, n)) || matchString(m, cert.subject);
    }
    case 'metadata':
      return p.invert;
  }
}

function stripMapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The peer certificate's names on a TLS connection, undefined on a plain one: what the listener read
 * at the handshake (tls/peer-certificate.ts); a TLS connection without a client certificate has none
 * (Envoy's `authenticated` without a name still matches it).
 */
export function peerNames(socket: net.Socket | undefined): PeerNames | undefined {
  const info = connectionTlsOf(socket);
  if (!info) return undefined;
  const peer = info.peer;
  return peer ? { uriSans: peer.uriSans, dnsSans: peer.dnsSans, subject: peer.subject } : { uriSans: [], dnsSans: [], subject: '' };
}

/** The TLS server name the client sent ('' on a plain connection). */
export function serverNameOf(socket: net.Socket | undefined): string {
  const name = (socket as (tls.TLSSocket & { servername?: string | false }) | undefined)?.servername;
  return typeof name === 'string' ? name : '';
}
