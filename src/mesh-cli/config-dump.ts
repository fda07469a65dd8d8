// Reading an Envoy /config_dump (envoy.admin.v3.ConfigDump, snake_case as Envoy prints it) back into
// the resource lists the translator's simulator walks. Both dumps have this shape: the proxy's own
// (admin port 15000, what it accepted) and the control plane's (/debug/config_dump, what it sends).

import type { Cluster, ClusterLoadAssignment, Listener, ProxyResources, RouteConfiguration } from '../translate/envoy-types.js';

export type DumpedResources = Omit<ProxyResources, 'problems'> & {
  /** version_info of the last accepted update per type ('' when the dump has none). */
  versions: { listeners: string; routes: string; clusters: string; endpoints: string };
  /** error_state details of rejected updates (a NACKed push), one line each. */
  rejected: string[];
};

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The resource without its Any '@type' (the simulator's types have none). */
function unwrap(value: unknown): Json | undefined {
  if (!isObject(value)) return undefined;
  const { '@type': _type, ...rest } = value;
  return rest;
}

// Top-level shape checks: deeper fields are read defensively by the walkers (a dump is not trusted).
function isListener(v: Json | undefined): v is Json & Listener {
  return v !== undefined && typeof v.name === 'string';
}
function isRouteConfiguration(v: Json | undefined): v is Json & RouteConfiguration {
  return v !== undefined && typeof v.name === 'string' && Array.isArray(v.virtual_hosts);
}
function isCluster(v: Json | undefined): v is Json & Cluster {
  return v !== undefined && typeof v.name === 'string' && typeof v.type === 'string';
}
function isLoadAssignment(v: Json | undefined): v is Json & ClusterLoadAssignment {
  return v !== undefined && typeof v.cluster_name === 'string' && Array.isArray(v.endpoints);
}

function configOf(dump: Json, suffix: string): Json | undefined {
  return list(dump.configs).find((c) => str(c['@type']).endsWith(`.${suffix}`));
}

export function parseConfigDump(dump: unknown): DumpedResources {
  if (!isObject(dump) || !Array.isArray(dump.configs)) {
    throw new Error('not an Envoy config_dump: expected {configs: [...]}');
  }
  const rejected: string[] = [];
  const noteError = (kind: string, entry: Json): void => {
    const state = entry.error_state;
    if (isObject(state)) rejected.push(`${kind}: ${str(state.details) || 'rejected'}`);
  };

  const ldsDump = configOf(dump, 'ListenersConfigDump') ?? {};
  const listeners: Listener[] = [];
  for (const entry of list(ldsDump.static_listeners)) {
    const l = unwrap(entry.listener);
    if (isListener(l)) listeners.push(l);
  }
  for (const entry of list(ldsDump.dynamic_listeners)) {
    noteError(`listener ${str(entry.name)}`, entry);
    const l = unwrap(isObject(entry.active_state) ? entry.active_state.listener : undefined);
    if (isListener(l)) listeners.push(l);
  }

  const rdsDump = configOf(dump, 'RoutesConfigDump') ?? {};
  const routes: RouteConfiguration[] = [];
  for (const entry of [...list(rdsDump.static_route_configs), ...list(rdsDump.dynamic_route_configs)]) {
    const r = unwrap(entry.route_config);
    noteError(`route ${r ? str(r.name) : '?'}`, entry);
    // proto3 omits empty repeated fields.
    const withHosts = r && !Array.isArray(r.virtual_hosts) ? { ...r, virtual_hosts: [] } : r;
    if (isRouteConfiguration(withHosts)) routes.push(withHosts);
  }

  const cdsDump = configOf(dump, 'ClustersConfigDump') ?? {};
  const clusters: Cluster[] = [];
  for (const entry of [...list(cdsDump.static_clusters), ...list(cdsDump.dynamic_active_clusters)]) {
    const c = unwrap(entry.cluster);
    noteError(`cluster ${c ? str(c.name) : '?'}`, entry);
    // proto3 omits enum defaults: an absent type is STATIC.
    const withType = c && typeof c.type !== 'string' ? { ...c, type: 'STATIC' } : c;
    if (isCluster(withType)) clusters.push(withType);
  }

  const edsDump = configOf(dump, 'EndpointsConfigDump') ?? {};
  const endpoints: ClusterLoadAssignment[] = [];
  for (const entry of [...list(edsDump.static_endpoint_configs), ...list(edsDump.dynamic_endpoint_configs)]) {
    const e = unwrap(entry.endpoint_config);
    noteError(`endpoints ${e ? str(e.cluster_name) : '?'}`, entry);
    const withEndpoints = e && !Array.isArray(e.endpoints) ? { ...e, endpoints: [] } : e;
    if (isLoadAssignment(withEndpoints)) endpoints.push(withEndpoints);
  }

  const versionOf = (c: Json, entries: Json[]): string => str(c.version_info) || str(entries[0]?.version_info);
  return {
    listeners,
    routes,
    clusters,
    endpoints,
    versions: {
      listeners: versionOf(ldsDump, list(ldsDump.dynamic_listeners)),
      routes: versionOf(rdsDump, list(rdsDump.dynamic_route_configs)),
      clusters: versionOf(cdsDump, list(cdsDump.dynamic_active_clusters)),
      endpoints: versionOf(edsDump, list(edsDump.dynamic_endpoint_configs)),
    },
    rejected,
  };
}

/** The resources as the simulator takes them. */
export function asProxyResources(dumped: DumpedResources): ProxyResources {
  return { listeners: dumped.listeners, routes: dumped.routes, clusters: dumped.clusters, endpoints: dumped.endpoints, problems: [] };
}
