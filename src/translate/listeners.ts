// Listener builders for each proxy kind. Listener content is independent of the snapshot version
// (only proxyless RouteConfigurations carry it), so a config change does not make Envoy drain listeners.

import type { GatewayTopology } from '../config/proxy-config.js';
import type { MeshEndpoint, ProxyIdentity } from '../registry/model.js';
import { ADS } from './clusters.js';
import type { TranslationContext } from './context.js';
import type { Cluster, FilterChain, HttpConnectionManager, HttpFilter, Listener, ListenerFilter, NetworkFilter, RouteConfiguration } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { CORS_FILTER } from './cors.js';
import type { GatewayPort } from './gateway.js';
import { FAULT_FILTER_NAME, ROUTER_FILTER_NAME } from './http-routes.js';
import { endpointPortKey, inboundClusterName, isHttpProtocol, portProtocol, type PortProtocol } from './names.js';
import type { MtlsMode } from './peer-authentication.js';
import { ALPN_MESH_INBOUND, inboundMtlsContext, tlsSocket } from './tls-context.js';

export const TLS_INSPECTOR: ListenerFilter = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE_URL.tlsInspector } };

export const OUTBOUND_PORT = 15001;
export const HTTP_PROXY_ROUTE = 'http_proxy';

const ROUTER_FILTER: HttpFilter = { name: ROUTER_FILTER_NAME, typed_config: { '@type': TYPE_URL.router } };
const FAULT_FILTER: HttpFilter = { name: FAULT_FILTER_NAME, typed_config: { '@type': TYPE_URL.fault } };
/** The HTTP filters of every sidecar and gateway connection manager, in Istio's order. */
export const PROXY_HTTP_FILTERS: readonly HttpFilter[] = [FAULT_FILTER, CORS_FILTER, ROUTER_FILTER];

/**
 * `proxy`: a sidecar or gateway, whose chain is Istio's fault, CORS, router (the per-route configs
 * need their filters); a proxyless client gets the fault filter only where a route uses it (gRPC has
 * no CORS filter and would refuse one).
 */
function hcm(statPrefix: string, routes: { rds: string } | { inline: RouteConfiguration }, chain: 'proxy' | 'proxyless-fault' | 'proxyless'): HttpConnectionManager {
  const filters = chain === 'proxy' ? [...PROXY_HTTP_FILTERS] : chain === 'proxyless-fault' ? [FAULT_FILTER, ROUTER_FILTER] : [ROUTER_FILTER];
  const manager: HttpConnectionManager = {
    '@type': TYPE_URL.httpConnectionManager,
    stat_prefix: statPrefix,
    http_filters: filters,
  };
  if ('rds' in routes) manager.rds = { config_source: ADS, route_config_name: routes.rds };
  else manager.route_config = routes.inline;
  return manager;
}

function socketListener(name: string, ip: string, port: number, manager: HttpConnectionManager, direction: 'INBOUND' | 'OUTBOUND'): Listener {
  return {
    name,
    address: { socket_address: { address: ip, port_value: port } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: manager }] }],
    traffic_direction: direction,
  };
}

/**
 * A gateway is where traffic enters the mesh (Istio's gateway HCM): x-forwarded-for gets the peer's
 * address, x-envoy-* headers from outside are dropped. Who the client is comes from the gateway's
 * ProxyConfig gatewayTopology (the pod's proxy.istio.io/config annotation over the mesh's
 * defaultConfig): with numTrustedProxies N > 0 the Nth address from the right of x-forwarded-for
 * (the proxies in front wrote it), else the peer; it becomes x-envoy-external-address.
 * x-forwarded-client-cert follows forwardClientCertDetails, SANITIZE_SET by default (replaced by the
 * client's own certificate details: removed when it presented none).
 */
export function gatewayTrust(topology: GatewayTopology = {}): Partial<HttpConnectionManager> {
  const hops = topology.numTrustedProxies ?? 0;
  return {
    use_remote_address: { value: true },
    ...(hops > 0 ? { xff_num_trusted_hops: hops } : {}),
    forward_client_cert_details: topology.forwardClientCertDetails ?? 'SANITIZE_SET',
    set_current_client_cert_details: { subject: { value: true }, cert: true, dns: true, uri: true },
  };
}

/**
 * A sidecar's inbound side (Istio's inbound HCM): x-forwarded-for as the previous hop wrote it, and
 * x-forwarded-client-cert appended with the calling peer's certificate details (APPEND_FORWARD), which
 * without a client certificate (no mTLS between proxies here) means removed.
 */
export function inboundTrust(): Partial<HttpConnectionManager> {
  return {
    use_remote_address: { value: false },
    forward_client_cert_details: 'APPEND_FORWARD',
    set_current_client_cert_details: { subject: { value: true }, dns: true, uri: true },
  };
}

/** An outbound HTTP connection manager on route configuration `route` (interception's port listeners). */
export function outboundHttpManager(statPrefix: string, route: string): HttpConnectionManager {
  return hcm(statPrefix, { rds: route }, 'proxy');
}

/** The sidecar's outbound listener: the app's HTTP proxy (absolute-URI requests), RDS `http_proxy`. */
export function sidecarOutboundListener(proxy: ProxyIdentity): Listener {
  const manager = hcm(`outbound_${proxy.ip}_${OUTBOUND_PORT}`, { rds: HTTP_PROXY_ROUTE }, 'proxy');
  manager.http_protocol_options = { allow_absolute_url: { value: true } };
  // CONNECT host:port is how an app reaches a TCP or TLS service port through its proxy (https_proxy).
  manager.upgrade_configs = [{ upgrade_type: 'CONNECT' }];
  return socketListener(`${proxy.ip}_${OUTBOUND_PORT}`, proxy.ip, OUTBOUND_PORT, manager, 'OUTBOUND');
}

/**
 * Inbound listeners: one per endpoint port of the proxy's own pod (the endpoints whose address is the
 * proxy's IP, given by the caller), forwarding to the app on the same port at its app IP.
 */
export function sidecarInbound(
  ctx: TranslationContext,
  proxy: ProxyIdentity,
  ownEndpoints: readonly MeshEndpoint[],
  mtlsFor?: (port: number) => MtlsMode,
): { listeners: Listener[]; clusters: Cluster[] } {
  return inboundListeners(proxy, sidecarInboundPorts(ctx, ownEndpoints), mtlsFor);
}

/** The inbound ports of the proxy's own pod: its endpoints' ports of the services that select it. */
export function sidecarInboundPorts(ctx: TranslationContext, ownEndpoints: readonly MeshEndpoint[]): InboundPort[] {
  const ports = new Map<number, InboundPort>();
  for (const endpoint of ownEndpoints) {
    const service = ctx.services.get(endpoint.hostname);
    if (!service) continue;
    for (const port of service.ports) {
      const target = endpoint.ports[endpointPortKey(port)];
      // 15001 is the proxy's own outbound listener; an app port there cannot be intercepted.
      if (target === undefined || target === OUTBOUND_PORT) continue;
      if (!ports.has(target)) ports.set(target, { port: target, protocol: portProtocol(port), appPort: target });
    }
  }
  return [...ports.values()];
}

/** One inbound port: the listener on the pod IP, its protocol, and the app port it forwards to. */
export interface InboundPort {
  port: number;
  protocol: PortProtocol;
  appPort: number;
}

/**
 * Inbound listeners and their clusters: each port's listener on the pod IP forwards to the app (app IP,
 * appPort). `mtlsFor` gives each port's PeerAuthentication mode (Istio's default PERMISSIVE when absent).
 */
export function inboundListeners(
  proxy: ProxyIdentity,
  inbound: readonly InboundPort[],
  mtlsFor: (port: number) => MtlsMode = () => 'PERMISSIVE',
): { listeners: Listener[]; clusters: Cluster[] } {
  const appIp = proxy.appIp ?? '127.0.0.1';
  const listeners: Listener[] = [];
  const clusters: Cluster[] = [];
  for (const { port, protocol, appPort } of [...inbound].sort((a, b) => a.port - b.port)) {
    const clusterName = inboundClusterName(port);
    const name = `${proxy.ip}_${port}`;
    const http = isHttpProtocol(protocol);
    const filter = inboundFilter(proxy, port, protocol);
    listeners.push({
      name,
      address: { socket_address: { address: proxy.ip, port_value: port } },
      ...inboundChains(mtlsFor(port), [filter], http),
      traffic_direction: 'INBOUND',
    });
    clusters.push({
      name: clusterName,
      type: 'STATIC',
      connect_timeout: { seconds: 10, nanos: 0 },
      lb_policy: 'ROUND_ROBIN',
      load_assignment: {
        cluster_name: clusterName,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: appIp, port_value: appPort } } } }] }],
      },
    });
  }
  return { listeners, clusters };
}

/** An inbound port's network filter: Istio's inbound HCM (inline route to the port's inbound cluster) or tcp_proxy. */
export function inboundFilter(proxy: Pick<ProxyIdentity, 'ip'>, port: number, protocol: PortProtocol): NetworkFilter {
  const clusterName = inboundClusterName(port);
  if (!isHttpProtocol(protocol)) return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TYPE_URL.tcpProxy, stat_prefix: clusterName, cluster: clusterName } };
  const inline: RouteConfiguration = {
    name: clusterName,
    virtual_hosts: [{
      name: `inbound|http|${port}`,
      domains: ['*'],
      routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: clusterName, timeout: { seconds: 0, nanos: 0 } } }],
    }],
  };
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: { ...hcm(`inbound_${proxy.ip}_${port}`, { inline }, 'proxy'), ...inboundTrust() } };
}

/**
 * An inbound port's filter chains by its PeerAuthentication mode (Istio's inbound mTLS chains):
 * STRICT -- mesh mTLS only (client certificate required); DISABLE -- plaintext only; PERMISSIVE --
 * the tls_inspector tells mesh mTLS (TLS with Istio's ALPN values) from anything else, which takes
 * the plaintext chain exactly as a port without mTLS does.
 */
export function inboundChains(mode: MtlsMode, filters: NetworkFilter[], http: boolean): Pick<Listener, 'listener_filters' | 'filter_chains'> {
  const mtls: FilterChain = { filters, transport_socket: tlsSocket(inboundMtlsContext(http)) };
  switch (mode) {
    case 'DISABLE':
      return { filter_chains: [{ filters }] };
    case 'STRICT':
      return { filter_chains: [mtls] };
    case 'PERMISSIVE':
      return {
        listener_filters: [TLS_INSPECTOR],
        filter_chains: [{ filter_chain_match: { transport_protocol: 'tls', application_protocols: [...ALPN_MESH_INBOUND] }, ...mtls }, { filters }],
      };
  }
}

/**
 * A gateway listener: Istio names it 0.0.0.0_<port>; here it binds the gateway pod's IP. `servers`
 * are the port's route configurations: one plain `http.<port>`, or one per TLS-terminating server,
 * each its own filter chain matched by SNI (the tls_inspector reads it) with its DownstreamTlsContext.
 */
export function gatewayListener(proxy: ProxyIdentity, port: number, servers: readonly Pick<GatewayPort, 'routeConfigName' | 'tls'>[]): Listener {
  const manager = (routeConfigName: string): HttpConnectionManager => ({ ...hcm(`outbound_0.0.0.0_${port}`, { rds: routeConfigName }, 'proxy'), ...gatewayTrust(proxy.gatewayTopology) });
  const plain = servers.find((s) => !s.tls);
  if (plain) return socketListener(`0.0.0.0_${port}`, proxy.ip, port, manager(plain.routeConfigName), 'OUTBOUND');
  return {
    name: `0.0.0.0_${port}`,
    address: { socket_address: { address: proxy.ip, port_value: port } },
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE_URL.tlsInspector } }],
    filter_chains: servers.flatMap(({ routeConfigName, tls }) => (tls ? [{
      ...(tls.serverNames.length > 0 ? { filter_chain_match: { server_names: tls.serverNames } } : {}),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: manager(routeConfigName) }],
      transport_socket: tls.transportSocket,
    }] : [])),
    traffic_direction: 'OUTBOUND',
  };
}

/** A proxyless gRPC client's listener: an api_listener whose RDS route config has the listener's name. */
export function proxylessListener(name: string, withFault: boolean): Listener {
  return { name, api_listener: { api_listener: hcm(name, { rds: name }, withFault ? 'proxyless-fault' : 'proxyless') } };
}
