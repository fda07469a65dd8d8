// The translator's output in the two shapes others read: the per-node xDS snapshot the ADS server
// serves, and Envoy's /config_dump (what `meshwork proxy-config` shows, as `istioctl proxy-config`).

import { buildNameTable } from '../dns/name-table.js';
import { buildWorkloadTable } from '../telemetry/workload-table.js';
import type { MeshSnapshot } from '../registry/model.js';
import type { ProxyResources } from '../translate/envoy-types.js';
import type { ScopedProxyResources } from '../translate/translate.js';
import { TYPE_URLS } from '../xds/protos.js';
import type { ResourceGroup, XdsSnapshot } from '../xds/snapshot.js';

/**
 * One Map per array: every proxy of a scope hands the cache the same shared group objects, and a proxy
 * whose own resources did not change (the translator returns the same arrays) the same own ones.
 */
const groups = new WeakMap<readonly object[], ResourceGroup>();

function group<R extends object>(resources: readonly R[], nameOf: (r: R) => string): ResourceGroup {
  const known = groups.get(resources);
  if (known) return known;
  const made = new Map(resources.map((r) => [nameOf(r), r]));
  groups.set(resources, made);
  return made;
}

const byName = (r: { name: string }): string => r.name;

/** The key of the one NameTable resource of a snapshot (NDS has a single, unnamed table per proxy). */
export const NAME_TABLE_RESOURCE = 'name-table';

const nameTables = new WeakMap<MeshSnapshot, Map<string, ResourceGroup>>();

/** The NDS group of the proxies of one cluster: one object per mesh snapshot and cluster, shared by them all. */
export function nameTableGroup(snapshot: MeshSnapshot, cluster: string): ResourceGroup {
  let byCluster = nameTables.get(snapshot);
  if (!byCluster) nameTables.set(snapshot, (byCluster = new Map()));
  let made = byCluster.get(cluster);
  if (!made) byCluster.set(cluster, (made = new Map([[NAME_TABLE_RESOURCE, buildNameTable(snapshot, cluster)]])));
  return made;
}

/** The key of the one WorkloadTable resource of a snapshot (WDS, like NDS, is one unnamed table). */
export const WORKLOAD_TABLE_RESOURCE = 'workload-table';

const workloadTables = new WeakMap<MeshSnapshot, ResourceGroup>();

/** The WDS group: the mesh's workloads by IP, one object per mesh snapshot, the same for every proxy (a peer may be in any cluster). */
export function workloadTableGroup(snapshot: MeshSnapshot): ResourceGroup {
  let made = workloadTables.get(snapshot);
  if (!made) workloadTables.set(snapshot, (made = new Map([[WORKLOAD_TABLE_RESOURCE, buildWorkloadTable(snapshot)]])));
  return made;
}

/**
 * The node's xDS snapshot: per type, the scope's shared group and, for listeners and clusters, the
 * node's own; and the name table of its cluster and the workload table (only the pod's agent asks for them).
 */
export function toXdsSnapshot(resources: ScopedProxyResources, nameTable?: ResourceGroup, workloadTable?: ResourceGroup): XdsSnapshot {
  const { shared, own } = resources;
  return {
    resources: {
      ...(nameTable ? { [TYPE_URLS.nameTable]: nameTable } : {}),
      ...(workloadTable ? { [TYPE_URLS.workloadTable]: workloadTable } : {}),
      [TYPE_URLS.listener]: [group(shared.listeners, byName), group(own.listeners, byName)],
      [TYPE_URLS.route]: group(shared.routes, byName),
      [TYPE_URLS.cluster]: [group(shared.clusters, byName), group(own.clusters, byName)],
      [TYPE_URLS.endpoint]: group(shared.endpoints, (r) => r.cluster_name),
      // A gateway's credentialName certificates (SDS over ADS), shared by the gateways of a namespace.
      ...(shared.secrets ? { [TYPE_URLS.secret]: group(shared.secrets, byName) } : {}),
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
