// What the mesh commands read, made from a translation in tests: the control plane's and the proxy's
// config_dump of a proxy's resources, and the control plane's /debug/registry of a snapshot.

import { configDump } from '../../controlplane/proxy-resources.js';
import type { MeshSnapshot } from '../../registry/model.js';
import type { ProxyResources } from '../../translate/envoy-types.js';
import { packAny, TYPE_URLS, unpackAny } from '../../xds/protos.js';

/** The control plane's /debug/config_dump, as JSON. */
export function controlPlaneDump(resources: ProxyResources): unknown {
  return JSON.parse(JSON.stringify(configDump(resources, 'v-test')));
}

/** The proxy's /config_dump: every resource as protobufjs decodes it (defaults omitted, oneof keys added). */
export function proxyDump(resources: ProxyResources): unknown {
  const wire = (typeUrl: string, r: object): Record<string, unknown> => {
    const { message } = unpackAny(packAny(typeUrl, r));
    return { '@type': typeUrl, ...message };
  };
  const admin = 'type.googleapis.com/envoy.admin.v3';
  return JSON.parse(JSON.stringify({
    configs: [
      { '@type': `${admin}.ListenersConfigDump`, version_info: '1', dynamic_listeners: resources.listeners.map((l) => ({ name: l.name, active_state: { version_info: '1', listener: wire(TYPE_URLS.listener, l) } })) },
      { '@type': `${admin}.RoutesConfigDump`, dynamic_route_configs: resources.routes.map((r) => ({ version_info: '1', route_config: wire(TYPE_URLS.route, r) })) },
      { '@type': `${admin}.ClustersConfigDump`, version_info: '1', dynamic_active_clusters: resources.clusters.map((c) => ({ version_info: '1', cluster: wire(TYPE_URLS.cluster, c) })) },
      { '@type': `${admin}.EndpointsConfigDump`, dynamic_endpoint_configs: resources.endpoints.map((e) => ({ version_info: '1', endpoint_config: wire(TYPE_URLS.endpoint, e) })) },
    ],
  }));
}

/** The control plane's /debug/registry of a snapshot (services and endpoints per member cluster), over the wire. */
export function registryBody(snapshot: MeshSnapshot): unknown {
  const clusters = [...new Set(snapshot.endpoints.map((e) => e.cluster))].sort();
  return JSON.parse(JSON.stringify({
    clusters: clusters.map((id) => ({
      clusterId: id,
      services: snapshot.services.filter((s) => s.clusters.includes(id)),
      endpoints: snapshot.endpoints.filter((e) => e.cluster === id),
    })),
  }));
}
