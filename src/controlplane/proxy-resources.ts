// The translator's output in the two shapes others read: the per-node xDS snapshot the ADS server
// serves, and Envoy's /config_dump (what `meshwork proxy-config` shows, as `istioctl proxy-config`).

import type { ProxyResources } from '../translate/envoy-types.js';
import { TYPE_URLS } from '../xds/protos.js';
import type { XdsSnapshot } from '../xds/snapshot.js';

export function toXdsSnapshot(resources: ProxyResources): XdsSnapshot {
  return {
    resources: {
      [TYPE_URLS.listener]: new Map(resources.listeners.map((r) => [r.name, r])),
      [TYPE_URLS.route]: new Map(resources.routes.map((r) => [r.name, r])),
      [TYPE_URLS.cluster]: new Map(resources.clusters.map((r) => [r.name, r])),
      [TYPE_URLS.endpoint]: new Map(resources.endpoints.map((r) => [r.cluster_name, r])),
    },
  };
}

const ADMIN = 'type.googleapis.com/envoy.admin.v3';

export interface ConfigDump {
  configs: Array<Record<string, unknown> & { '@type': string }>;
}

/** Envoy admin config_dump shape (envoy.admin.v3.*ConfigDump), every resource with its '@type'. */
export function configDump(resources: ProxyResources, version: string): ConfigDump {
  return {
    configs: [
      {
        '@type': `${ADMIN}.ListenersConfigDump`,
        version_info: version,
        dynamic_listeners: resources.listeners.map((listener) => ({
          name: listener.name,
          active_state: { version_info: version, listener: { '@type': TYPE_URLS.listener, ...listener } },
        })),
      },
      {
        '@type': `${ADMIN}.RoutesConfigDump`,
        dynamic_route_configs: resources.routes.map((route) => ({ version_info: version, route_config: { '@type': TYPE_URLS.route, ...route } })),
      },
      {
        '@type': `${ADMIN}.ClustersConfigDump`,
        version_info: version,
        dynamic_active_clusters: resources.clusters.map((cluster) => ({ version_info: version, cluster: { '@type': TYPE_URLS.cluster, ...cluster } })),
      },
      {
        '@type': `${ADMIN}.EndpointsConfigDump`,
        dynamic_endpoint_configs: resources.endpoints.map((cla) => ({ version_info: version, endpoint_config: { '@type': TYPE_URLS.endpoint, ...cla } })),
      },
    ],
  };
}
