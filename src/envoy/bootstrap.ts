// The Envoy bootstrap the agent writes, as pilot-agent writes Istio's: the node (id and metadata exactly
// as the meshwork proxy sends them, so the control plane tells the two apart only by what they are),
// ADS to the control plane, admin on the pod IP, and Istio's Prometheus listener on 15090.
// Pure: the agent serialises it to a file and passes it with -c.
import { isIP } from 'node:net';
import { splitHostPort } from '../net/host-port.js';
import { SDS_CLUSTER } from '../security/secrets.js';
import { ACCESS_LOG_SERVICE_CLUSTER } from '../telemetry/access-log-entry.js';

export const XDS_CLUSTER = 'xds-grpc';
export const PROMETHEUS_CLUSTER = 'prometheus_stats';
export const ENVOY_PROMETHEUS_PORT = 15090;

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export interface BootstrapOptions {
  nodeId: string;
  /** node.cluster: Istio puts the workload's service cluster here. */
  cluster: string;
  /** Strings, and JSON objects such as PROXY_CONFIG (a Struct in the node's metadata). */
  metadata: Readonly<Record<string, unknown>>;
  /** host:port of the control plane's ADS server (an IP or a DNS name). */
  xdsAddress: string;
  /** Where admin, 15090 and the listeners bind: the pod IP. */
  podIp: string;
  adminPort: number;
  /** 0 leaves out the Prometheus listener (tests that run several Envoys on one IP). */
  prometheusPort: number;
  /** Incremental (delta) ADS instead of state of the world. */
  delta?: boolean;
  /**
   * The agent's Unix sockets (a pod with certificates): `xds-grpc` reaches the agent's XDS proxy instead
   * of xdsAddress, and `sds-grpc` its SDS server, as in Istio's bootstrap.
   */
  agentSockets?: { xds: string; sds: string };
  /**
   * The agent's access log service socket: `envoy_accesslog_service` (Istio's name) reaches it, where
   * the agent computes the pod's Istio metrics from Envoy's access logs.
   */
  accessLogSocket?: string;
}

function socketAddress(address: string, port: number) {
  return { socket_address: { address, port_value: port } };
}

function staticCluster(name: string, address: string, port: number, extra: Record<string, unknown> = {}) {
  return {
    name,
    type: isIP(address) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }] },
    ...extra,
  };
}

function pipeCluster(name: string, path: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path } } } }] }] },
    ...extra,
  };
}

const HTTP2_ONLY = {
  typed_extension_protocol_options: {
    [HTTP_PROTOCOL_OPTIONS]: {
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
};

export function envoyBootstrap(opts: BootstrapOptions): Record<string, unknown> {
  const xds = splitHostPort(opts.xdsAddress, 'control plane (XDS_ADDRESS)');
  const controlPlaneClusters = opts.agentSockets
    ? [pipeCluster(XDS_CLUSTER, opts.agentSockets.xds, HTTP2_ONLY), pipeCluster(SDS_CLUSTER, opts.agentSockets.sds, HTTP2_ONLY)]
    : [staticCluster(XDS_CLUSTER, xds.host, xds.port, {
      ...HTTP2_ONLY,
      // xDS reconnects: Envoy's default back-off is 500 ms base, 30 s max (as Istio leaves it).
      upstream_connection_options: { tcp_keepalive: { keepalive_time: 300 } },
    })];
  const metadata: Record<string, unknown> = { ...opts.metadata };
  const listeners = opts.prometheusPort === 0 ? [] : [{
    name: `prometheus_${opts.prometheusPort}`,
    address: socketAddress(opts.podIp, opts.prometheusPort),
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: 'stats',
          route_config: {
            virtual_hosts: [{
              name: 'backend',
              domains: ['*'],
              routes: [{ match: { prefix: '/stats/prometheus' }, route: { cluster: PROMETHEUS_CLUSTER } }],
            }],
          },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
        },
      }],
    }],
  }];
  return {
    node: { id: opts.nodeId, cluster: opts.cluster, metadata },
    admin: { address: socketAddress(opts.podIp, opts.adminPort) },
    dynamic_resources: {
      ads_config: {
        api_type: opts.delta ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        // Envoy retries a broken ADS stream with back-off (default up to 30 s); capped at 4 s, a proxy
        // finds a control plane that is back (restarted, or reachable again) within seconds.
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER, retry_policy: { retry_back_off: { base_interval: '0.5s', max_interval: '4s' } } } }],
        set_node_on_first_message_only: true,
      },
      cds_config: { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '0s' },
      lds_config: { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: '0s' },
    },
    // As Istio's bootstrap: an explicit (unbounded) downstream connection limit, which Envoy otherwise
    // warns about at every start.
    // Upstream connections leave from the pod IP, as a pod's do on Kubernetes: the peer sees who
    // called (AuthorizationPolicy ipBlocks, access logs) rather than 127.0.0.1.
    cluster_manager: { upstream_bind_config: { source_address: socketAddress(opts.podIp, 0).socket_address } },
    overload_manager: {
      resource_monitors: [{
        name: 'envoy.resource_monitors.global_downstream_max_connections',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
          max_active_downstream_connections: 2147483647,
        },
      }],
    },
    static_resources: {
      clusters: [
        ...controlPlaneClusters,
        staticCluster(PROMETHEUS_CLUSTER, opts.podIp, opts.adminPort),
        ...(opts.accessLogSocket ? [pipeCluster(ACCESS_LOG_SERVICE_CLUSTER, opts.accessLogSocket, HTTP2_ONLY)] : []),
      ],
      listeners,
    },
  };
}
