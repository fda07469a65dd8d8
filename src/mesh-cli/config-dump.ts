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

// Envoy prints its config_dump in proto3's JSON mapping, where wrappers are bare values, Durations are
// strings ("2.5s") and Structs plain objects; the translator's types (and our proxy's dump) keep the
// proto form ({value}, {seconds, nanos}, {fields}). Both dumps are read into the proto form.
const WRAPPER_FIELDS = new Set([
  'weight', 'total_weight', 'load_balancing_weight', 'case_sensitive', 'num_retries', 'max_connections', 'max_pending_requests',
  'max_requests', 'max_retries', 'consecutive_5xx', 'enforcing_consecutive_5xx', 'consecutive_gateway_failure',
  'enforcing_consecutive_gateway_failure', 'max_ejection_percent', 'enforcing_success_rate', 'allow_absolute_url',
  'use_remote_address', 'validate_clusters', 'per_connection_buffer_limit_bytes', 'subject', 'prefix_len',
  'require_client_certificate',
]);
const DURATION_FIELDS = new Set(['timeout', 'per_try_timeout', 'connect_timeout', 'interval', 'base_ejection_time', 'fixed_delay', 'idle_timeout', 'max_stream_duration', 'grpc_timeout_header_max', 'initial_fetch_timeout']);

function structValue(v: unknown): unknown {
  if (typeof v === 'string') return { string_value: v };
  if (typeof v === 'number') return { number_value: v };
  if (typeof v === 'boolean') return { bool_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(structValue) } };
  if (isObject(v)) return { struct_value: toStruct(v) };
  return { null_value: 'NULL_VALUE' };
}
function toStruct(v: Json): Json {
  return isObject(v.fields) ? v : { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structValue(x)])) };
}

/** proto3 JSON (Envoy's dump) -> the proto form; values already in proto form pass unchanged. */
export function fromProtoJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => fromProtoJson(v, key));
  if (WRAPPER_FIELDS.has(key) && (typeof value === 'number' || typeof value === 'boolean')) return { value };
  if (DURATION_FIELDS.has(key) && typeof value === 'string') {
    const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(value);
    if (m) return { seconds: Number(m[1]), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
  }
  if (!isObject(value)) return value;
  if (key === 'filter_metadata') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isObject(v) ? toStruct(v) : v]));
  // A transport_socket_matches entry's `match` is a Struct (a route's `match` is not).
  if (key === 'transport_socket_matches' && isObject(value.match)) return { ...(fromProtoJson({ ...value, match: undefined }) as Json), match: toStruct(value.match) };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromProtoJson(v, k)]));
}

/** The resource without its Any '@type' (the simulator's types have none), in proto form. */
function unwrap(value: unknown): Json | undefined {
  if (!isObject(value)) return undefined;
  const { '@type': _type, ...rest } = value;
  return fromProtoJson(rest) as Json;
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
