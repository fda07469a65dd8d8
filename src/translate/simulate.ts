// Walks generated resources as Envoy (or gRPC) would for one request: listener -> HTTP connection
// manager -> RouteConfiguration -> virtual host (Envoy's domain precedence) -> first matching route
// -> clusters and their endpoints. Tests assert on this rather than on raw resource shapes, in the
// style of Istio's simulation tests.

import { decodeRouteMatch } from '../proxy/decode/route.js';
import type { RouteMatch } from '../proxy/model/route.js';
import { matchRoute } from '../proxy/route/match.js';
import type {
  Cluster,
  ClusterLoadAssignment,
  DirectResponseAction,
  HttpConnectionManager,
  Listener,
  ProxyResources,
  RedirectAction,
  Route,
  RouteConfiguration,
  VirtualHost,
} from './envoy-types.js';

export interface SimulatedRequest {
  /** A listener port, or 'http_proxy' for a sidecar's outbound HTTP-proxy listener. */
  listenerPort?: number | 'http_proxy';
  /**
   * Interception: the connection's original destination, redirected to virtualOutbound; Envoy hands it
   * to the listener bound to that address and port, else to one on 0.0.0.0 and the port, else keeps it
   * on virtualOutbound (passthrough).
   */
  originalDestination?: { address: string; port: number };
  /** An api_listener name, for proxyless clients (e.g. 'helloworld.sample:5000'). */
  listenerName?: string;
  /** The Host / :authority header, as the client sends it. */
  host: string;
  /** Path with optional query string. */
  path: string;
  method?: string;
  scheme?: string;
  headers?: Record<string, string>;
}

export interface SimulatedEndpoint {
  address: string;
  healthy: boolean;
  cluster?: string;
  zone?: string;
  /** The locality's priority (0 is tried first). */
  priority: number;
  /** `region/zone/subzone`, and the locality's load_balancing_weight (0 when unset). */
  locality: string;
  localityWeight: number;
}

export interface SimulationResult {
  outcome: 'routed' | 'redirect' | 'direct-response' | 'no-listener' | 'no-route-config' | 'no-virtual-host' | 'no-route' | 'missing-cluster';
  listener?: string;
  routeConfig?: string;
  virtualHost?: string;
  route?: string;
  /**
   * Weighted targets; a single cluster has weight 100. `missing`: no Cluster of that name, so Envoy
   * answers that share with 503 (NC, cluster not found). The outcome is 'missing-cluster' when every
   * target is missing.
   */
  clusters: Array<{ name: string; weight: number; endpoints: SimulatedEndpoint[]; missing?: true }>;
  /** Every endpoint address:port behind the chosen clusters (sorted, unique). */
  endpoints: string[];
  redirect?: RedirectAction;
  /** The local answer of a direct_response route (Istio's directResponse). */
  directResponse?: DirectResponseAction;
  /** The raw route, for assertions on timeouts, retries, faults... */
  routeEntry?: Route;
}

function connectionManager(listener: Listener): HttpConnectionManager | undefined {
  if (listener.api_listener) return listener.api_listener.api_listener;
  for (const chain of listener.filter_chains ?? []) {
    for (const filter of chain.filters) {
      const config = filter.typed_config;
      if ('http_filters' in config) return config;
    }
  }
  return undefined;
}

function findListener(resources: ProxyResources, request: SimulatedRequest): Listener | undefined {
  const original = request.originalDestination;
  if (original) {
    const at = (address: string): Listener | undefined =>
      resources.listeners.find((l) => l.address?.socket_address.address === address && l.address.socket_address.port_value === original.port && l.use_original_dst === undefined);
    return at(original.address) ?? at('0.0.0.0') ?? resources.listeners.find((l) => l.use_original_dst?.value === true);
  }
  if (request.listenerName !== undefined) return resources.listeners.find((l) => l.name === request.listenerName);
  if (request.listenerPort === 'http_proxy') {
    return resources.listeners.find((l) => connectionManager(l)?.rds?.route_config_name === 'http_proxy');
  }
  return resources.listeners.find((l) => l.address?.socket_address.port_value === request.listenerPort);
}

/** Envoy's virtual host selection: exact, then longest suffix wildcard, then longest prefix wildcard, then '*'. */
export function selectVirtualHost(config: RouteConfiguration, host: string): VirtualHost | undefined {
  const h = host.toLowerCase();
  let best: { vhost: VirtualHost; rank: number; length: number } | undefined;
  for (const vhost of config.virtual_hosts) {
    for (const domain of vhost.domains) {
      const d = domain.toLowerCase();
      let rank = -1;
      if (d === h) rank = 3;
      else if (d === '*') rank = 0;
      else if (d.startsWith('*') && h.endsWith(d.slice(1)) && h.length > d.length - 1) rank = 2;
      else if (d.endsWith('*') && h.startsWith(d.slice(0, -1)) && h.length > d.length - 1) rank = 1;
      if (rank < 0) continue;
      if (!best || rank > best.rank || (rank === best.rank && d.length > best.length)) best = { vhost, rank, length: d.length };
    }
  }
  return best?.vhost;
}

const decodedMatches = new WeakMap<object, RouteMatch>();

/** The route's match as the meshwork proxy decodes it (once per route object). */
function decodedMatch(route: Route): RouteMatch {
  let m = decodedMatches.get(route.match);
  if (!m) {
    const r = decodeRouteMatch(route.match as unknown as Record<string, unknown>);
    if (!r.ok) throw new Error(`route ${route.name ?? ''}: ${r.error.join('; ')}`);
    m = r.value;
    decodedMatches.set(route.match, m);
  }
  return m;
}

/**
 * Does the route match the request? The meshwork proxy's own matcher (src/proxy/route/match.ts), which
 * the conformance table checks against Envoy: one copy of Envoy's semantics for both.
 */
export function routeMatches(route: Route, request: SimulatedRequest): boolean {
  const headers = new Map(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return matchRoute(decodedMatch(route), {
    method: request.method ?? 'GET',
    authority: request.host,
    path: request.path,
    scheme: request.scheme ?? 'http',
    header: (name) => headers.get(name),
  });
}

function endpointsOf(resources: ProxyResources, cluster: Cluster): SimulatedEndpoint[] {
  const cla: ClusterLoadAssignment | undefined =
    cluster.type === 'EDS' ? resources.endpoints.find((e) => e.cluster_name === (cluster.eds_cluster_config?.service_name || cluster.name)) : cluster.load_assignment;
  const out: SimulatedEndpoint[] = [];
  for (const locality of cla?.endpoints ?? []) {
    for (const lb of locality.lb_endpoints) {
      const socket = lb.endpoint.address.socket_address;
      const memberCluster = lb.metadata?.filter_metadata.istio?.fields.cluster;
      out.push({
        address: `${socket.address}:${socket.port_value}`,
        healthy: (lb.health_status ?? 'HEALTHY') === 'HEALTHY',
        cluster: memberCluster && 'string_value' in memberCluster ? memberCluster.string_value : undefined,
        zone: locality.locality?.zone,
        priority: locality.priority ?? 0,
        locality: [locality.locality?.region, locality.locality?.zone, locality.locality?.sub_zone].join('/'),
        localityWeight: locality.load_balancing_weight?.value ?? 0,
      });
    }
  }
  return out;
}

export function simulate(resources: ProxyResources, request: SimulatedRequest): SimulationResult {
  const result: SimulationResult = { outcome: 'no-listener', clusters: [], endpoints: [] };
  const listener = findListener(resources, request);
  if (!listener) return result;
  result.listener = listener.name;
  const manager = connectionManager(listener);
  const config = manager?.route_config ?? resources.routes.find((r) => r.name === manager?.rds?.route_config_name);
  if (!config) return { ...result, outcome: 'no-route-config' };
  result.routeConfig = config.name;
  const vhost = selectVirtualHost(config, request.host);
  if (!vhost) return { ...result, outcome: 'no-virtual-host' };
  result.virtualHost = vhost.name;
  const route = vhost.routes.find((r) => routeMatches(r, request));
  if (!route) return { ...result, outcome: 'no-route' };
  result.route = route.name;
  result.routeEntry = route;
  if ('redirect' in route) return { ...result, outcome: 'redirect', redirect: route.redirect };
  if ('direct_response' in route) return { ...result, outcome: 'direct-response', directResponse: route.direct_response };
  const targets = 'cluster' in route.route
    ? [{ name: route.route.cluster, weight: 100 }]
    : route.route.weighted_clusters.clusters.map((c) => ({ name: c.name, weight: c.weight.value }));
  for (const target of targets) {
    const cluster = resources.clusters.find((c) => c.name === target.name);
    if (!cluster) result.clusters.push({ ...target, endpoints: [], missing: true });
    else result.clusters.push({ ...target, endpoints: endpointsOf(resources, cluster) });
  }
  result.endpoints = [...new Set(result.clusters.flatMap((c) => c.endpoints.map((e) => e.address)))].sort();
  result.outcome = result.clusters.every((c) => c.missing) ? 'missing-cluster' : 'routed';
  return result;
}

/**
 * go-control-plane's Consistent(), for tests and callers that want it: every RDS name a listener
 * uses, every cluster a route uses and every EDS cluster's endpoints exist. Returns what is missing.
 */
export function danglingReferences(resources: ProxyResources): string[] {
  const missing: string[] = [];
  const routeNames = new Set(resources.routes.map((r) => r.name));
  const clusterNames = new Set(resources.clusters.map((c) => c.name));
  const claNames = new Set(resources.endpoints.map((e) => e.cluster_name));
  const configs: RouteConfiguration[] = [...resources.routes];
  for (const listener of resources.listeners) {
    const manager = connectionManager(listener);
    if (manager?.rds && !routeNames.has(manager.rds.route_config_name)) missing.push(`route ${manager.rds.route_config_name} (listener ${listener.name})`);
    if (manager?.route_config) configs.push(manager.route_config);
    for (const chain of listener.filter_chains ?? []) {
      for (const filter of chain.filters) {
        const config = filter.typed_config;
        const named = 'cluster' in config ? [config.cluster] : 'weighted_clusters' in config ? config.weighted_clusters.clusters.map((c) => c.name) : [];
        for (const name of named) if (!clusterNames.has(name)) missing.push(`cluster ${name} (listener ${listener.name})`);
      }
    }
  }
  for (const config of configs) {
    for (const vhost of config.virtual_hosts) {
      for (const route of vhost.routes) {
        if (!('route' in route)) continue;
        const names = 'cluster' in route.route ? [route.route.cluster] : route.route.weighted_clusters.clusters.map((c) => c.name);
        for (const m of route.route.request_mirror_policies ?? []) names.push(m.cluster);
        for (const name of names) if (!clusterNames.has(name)) missing.push(`cluster ${name} (route ${config.name}/${vhost.name}/${route.name})`);
      }
    }
  }
  for (const cluster of resources.clusters) {
    if (cluster.type === 'EDS' && !claNames.has(cluster.eds_cluster_config?.service_name ?? cluster.name)) missing.push(`endpoints ${cluster.name}`);
  }
  return missing;
}
