// Hand-written Envoy resources for tests (snake_case plain objects, as src/xds/protos.ts packs them).

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export function httpListener(name: string, host: string, port: number, routeConfigName: string): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: host, port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM_TYPE,
              stat_prefix: name,
              rds: { route_config_name: routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } },
              http_filters: [
                { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE } },
                { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
              ],
            },
          },
        ],
      },
    ],
  };
}

export function weightedRoute(match: Record<string, unknown>, weights: [string, number][], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    match,
    route: { weighted_clusters: { clusters: weights.map(([name, weight]) => ({ name, weight: { value: weight } })) }, ...extra },
  };
}

export function routeConfig(name: string, virtualHosts: Record<string, unknown>[]): Record<string, unknown> {
  return { name, virtual_hosts: virtualHosts };
}

export function edsCluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { service_name: name, eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: { seconds: 1 },
    lb_policy: 'ROUND_ROBIN',
    ...extra,
  };
}

export interface TestEndpoint {
  port: number;
  host?: string;
  weight?: number;
  health?: string;
}

export function loadAssignment(clusterName: string, endpoints: TestEndpoint[]): Record<string, unknown> {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        locality: { region: 'local', zone: 'test' },
        lb_endpoints: endpoints.map((e) => ({
          endpoint: { address: { socket_address: { address: e.host ?? '127.0.0.1', port_value: e.port } } },
          ...(e.weight !== undefined ? { load_balancing_weight: { value: e.weight } } : {}),
          ...(e.health !== undefined ? { health_status: e.health } : {}),
        })),
      },
    ],
  };
}
