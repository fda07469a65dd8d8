// Listeners as the proxy sees them: an address to bind, and filter chains chosen per connection (by
// destination port, the ClientHello's SNI, TLS or not) that end in the HTTP connection manager or a
// TCP proxy. Each chain ending in an HTTP connection manager carries its own (Istio's gateways give
// every HTTPS server on a port its own chain, SNI-matched, with its own route configuration).

import type { FaultConfig } from './fault.js';
import type { RbacFilter } from './rbac.js';
import type { ClusterSpecifier, RouteTable } from './route.js';
import type { DownstreamTls } from './tls.js';

export type RouteSource = { kind: 'rds'; routeConfigName: string } | { kind: 'inline'; table: RouteTable };

export interface HttpConnectionManager {
  /** The HCM's config as received (JSON): chains with identical ones share one object, and a listener
   * update that keeps it keeps its connections on it. */
  configKey: string;
  statPrefix: string;
  routes: RouteSource;
  /** The listener-level fault filter config (http_filters entry 'envoy.filters.http.fault'), if any. */
  fault: FaultConfig | undefined;
  /** Whether the fault filter is in the chain at all (per-route fault configs need it). */
  faultFilterPresent: boolean;
  /** Where the CORS filter sits (per-route CORS policies need it): before or after the fault filter, or absent. */
  corsFilter: 'before-fault' | 'after-fault' | undefined;
  /** envoy.filters.http.rbac filters, in order (before fault and CORS): checked before routing. */
  rbac: RbacFilter[];
  /** upgrade_configs CONNECT: CONNECT requests are routed (else answered 405). */
  connectEnabled: boolean;
  stripAnyHostPort: boolean;
  stripMatchingHostPort: boolean;
  /** How the request's forwarding headers are trusted and rewritten (x-forwarded-*, x-envoy-*, XFCC). */
  trust: TrustBoundary;
  /** log_name of each http_grpc access logger on `envoy_accesslog_service` (the agent's, served in process). */
  grpcAccessLogs: string[];
  /** Access loggers accepted without effect (logged when the listener is taken on). */
  unenforced: string[];
}

/** Envoy's HttpConnectionManager.ForwardClientCertDetails. */
export type ForwardClientCert = 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';

/** An IPv4 or IPv6 CIDR range (internal_address_config.cidr_ranges). */
export interface CidrRange {
  prefix: string;
  length: number;
}

/** A part of the XFCC element set_current_client_cert_details asks for (By and Hash are always there). */
export type ClientCertDetail = 'Cert' | 'Chain' | 'Subject' | 'URI' | 'DNS';

export interface TrustBoundary {
  /** use_remote_address: the peer's address is the client's; it is appended to x-forwarded-for. */
  useRemoteAddress: boolean;
  /** xff_num_trusted_hops: proxies in front of this one whose x-forwarded-for entries are trusted. */
  xffNumTrustedHops: number;
  skipXffAppend: boolean;
  forwardClientCert: ForwardClientCert;
  /** set_current_client_cert_details, in Envoy's order (APPEND_FORWARD and SANITIZE_SET add these to XFCC). */
  clientCertDetails: ClientCertDetail[];
  /** internal_address_config.cidr_ranges: the addresses whose requests are internal (none by default). */
  internalCidrs: CidrRange[];
  preserveExternalRequestId: boolean;
}

/** envoy.filters.network.tcp_proxy: bytes both ways to one host of the chosen cluster. */
export interface TcpProxyConfig {
  statPrefix: string;
  cluster: ClusterSpecifier;
  /** No bytes either way for this long closes both sides; 0 disables (Envoy's default is 1 h). */
  idleTimeoutMs: number;
  /** max_downstream_connection_duration; 0: none. */
  maxDurationMs: number;
  /** envoy.filters.network.rbac filters in front of the tcp_proxy: checked on the first bytes. */
  networkRbac: RbacFilter[];
}

/** envoy.config.listener.v3.FilterChainMatch, the fields this proxy matches on. */
export interface FilterChainMatch {
  destinationPort: number | undefined;
  /** Lower case; `*.example.com` matches any name ending in `.example.com`. */
  serverNames: string[];
  /** 'tls' or 'raw_buffer' (what the tls_inspector found), undefined: any. */
  transportProtocol: string | undefined;
  /** ALPN values of which the ClientHello must offer one (Istio's mesh mTLS chains); empty: any. */
  applicationProtocols: string[];
}

/** What ends a filter chain: its HTTP connection manager, or a TCP proxy. */
export type ChainTerminal = { kind: 'http'; hcm: HttpConnectionManager } | { kind: 'tcp'; tcp: TcpProxyConfig };

export interface FilterChain {
  name: string;
  match: FilterChainMatch;
  terminal: ChainTerminal;
  /** transport_socket envoy.transport_sockets.tls: the chain terminates TLS; undefined: raw_buffer. */
  tls?: DownstreamTls;
  /** TLS fields accepted without effect (logged when the listener is taken on). */
  unenforced?: string[];
}

export interface Listener {
  name: string;
  address: { host: string; port: number };
  /** The distinct HTTP connection managers of its chains, in chain order (identical ones are one object). */
  hcms: HttpConnectionManager[];
  chains: FilterChain[];
  /** default_filter_chain: used when no chain matches (else the connection is closed). */
  defaultChain: FilterChain | undefined;
  /** envoy.filters.listener.tls_inspector: read the ClientHello (SNI) before choosing a chain. */
  tlsInspector: boolean;
}

/** The one chain of a listener whose every connection goes to its HTTP connection manager (no chain to choose), else undefined. */
export function plainHttpChain(l: Listener): FilterChain | undefined {
  const only = l.chains.length === 1 && !l.defaultChain ? l.chains[0] : l.chains.length === 0 ? l.defaultChain : undefined;
  return !l.tlsInspector && only !== undefined && only.terminal.kind === 'http' && !only.tls &&
    only.match.destinationPort === undefined && only.match.serverNames.length === 0 && only.match.transportProtocol === undefined ? only : undefined;
}
