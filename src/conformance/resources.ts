// The xDS a conformance case is served: its routes and clusters (hand-written, or translated from
// Istio YAML by the real translator), plus the listener and the endpoints the runner fills in with
// the test upstreams' addresses. Each target (Envoy, the meshwork proxy) gets the same resources but
// for the listener's address, since both run on one machine.

import { edsCluster, httpListener } from '../proxy/testutil/envoy.js';
import type { ProxyResources } from '../translate/envoy-types.js';
import { buildSnapshot, parseYaml, proxyFor, scenarioClusters } from '../translate/testdata/fixture.js';
import { MeshTranslator } from '../translate/translate.js';
import { TYPE_URLS } from '../xds/protos.js';
import { plainToStruct } from '../xds/struct.js';
import type { XdsSnapshot } from '../xds/snapshot.js';

/** The route configuration every case's listener asks for over RDS. */
export const ROUTE_NAME = 'http_proxy';
export const LISTENER_NAME = 'conformance';

type Res = Record<string, unknown>;

export interface CaseResources {
  routes: Res[];
  clusters: Res[];
  /** Cluster name -> the names of the upstreams behind it (an empty list: no endpoints). */
  endpoints: Record<string, string[]>;
  /** Fields merged into the listener's HttpConnectionManager (use_remote_address, ...). */
  hcm?: Res;
  /** Hand-written load assignments (localities, priorities, health) for some clusters; `endpoints` still lists their upstreams. */
  localities?: Record<string, CaseLocality[]>;
  /** An L4 case: the listener has these filter chains (and listener filters) instead of the HTTP one. */
  network?: { chains: Res[]; listenerFilters?: Res[] };
  /** Upstream name -> its endpoint's `envoy.transport_socket_match` metadata (plain JSON). */
  transportMatch?: Record<string, Record<string, unknown>>;
  /** SDS Secret resources served over ADS (what `ads` sds_configs name). */
  secrets?: Res[];
  /**
   * The HTTP chain terminates TLS with this DownstreamTlsContext (transport_socket
   * envoy.transport_sockets.tls); `permissive`: as Istio's PERMISSIVE, a tls_inspector picks the TLS
   * chain or a plaintext copy of it; `applicationProtocols`: the TLS chain also matches on the
   * ClientHello's ALPN, as Istio's translated PERMISSIVE chain does.
   */
  downstreamTls?: { context: Res; permissive?: boolean; applicationProtocols?: string[] };
}

/** One locality of a hand-written load assignment. */
export interface CaseLocality {
  zone: string;
  priority?: number;
  weight?: number;
  /** Upstream names; `name:UNHEALTHY` (or another health status) sets the endpoint's health_status. */
  hosts: string[];
}

export interface UpstreamAddress {
  host: string;
  port: number;
}

function byName(list: Res[], key = 'name'): Map<string, object> {
  return new Map(list.map((r) => [String(r[key]), r]));
}

/**
 * The xDS snapshot of one target: the case's resources behind a listener on `listen`. `marker` (the
 * case's serial number) goes into every route configuration (an extra virtual host no request
 * reaches) and every load assignment (the locality's sub_zone), so that each case changes every
 * RDS and EDS resource and a target's ACK of the new versions means it holds all of them.
 */
export function targetSnapshot(res: CaseResources, listen: UpstreamAddress, upstreams: (name: string) => UpstreamAddress, marker = 0): XdsSnapshot {
  const r = targetResources(res, listen, upstreams, marker);
  return {
    resources: {
      [TYPE_URLS.listener]: byName(r.listeners),
      [TYPE_URLS.route]: byName(r.routes),
      [TYPE_URLS.cluster]: byName(r.clusters),
      [TYPE_URLS.endpoint]: byName(r.endpoints, 'cluster_name'),
      ...(res.secrets ? { [TYPE_URLS.secret]: byName(res.secrets) } : {}),
    },
  };
}

/** The resources of targetSnapshot as lists (what the translator's simulate() reads). */
export function targetResources(res: CaseResources, listen: UpstreamAddress, upstreams: (name: string) => UpstreamAddress, marker = 0): Record<'listeners' | 'routes' | 'clusters' | 'endpoints', Res[]> {
  const routes = res.routes.map((r) => ({
    ...r,
    virtual_hosts: [...((r['virtual_hosts'] as Res[] | undefined) ?? []), { name: `marker-${marker}`, domains: [`marker-${marker}.invalid`], routes: [] }],
  }));
  const lbEndpoint = (host: string) => {
    const [name = '', health] = host.split(':');
    const a = upstreams(name);
    const match = res.transportMatch?.[name];
    return {
      endpoint: { address: { socket_address: { address: a.host, port_value: a.port } } },
      ...(health ? { health_status: health } : {}),
      ...(match ? { metadata: { filter_metadata: { 'envoy.transport_socket_match': plainToStruct(match) } } } : {}),
    };
  };
  // DNS clusters carry their endpoints inline, by name: the test upstream on 127.0.0.1 is 'localhost'.
  const dnsNames = new Set(res.clusters.filter((c) => c['type'] === 'STRICT_DNS' || c['type'] === 'LOGICAL_DNS').map((c) => String(c['name'])));
  const clusters = res.clusters.map((c) => {
    const names = res.endpoints[String(c['name'])];
    if (!dnsNames.has(String(c['name'])) || !names) return c;
    const lbEndpoints = names.map((n) => {
      const a = upstreams(n);
      return { endpoint: { address: { socket_address: { address: a.host === '127.0.0.1' ? 'localhost' : a.host, port_value: a.port } } } };
    });
    return { ...c, load_assignment: { cluster_name: c['name'], endpoints: [{ lb_endpoints: lbEndpoints }] } };
  });
  const endpoints = Object.entries(res.endpoints).filter(([cluster]) => !dnsNames.has(cluster)).map(([cluster, names]) => ({
    cluster_name: cluster,
    endpoints: (res.localities?.[cluster] ?? [{ zone: 'conformance', hosts: names }]).map((l) => ({
      locality: { region: 'local', zone: l.zone, sub_zone: `case-${marker}` },
      lb_endpoints: l.hosts.map(lbEndpoint),
      ...(l.priority ? { priority: l.priority } : {}),
      ...(l.weight ? { load_balancing_weight: { value: l.weight } } : {}),
    })),
  }));
  const listener = httpListener(LISTENER_NAME, listen.host, listen.port, ROUTE_NAME);
  if (res.network) {
    listener['filter_chains'] = res.network.chains;
    if (res.network.listenerFilters) listener['listener_filters'] = res.network.listenerFilters;
  }
  if (res.hcm) {
    const filter = ((listener['filter_chains'] as Res[])[0]!['filters'] as Res[])[0]!;
    filter['typed_config'] = { ...(filter['typed_config'] as Res), ...res.hcm };
  }
  if (res.downstreamTls) withDownstreamTls(listener, res.downstreamTls);
  return { listeners: [listener], routes, clusters, endpoints };
}

const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };

function withDownstreamTls(listener: Res, tls: NonNullable<CaseResources['downstreamTls']>): void {
  const [chain] = listener['filter_chains'] as Res[];
  const secure = { ...chain!, name: 'tls', transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS, ...tls.context } } };
  if (!tls.permissive) {
    listener['filter_chains'] = [secure];
    return;
  }
  listener['listener_filters'] = [TLS_INSPECTOR];
  listener['filter_chains'] = [
    { ...secure, filter_chain_match: { transport_protocol: 'tls', ...(tls.applicationProtocols ? { application_protocols: tls.applicationProtocols } : {}) } },
    { ...structuredClone(chain!), name: 'plaintext', filter_chain_match: { transport_protocol: 'raw_buffer' } },
  ];
}

/** One virtual host for every domain, the usual shape of a hand-written case. */
export function oneHost(routes: Res[], extra: Res = {}): Res[] {
  return [{ name: ROUTE_NAME, virtual_hosts: [{ name: 'all', domains: ['*'], routes, ...extra }] }];
}

/** Hand-written EDS clusters, each with the given upstreams. */
export function clustersOf(spec: Record<string, string[]>, extra: Record<string, Res> = {}): Pick<CaseResources, 'clusters' | 'endpoints'> {
  return {
    clusters: Object.keys(spec).map((name) => edsCluster(name, extra[name] ?? {})),
    endpoints: spec,
  };
}

export const HELLOWORLD = 'outbound|5000||helloworld.sample.svc.cluster.local';
export const HELLOWORLD_V1 = 'outbound|5000|v1|helloworld.sample.svc.cluster.local';
export const HELLOWORLD_V2 = 'outbound|5000|v2|helloworld.sample.svc.cluster.local';
export const SLEEP = 'outbound|80||sleep.sample.svc.cluster.local';

/** Which test upstream stands for which translated cluster. */
export const ISTIO_UPSTREAMS: Record<string, string[]> = {
  [HELLOWORLD]: ['a'],
  [HELLOWORLD_V1]: ['b'],
  [HELLOWORLD_V2]: ['c'],
  [SLEEP]: ['shadow'],
};

/**
 * Istio YAML (VirtualServices, DestinationRules in namespace sample) translated by the real translator
 * for the scenario's sleep sidecar in cluster-1: its outbound route configuration and clusters, with
 * the helloworld subsets v1/v2 always defined. Endpoints are the test upstreams of ISTIO_UPSTREAMS (and of
 * `upstreams`, for the case's own clusters).
 */
export function fromIstio(yaml: string, opts: { subsets?: boolean; expectErrors?: string[]; upstreams?: Record<string, string[]> } = {}): CaseResources {
  // The scenario's own helloworld DestinationRule (subsets v1, v2); a case's rule of that name replaces it.
  const clusters = scenarioClusters(opts.subsets ?? true ? ['destinationrule'] : []);
  const objects = parseYaml(yaml, 'conformance case');
  for (const c of clusters) c.apply('sample', structuredClone(objects));
  const mesh = buildSnapshot(clusters);
  // The proxies under test have no workload certificates (no agent): plaintext, as the test upstreams speak.
  const translated: ProxyResources = new MeshTranslator(mesh).translate({ ...proxyFor(clusters[0]!.pod('sleep'), 'sidecar'), plaintextOnly: true });
  const errors = translated.problems.filter((p) => p.severity === 'error' && !(opts.expectErrors ?? []).includes(p.code));
  if (errors.length > 0) throw new Error(`the case's Istio config does not translate: ${JSON.stringify(errors)}`);
  const routes = translated.routes.filter((r) => r.name === ROUTE_NAME) as unknown as Res[];
  if (routes.length !== 1) throw new Error(`no ${ROUTE_NAME} route configuration in the translation`);
  const upstreams = { ...ISTIO_UPSTREAMS, ...opts.upstreams };
  const picked = translated.clusters.filter((c) => c.name in upstreams) as unknown as Res[];
  return { routes, clusters: picked, endpoints: Object.fromEntries(picked.map((c) => [String(c['name']), upstreams[String(c['name'])]!])) };
}

/** Istio YAML (namespace sample) translated for the scenario's ingress gateway pod in cluster-1. */
function translateForGateway(yaml: string): ReturnType<MeshTranslator['translate']> {
  const clusters = scenarioClusters(['destinationrule']);
  const objects = parseYaml(yaml, 'conformance case');
  for (const c of clusters) c.apply('sample', structuredClone(objects));
  const translated = new MeshTranslator(buildSnapshot(clusters)).translate({ ...proxyFor(clusters[0]!.pod('istio-ingressgateway'), 'router'), plaintextOnly: true });
  const errors = translated.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(`the case's Istio config does not translate: ${JSON.stringify(errors)}`);
  return translated;
}

/**
 * Istio YAML translated for the scenario's ingress gateway pod in cluster-1: the filter chains and
 * listener filters of its TCP/TLS listener on `port`, and the clusters they name. `upstreams` says
 * which test upstreams stand behind which translated cluster (every named cluster needs one).
 */
export function fromIstioGateway(yaml: string, port: number, upstreams: Record<string, string[]>): CaseResources {
  const translated = translateForGateway(yaml);
  const listener = translated.listeners.find((l) => l.address?.socket_address.port_value === port);
  if (!listener?.filter_chains) throw new Error(`no gateway listener on port ${port} in the translation`);
  const named = new Set<string>();
  for (const chain of listener.filter_chains) {
    for (const filter of chain.filters) {
      const proxy = filter.typed_config as { cluster?: string; weighted_clusters?: { clusters: { name: string }[] } };
      if (proxy.cluster) named.add(proxy.cluster);
      for (const c of proxy.weighted_clusters?.clusters ?? []) named.add(c.name);
    }
  }
  const picked = translated.clusters.filter((c) => named.has(c.name)) as unknown as Res[];
  for (const name of named) if (!upstreams[name]) throw new Error(`no test upstream stands for cluster ${name}`);
  return {
    // No route configuration: a listener without an HCM subscribes to none, so none would be ACKed.
    routes: [],
    clusters: picked,
    endpoints: Object.fromEntries(picked.map((c) => [String(c['name']), upstreams[String(c['name'])]!])),
    network: { chains: listener.filter_chains as unknown as Res[], ...(listener.listener_filters ? { listenerFilters: listener.listener_filters as unknown as Res[] } : {}) },
  };
}

/**
 * Istio YAML translated for the scenario's ingress gateway pod in cluster-1, for an HTTP-family server
 * on `port`: its route configuration `http.<port>` (served under the harness's route name), the gateway
 * HCM's fields (with `httpFilters`, its HTTP filters too), and the helloworld clusters of ISTIO_UPSTREAMS.
 */
export function fromIstioGatewayHttp(yaml: string, port: number, opts: { httpFilters?: boolean } = {}): CaseResources {
  const translated = translateForGateway(yaml);
  const routes = translated.routes.filter((r) => r.name === `http.${port}`).map((r) => ({ ...r, name: ROUTE_NAME })) as unknown as Res[];
  const listener = translated.listeners.find((l) => l.address?.socket_address.port_value === port);
  const manager = listener?.filter_chains?.[0]?.filters[0]?.typed_config as Res | undefined;
  if (routes.length !== 1 || !manager) throw new Error(`no gateway HTTP listener and route configuration for port ${port}`);
  const { '@type': _type, stat_prefix: _prefix, rds: _rds, http_filters: filters, ...hcm } = manager;
  // With httpFilters: the gateway's own filter chain (RBAC from AuthorizationPolicies first), else the harness's.
  if (opts.httpFilters) hcm['http_filters'] = filters;
  const picked = translated.clusters.filter((c) => c.name in ISTIO_UPSTREAMS) as unknown as Res[];
  return { routes, clusters: picked, endpoints: Object.fromEntries(picked.map((c) => [String(c['name']), ISTIO_UPSTREAMS[String(c['name'])]!])), hcm };
}
