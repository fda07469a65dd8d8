// The tables of `meshwork proxy-config`, as `istioctl proxy-config` prints them, from a parsed dump.

import { formatTable } from './output.js';
import type { Cluster, Listener, Route, RouteConfiguration } from '../translate/envoy-types.js';
import type { DumpedResources } from './config-dump.js';

export type ConfigType = 'listeners' | 'routes' | 'clusters' | 'endpoints';
export const CONFIG_TYPES: readonly ConfigType[] = ['listeners', 'routes', 'clusters', 'endpoints'];

/** Hosts whose outlier detection ejected them, from the proxy's /clusters (absent: unknown). */
export type OutlierView = ReadonlySet<string> | undefined;

function matchText(route: Route): string {
  const m = route.match;
  if ('path' in m && typeof m.path === 'string') return m.path;
  if ('prefix' in m && typeof m.prefix === 'string') return `${m.prefix}*`;
  if ('safe_regex' in m && m.safe_regex) return m.safe_regex.regex;
  return '-';
}

/** `/apis/networking.istio.io/v1alpha3/namespaces/sample/virtual-service/helloworld` -> helloworld.sample */
function virtualServiceOf(route: Route): string {
  const config = route.metadata?.filter_metadata?.istio?.fields?.config;
  const path = config && 'string_value' in config ? config.string_value : '';
  const m = /\/namespaces\/([^/]+)\/virtual-service\/([^/]+)$/.exec(path);
  return m ? `${m[2]}.${m[1]}` : '-';
}

function domainsText(domains: readonly string[]): string {
  if (domains.length === 0) return '-';
  const shortest = [...domains].sort((a, b) => a.length - b.length || a.localeCompare(b))[0];
  return domains.length > 1 ? `${shortest} + ${domains.length - 1} more...` : shortest;
}

function routeRows(configs: readonly RouteConfiguration[]): string[][] {
  const rows: string[][] = [];
  for (const config of configs) {
    for (const vhost of config.virtual_hosts ?? []) {
      for (const route of vhost.routes ?? []) rows.push([config.name, vhost.name, domainsText(vhost.domains ?? []), matchText(route), virtualServiceOf(route)]);
    }
  }
  return rows;
}

/** Istio cluster names: `outbound|5000|v1|helloworld.sample.svc.cluster.local`, `inbound|80||`. */
export function parseClusterName(name: string): { fqdn: string; port: string; subset: string; direction: string } {
  const parts = name.split('|');
  if (parts.length === 4 && (parts[0] === 'outbound' || parts[0] === 'inbound')) {
    return { fqdn: parts[3] || '-', port: parts[1] || '-', subset: parts[2] || '-', direction: parts[0] };
  }
  return { fqdn: name, port: '-', subset: '-', direction: '-' };
}

function clusterRows(clusters: readonly Cluster[]): string[][] {
  return clusters.map((c) => {
    const p = parseClusterName(c.name);
    return [p.fqdn, p.port, p.subset, p.direction, c.type];
  });
}

function endpointRows(dump: DumpedResources, outliers: OutlierView): string[][] {
  const rows: string[][] = [];
  const assignments = [
    ...dump.endpoints,
    ...dump.clusters.flatMap((c) => (c.load_assignment ? [{ ...c.load_assignment, cluster_name: c.name }] : [])),
  ];
  for (const cla of assignments) {
    for (const locality of cla.endpoints ?? []) {
      for (const lb of locality.lb_endpoints ?? []) {
        const socket = lb.endpoint?.address?.socket_address;
        const address = socket ? `${socket.address}:${socket.port_value}` : '-';
        const outlier = outliers === undefined ? '-' : outliers.has(`${cla.cluster_name}|${address}`) ? 'FAILED' : 'OK';
        rows.push([address, lb.health_status ?? 'HEALTHY', outlier, cla.cluster_name]);
      }
    }
  }
  return rows.sort((a, b) => a[3].localeCompare(b[3]) || a[0].localeCompare(b[0], undefined, { numeric: true }));
}

function listenerDestinations(listener: Listener): string[] {
  const managers = listener.api_listener ? [listener.api_listener.api_listener] : [];
  const out: string[] = [];
  for (const manager of managers) out.push(manager.rds ? `Route: ${manager.rds.route_config_name}` : `Inline Route: ${manager.route_config?.name ?? '-'}`);
  for (const chain of listener.filter_chains ?? []) {
    for (const filter of chain.filters ?? []) {
      const config = filter.typed_config;
      if (!config) continue;
      if ('cluster' in config && typeof config.cluster === 'string') out.push(`Cluster: ${config.cluster}`);
      else if ('rds' in config && config.rds) out.push(`Route: ${config.rds.route_config_name}`);
      else if ('route_config' in config && config.route_config) out.push(`Inline Route: ${config.route_config.name}`);
    }
  }
  return out.length > 0 ? out : ['-'];
}

function listenerRows(listeners: readonly Listener[]): string[][] {
  return listeners.flatMap((l) => {
    const socket = l.address?.socket_address;
    const address = socket?.address ?? (l.api_listener ? l.name : '-');
    const port = socket ? String(socket.port_value) : '-';
    return listenerDestinations(l).map((d) => [address, port, 'ALL', d]);
  });
}

export function formatConfigTable(dump: DumpedResources, type: ConfigType, outliers?: OutlierView): string {
  switch (type) {
    case 'routes':
      return formatTable(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'], routeRows(dump.routes));
    case 'clusters':
      return formatTable(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE'], clusterRows(dump.clusters));
    case 'endpoints':
      return formatTable(['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], endpointRows(dump, outliers));
    case 'listeners':
      return formatTable(['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'], listenerRows(dump.listeners));
  }
}

/** Ejected hosts from the proxy's GET /clusters?format=json, as `cluster|host:port`. */
export function ejectedHosts(clustersJson: unknown): Set<string> {
  const out = new Set<string>();
  const statuses = (clustersJson as { cluster_statuses?: unknown } | null)?.cluster_statuses;
  if (!Array.isArray(statuses)) throw new Error('not a /clusters?format=json answer');
  for (const c of statuses as Array<{ name?: unknown; host_statuses?: unknown }>) {
    if (typeof c?.name !== 'string' || !Array.isArray(c.host_statuses)) continue;
    for (const h of c.host_statuses as Array<{ address?: { socket_address?: { address?: string; port_value?: number } }; health_status?: { failed_outlier_check?: boolean } }>) {
      const s = h?.address?.socket_address;
      if (s && h.health_status?.failed_outlier_check) out.add(`${c.name}|${s.address}:${s.port_value}`);
    }
  }
  return out;
}
