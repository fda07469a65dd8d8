// A hand-written snapshot for tests: one gRPC service `echo.test.svc.cluster.local:7070` whose
// route splits traffic by weight over EDS clusters, as a proxyless gRPC client reads it.

import { TYPE_URLS } from '../protos.js';
import type { SingleGroupSnapshot } from '../snapshot.js';

export const ECHO_TARGET = 'echo.test.svc.cluster.local:7070';
export const ECHO_ROUTE = 'echo-route';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export interface Backend {
  /** Cluster name; its ClusterLoadAssignment is `<name>-cla`. */
  name: string;
  port: number;
  weight: number;
}

export interface EchoSnapshotOptions {
  backends: Backend[];
  /** Extra fields merged into the route's `route` action (to make it invalid, for example). */
  routeActionExtra?: Record<string, unknown>;
  /** Stamped into the RouteConfiguration's metadata, so its content changes with it. */
  routeStamp?: string;
  /** Extra RouteConfigurations (to show that RDS is served by name). */
  extraRoutes?: string[];
  /** Extra EDS clusters with CLAs but no route to them. */
  extraClusters?: Backend[];
}

function listener(): object {
  return {
    name: ECHO_TARGET,
    api_listener: {
      api_listener: {
        '@type': HCM,
        rds: { route_config_name: ECHO_ROUTE, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
      },
    },
  };
}

function route(name: string, opts: EchoSnapshotOptions): object {
  return {
    name,
    virtual_hosts: [
      {
        name: 'echo',
        domains: [ECHO_TARGET],
        routes: [
          {
            match: { prefix: '' },
            route: {
              weighted_clusters: { clusters: opts.backends.map((b) => ({ name: b.name, weight: { value: b.weight } })) },
              ...opts.routeActionExtra,
            },
          },
        ],
      },
    ],
    ...(opts.routeStamp
      ? { metadata: { filter_metadata: { meshwork: { fields: { version: { string_value: opts.routeStamp } } } } } }
      : {}),
  };
}

function cluster(b: Backend): object {
  return {
    name: b.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: `${b.name}-cla` },
    connect_timeout: { seconds: 1 },
    lb_policy: 'ROUND_ROBIN',
  };
}

function loadAssignment(b: Backend): object {
  return {
    cluster_name: `${b.name}-cla`,
    endpoints: [
      {
        locality: { region: 'local', zone: 'cluster-1' },
        load_balancing_weight: { value: 1 },
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: b.port } } }, health_status: 'HEALTHY' }],
      },
    ],
  };
}

export function echoSnapshot(opts: EchoSnapshotOptions): SingleGroupSnapshot {
  const allClusters = [...opts.backends, ...(opts.extraClusters ?? [])];
  return {
    resources: {
      [TYPE_URLS.listener]: new Map([[ECHO_TARGET, listener()]]),
      [TYPE_URLS.route]: new Map([ECHO_ROUTE, ...(opts.extraRoutes ?? [])].map((n) => [n, route(n, opts)])),
      [TYPE_URLS.cluster]: new Map(allClusters.map((b) => [b.name, cluster(b)])),
      [TYPE_URLS.endpoint]: new Map(allClusters.map((b) => [`${b.name}-cla`, loadAssignment(b)])),
    },
  };
}
