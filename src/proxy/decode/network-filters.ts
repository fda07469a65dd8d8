// The parts of a Listener around its connection manager: filter chain matches, the tcp_proxy network
// filter and listener filters. Fields that would change which chain serves a connection, or how, and
// that this proxy does not implement, are refused by name (Envoy would act on them).

import type { FilterChainMatch, TcpProxyConfig } from '../model/listener.js';
import type { ClusterSpecifier, WeightedCluster } from '../model/route.js';
import { NO_HEADER_MUTATIONS } from '../model/route.js';
import { durationMs, join, num, obj, objs, Problems, str, strs, wrappedNum, type Obj } from './fields.js';

export const TCP_PROXY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const TCP_PROXY_FILTER_NAME = 'envoy.filters.network.tcp_proxy';
export const TLS_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const TLS_INSPECTOR_NAME = 'envoy.filters.listener.tls_inspector';

/** Envoy's tcp_proxy idle_timeout when none is set. */
const DEFAULT_TCP_IDLE_MS = 60 * 60 * 1000;

const MATCH_FIELDS = new Set(['destination_port', 'server_names', 'transport_protocol', 'application_protocols']);
const TCP_PROXY_FIELDS = new Set(['@type', 'stat_prefix', 'cluster', 'weighted_clusters', 'idle_timeout', 'max_downstream_connection_duration', 'max_connect_attempts', 'access_log']);

export function decodeChainMatch(o: Obj | undefined, path: string, p: Problems): FilterChainMatch {
  if (!o) return { destinationPort: undefined, serverNames: [], transportProtocol: undefined, applicationProtocols: [] };
  for (const [key, value] of Object.entries(o)) {
    if (MATCH_FIELDS.has(key) || (Array.isArray(value) && value.length === 0)) continue;
    p.add(join(path, key), 'is not supported (destination_port, server_names, transport_protocol and application_protocols are)');
  }
  const port = wrappedNum(o, 'destination_port', path, p);
  const transport = str(o, 'transport_protocol', path, p);
  if (transport !== undefined && transport !== '' && transport !== 'tls' && transport !== 'raw_buffer') {
    p.add(join(path, 'transport_protocol'), `${JSON.stringify(transport)} is not supported ('tls' and 'raw_buffer' are)`);
  }
  const serverNames = strs(o, 'server_names', path, p).map((n) => n.toLowerCase());
  serverNames.forEach((n, i) => {
    if (n.includes('*') && !(n.startsWith('*.') && !n.slice(1).includes('*'))) p.add(join(path, `server_names[${i}]`), `${JSON.stringify(n)}: a wildcard must be a leading "*."`);
  });
  return { destinationPort: port, serverNames, transportProtocol: transport || undefined, applicationProtocols: strs(o, 'application_protocols', path, p) };
}

export function decodeTcpProxy(o: Obj, path: string, p: Problems): TcpProxyConfig | undefined {
  for (const [key, value] of Object.entries(o)) {
    // Decoded protos carry every repeated field (empty) and the name of the set oneof: neither is a setting.
    if (TCP_PROXY_FIELDS.has(key) || key === 'cluster_specifier' || (Array.isArray(value) && value.length === 0)) continue;
    p.add(join(path, key), 'is not supported by the meshwork proxy\'s tcp_proxy');
  }
  const attempts = num(o, 'max_connect_attempts', path, p);
  if (attempts !== undefined && attempts > 1) p.add(join(path, 'max_connect_attempts'), 'more than 1 connect attempt is not supported');
  const statPrefix = str(o, 'stat_prefix', path, p) ?? '';
  if (!statPrefix) p.add(join(path, 'stat_prefix'), 'is required');
  let cluster: ClusterSpecifier | undefined;
  const name = str(o, 'cluster', path, p);
  const weighted = obj(o, 'weighted_clusters', path, p);
  if (name) cluster = { kind: 'cluster', name };
  else if (weighted) {
    const wPath = join(path, 'weighted_clusters');
    const clusters: WeightedCluster[] = [];
    for (const { value, path: cPath } of objs(weighted, 'clusters', wPath, p)) {
      const clusterName = str(value, 'name', cPath, p);
      const weight = num(value, 'weight', cPath, p) ?? 0;
      if (!clusterName) p.add(join(cPath, 'name'), 'is required');
      else if (value['metadata_match'] !== undefined) p.add(join(cPath, 'metadata_match'), 'is not supported');
      else clusters.push({ name: clusterName, weight, headers: NO_HEADER_MUTATIONS });
    }
    const total = clusters.reduce((s, c) => s + c.weight, 0);
    if (total <= 0) p.add(join(wPath, 'clusters'), 'must have a cluster with a weight above 0');
    cluster = { kind: 'weighted', clusters, totalWeight: total };
  } else {
    p.add(path, 'one of cluster, weighted_clusters is required (on_demand and tunneling are not supported)');
  }
  if (!cluster) return undefined;
  return {
    statPrefix,
    cluster,
    idleTimeoutMs: durationMs(o, 'idle_timeout', path, p) ?? DEFAULT_TCP_IDLE_MS,
    maxDurationMs: durationMs(o, 'max_downstream_connection_duration', path, p) ?? 0,
    networkRbac: [],
  };
}

/** listener_filters: the tls_inspector is understood; any other would change the connection, and is refused. */
export function decodeListenerFilters(o: Obj, p: Problems): { tlsInspector: boolean } {
  let tlsInspector = false;
  for (const { value, path } of objs(o, 'listener_filters', '', p)) {
    const name = str(value, 'name', path, p) ?? '';
    const typed = obj(value, 'typed_config', path, p);
    if (name === TLS_INSPECTOR_NAME || typed?.['@type'] === TLS_INSPECTOR_TYPE_URL) tlsInspector = true;
    else p.add(path, `listener filter '${name}' is not supported (envoy.filters.listener.tls_inspector is)`);
  }
  return { tlsInspector };
}
