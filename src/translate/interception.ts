// The sidecar listener model for proxies whose traffic is captured by iptables (node metadata
// INTERCEPTION_MODE=REDIRECT), as Istio 1.2x writes it by default for sidecars:
//   virtualOutbound 0.0.0.0:15001  use_original_dst: a redirected connection goes to the listener
//                                  bound (bind_to_port false) to its original destination, else to
//                                  PassthroughCluster (ORIGINAL_DST);
//   0.0.0.0_<port>                 one per HTTP service port: the outbound HCM (RDS);
//   <ClusterIP>_<port>             one per TCP service port: tcp_proxy to the service's cluster;
//   virtualInbound 0.0.0.0:15006   original_dst + tls_inspector, a filter chain set per inbound port
//                                  (destination_port) with the same chains as the inbound listeners of
//                                  the http_proxy model (PeerAuthentication modes), then passthrough
//                                  chains to InboundPassthroughClusterIpv4 by the workload's mode.
// Inbound clusters are ORIGINAL_DST bound to 127.0.0.6, the source the capture rules never redirect.
// Differences from Istio: outbound HTTP listeners share the one route configuration `http_proxy`
// (its domains carry the port) instead of a route configuration per port; no http_inspector
// sniffing of undeclared protocols; IPv4 only. Pure.

import type { ProxyIdentity } from '../registry/model.js';
import type { TranslationContext } from './context.js';
import type { Cluster, FilterChain, Listener, NetworkFilter } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { HTTP_PROXY_ROUTE, inboundChains, inboundFilter, OUTBOUND_PORT, outboundHttpManager, TLS_INSPECTOR, type InboundPort } from './listeners.js';
import { inboundClusterName, isHttpProtocol, outboundClusterName, portProtocol } from './names.js';
import type { MtlsMode } from './peer-authentication.js';

/** Istio's node metadata key and the one mode supported (TPROXY is not). */
export const INTERCEPTION_MODE_METADATA = 'INTERCEPTION_MODE';
export const INBOUND_CAPTURE_PORT = 15006;
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughClusterIpv4';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
/** Where the inbound side's connections to the app come from (the capture rules return it untouched). */
export const INBOUND_SOURCE_ADDRESS = '127.0.0.6';

const ORIGINAL_DST_FILTER = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': TYPE_URL.originalDst } } as const;
const CONNECT_TIMEOUT = { seconds: 10, nanos: 0 };

function tcpProxy(statPrefix: string, cluster: string): NetworkFilter {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TYPE_URL.tcpProxy, stat_prefix: statPrefix, cluster } };
}

function anyAddress(port: number): Listener['address'] {
  return { socket_address: { address: '0.0.0.0', port_value: port } };
}

function originalDstCluster(name: string, bindInbound: boolean): Cluster {
  return {
    name,
    type: 'ORIGINAL_DST',
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'CLUSTER_PROVIDED',
    ...(bindInbound ? { upstream_bind_config: { source_address: { address: INBOUND_SOURCE_ADDRESS, port_value: 0 } } } : {}),
  };
}

/** Outbound: virtualOutbound and the port listeners it hands connections to. */
export function interceptedOutbound(ctx: TranslationContext, proxy: Pick<ProxyIdentity, 'cluster'>): { listeners: Listener[]; clusters: Cluster[] } {
  const listeners: Listener[] = [{
    name: 'virtualOutbound',
    address: anyAddress(OUTBOUND_PORT),
    use_original_dst: { value: true },
    filter_chains: [
      // A connection to 15001 itself would loop.
      { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: { value: OUTBOUND_PORT } }, filters: [tcpProxy(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)] },
      { name: 'virtualOutbound-catchall-tcp', filters: [tcpProxy(PASSTHROUGH_CLUSTER, PASSTHROUGH_CLUSTER)] },
    ],
    traffic_direction: 'OUTBOUND',
  }];
  const httpPorts = new Set<number>();
  const tcp = new Map<string, Listener>();
  for (const service of [...ctx.services.values()].sort((a, b) => a.hostname.localeCompare(b.hostname))) {
    for (const port of service.ports) {
      if (port.port === OUTBOUND_PORT || port.port === INBOUND_CAPTURE_PORT) continue;
      if (isHttpProtocol(portProtocol(port))) {
        httpPorts.add(port.port);
        continue;
      }
      const clusterIp = service.clusterIPs?.[proxy.cluster];
      if (!clusterIp) continue;
      const name = `${clusterIp}_${port.port}`;
      if (tcp.has(name)) continue;
      const cluster = outboundClusterName(port.port, undefined, service.hostname);
      tcp.set(name, {
        name,
        address: { socket_address: { address: clusterIp, port_value: port.port } },
        bind_to_port: { value: false },
        filter_chains: [{ filters: [tcpProxy(cluster, cluster)] }],
        traffic_direction: 'OUTBOUND',
      });
    }
  }
  for (const port of [...httpPorts].sort((a, b) => a - b)) {
    listeners.push({
      name: `0.0.0.0_${port}`,
      address: anyAddress(port),
      bind_to_port: { value: false },
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: outboundHttpManager(`outbound_0.0.0.0_${port}`, HTTP_PROXY_ROUTE) }] }],
      traffic_direction: 'OUTBOUND',
    });
  }
  listeners.push(...tcp.values());
  return {
    listeners,
    clusters: [originalDstCluster(PASSTHROUGH_CLUSTER, false), { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: CONNECT_TIMEOUT, lb_policy: 'ROUND_ROBIN' }],
  };
}

/**
 * Inbound: virtualInbound. `mtlsFor` gives each port's PeerAuthentication mode; `workloadMode` the
 * workload's own, which the passthrough chains (ports no service declares) follow, as in Istio.
 */
export function interceptedInbound(
  proxy: Pick<ProxyIdentity, 'ip'>,
  inbound: readonly InboundPort[],
  mtlsFor: (port: number) => MtlsMode,
  workloadMode: MtlsMode,
): { listeners: Listener[]; clusters: Cluster[] } {
  const chains: FilterChain[] = [
    { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: { value: INBOUND_CAPTURE_PORT } }, filters: [tcpProxy(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)] },
  ];
  const clusters: Cluster[] = [];
  for (const { port, protocol, appPort } of [...inbound].sort((a, b) => a.port - b.port)) {
    const http = isHttpProtocol(protocol);
    const portChains = inboundChains(mtlsFor(port), [inboundFilter(proxy, port, protocol)], http).filter_chains ?? [];
    for (const chain of portChains) {
      chains.push({
        ...chain,
        name: `${inboundClusterName(port)}${chain.transport_socket ? '-mtls' : ''}`,
        filter_chain_match: { destination_port: { value: port }, ...chain.filter_chain_match },
      });
    }
    // The app listens on the port the caller dialled: Istio's ORIGINAL_DST inbound cluster. A Sidecar
    // ingress that maps the port elsewhere gets the pod IP and that port.
    clusters.push(appPort === port
      ? originalDstCluster(inboundClusterName(port), true)
      : {
        name: inboundClusterName(port),
        type: 'STATIC',
        connect_timeout: CONNECT_TIMEOUT,
        lb_policy: 'ROUND_ROBIN',
        upstream_bind_config: { source_address: { address: INBOUND_SOURCE_ADDRESS, port_value: 0 } },
        load_assignment: {
          cluster_name: inboundClusterName(port),
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: proxy.ip, port_value: appPort } } } }] }],
        },
      });
  }
  const passthrough = inboundChains(workloadMode, [tcpProxy(INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER)], false).filter_chains ?? [];
  for (const chain of passthrough) chains.push({ ...chain, name: `virtualInbound${chain.transport_socket ? '-mtls' : ''}-passthrough` });
  clusters.push(originalDstCluster(INBOUND_PASSTHROUGH_CLUSTER, true));
  return {
    listeners: [{
      name: 'virtualInbound',
      address: anyAddress(INBOUND_CAPTURE_PORT),
      listener_filters: [ORIGINAL_DST_FILTER, TLS_INSPECTOR],
      filter_chains: chains,
      traffic_direction: 'INBOUND',
    }],
    clusters,
  };
}
