// The translation: (mesh snapshot, proxy) -> Envoy v3 resources. Pure: no I/O, no clock; the
// same inputs give the same output (everything is sorted), which the golden files rely on.

import type { DestinationRule, Sidecar } from '../config/istio-types.js';
import { configKey, mergeConfig, type IstioObject, type MeshEndpoint, type MeshSnapshot, type ProxyIdentity } from '../registry/model.js';
import { authorizationFilters, checkAuthorizationPolicies, policiesFor, withAuthorization } from './authorization.js';
import { buildOutboundClusters, checkSubsetsSelectEndpoints } from './clusters.js';
import { buildContext, ROOT_NAMESPACE, type TranslationContext } from './context.js';
import type { Cluster, Listener, ProxyResources, RouteConfiguration } from './envoy-types.js';
import { attributeDerivedProblems } from './derived-config.js';
import { checkGatewayCredentials, checkGatewayReferences, checkGatewayServers, gatewayPorts, type GatewayPort } from './gateway.js';
import { gatewaySecrets } from './gateway-tls.js';
import type { SdsSecret } from '../security/credentials.js';
import { buildVirtualServiceRoutes, virtualServiceGateways } from './http-routes.js';
import { gatewayListener, HTTP_PROXY_ROUTE, inboundListeners, proxylessListener, sidecarInbound, sidecarInboundPorts, sidecarOutboundListener } from './listeners.js';
import { interceptedInbound, interceptedOutbound } from './interception.js';
import { meshVirtualHosts } from './mesh-routes.js';
import { proxyConfigProblems, trafficAnnotationProblems } from './pod-annotations.js';
import { checkTlsAgainstStrictPeers } from './mtls-analysis.js';
import { checkPeerAuthentications, portMtls, workloadMtls } from './peer-authentication.js';
import { problemAt, type Problem } from '../config/problems.js';
import { checkLocalityLb } from './locality-analysis.js';
import { rulePolicies, rulesUseLocality, type ProxyTopology } from './locality-lb.js';
import { DEFAULT_REGION } from '../registry/locality.js';
import { assembleRouteConfig } from './route-config.js';
import { checkMeshL4Routes, meshConnectVirtualHosts } from './connect-routes.js';
import { checkGatewayL4Routes, gatewayL4Listener, gatewayL4Ports, type GatewayL4Port } from './tcp-routes.js';
import { resolveHost, serviceFqdn } from './names.js';
import { withAccessLogService } from './access-log.js';
import { blockAllVirtualHost, checkSidecarConflicts, checkSidecarFields, narrowToSidecar, SidecarIndex, sidecarIngressPorts, sidecarView } from './sidecar-scope.js';

/**
 * What translation reads from a proxy besides its own addresses. Proxies with the same scope get the
 * same outbound clusters, endpoints and routes; only listeners (which bind the pod IP) and a
 * sidecar's inbound side are their own.
 */
export interface ProxyScope {
  kind: ProxyIdentity['kind'];
  namespace: string;
  /** '' when no config differs between clusters (then the proxy's cluster changes nothing). */
  cluster: string;
  /** Only the labels some Gateway selector or VirtualService sourceLabels look at. */
  labels: Record<string, string>;
  /** Where the proxy runs: only when some DestinationRule balances by locality. */
  topology?: ProxyTopology;
  /** The Sidecar resource that applies (`<namespace>/<name>`), '' for none: proxies under one Sidecar share a translation. */
  sidecar: string;
  /** Set (true) for proxies without workload certificates: their clusters carry no TLS. */
  plaintextOnly?: true;
}

/** What a proxy has of its own: listeners bind its IP, inbound clusters point at its app. */
export interface OwnResources {
  listeners: Listener[];
  clusters: Cluster[];
}

/** A proxy's resources in two parts: `shared` is the same objects for every proxy of its scope. */
export interface ScopedProxyResources {
  shared: Omit<ProxyResources, 'problems'>;
  own: OwnResources;
  problems: Problem[];
}

interface ScopeTranslation {
  ctx: TranslationContext;
  resources: Omit<ProxyResources, 'problems'>;
  gatewayPorts: GatewayPort[];
  /** A gateway's TCP and TLS-passthrough ports: listeners with network filters, no route configuration. */
  gatewayL4Ports: GatewayL4Port[];
  problems: Problem[];
  /** The Sidecar resource of the scope (its ingress makes the proxies' inbound listeners). */
  sidecar?: IstioObject<Sidecar>;
  /** The shared output as JSON (made when first compared): equal text, equal translation. */
  text?: string;
  /** The shared output differs from the previous snapshot's for the same scope (or there was none). */
  changed?: boolean;
}

const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);

/**
 * Translates one mesh snapshot for many proxies. The scope-dependent part is built once per scope and
 * shared, so a thousand sidecars of one namespace cost one translation plus their listeners. Pure:
 * memoisation only, no I/O; results must not be mutated (they are shared).
 */
export class MeshTranslator {
  private readonly scopes = new Map<string, ScopeTranslation>();
  private readonly selectorKeys: ReadonlySet<string>;
  private endpointsByAddress: Map<string, MeshEndpoint[]> | undefined;
  private readonly clusterMatters: boolean;
  /** Label keys failoverPriority reads, when some rule balances by locality (else undefined). */
  private readonly localityLabelKeys: ReadonlySet<string> | undefined;
  /** Per proxy id: its own resources and the inputs they were made from (this snapshot's, the previous one's). */
  private readonly own = new Map<string, { inputs: string; resources: OwnResources }>();
  private readonly previousOwn: ReadonlyMap<string, { inputs: string; resources: OwnResources }>;
  private readonly previousScopes: ReadonlyMap<string, ScopeTranslation>;
  /** Per scope cluster ('' when the cluster does not matter): which Sidecar each proxy gets. */
  private readonly sidecarIndexes = new Map<string, SidecarIndex>();

  /** `previous`: the translator of the snapshot before, whose per-proxy results may be reused. */
  constructor(
    readonly snapshot: MeshSnapshot,
    previous?: MeshTranslator,
  ) {
    this.selectorKeys = selectorLabelKeys(snapshot);
    this.clusterMatters = configDependsOnCluster(snapshot);
    const rules = snapshot.destinationRules.map((r) => r.spec);
    this.localityLabelKeys = rulesUseLocality(rules) ? failoverPriorityLabels(rules) : undefined;
    this.previousOwn = previous?.own ?? new Map();
    this.previousScopes = previous?.scopes ?? new Map();
  }

  scopeOf(proxy: ProxyIdentity): ProxyScope {
    const labels: Record<string, string> = {};
    for (const key of Object.keys(proxy.labels).sort()) if (this.selectorKeys.has(key)) labels[key] = proxy.labels[key];
    const cluster = this.clusterMatters ? proxy.cluster : '';
    const sidecar = this.sidecarIndex(cluster).sidecarFor(proxy);
    const scope: ProxyScope = { kind: proxy.kind, namespace: proxy.namespace, cluster, labels, sidecar: sidecar ? `${sidecar.namespace}/${sidecar.name}` : '' };
    if (proxy.plaintextOnly) scope.plaintextOnly = true;
    if (this.localityLabelKeys) scope.topology = this.topologyOf(proxy, this.localityLabelKeys);
    return scope;
  }

  /**
   * Where a proxy runs: the locality its node reported or its pod's labels set, else that of its own
   * endpoints (their node's zone), else its cluster's default (local clusters: region `local`, zone = cluster).
   */
  private topologyOf(proxy: ProxyIdentity, labelKeys: ReadonlySet<string>): ProxyTopology {
    const locality = proxy.locality ?? this.endpointsAt(proxy.ip)[0]?.locality ?? { region: DEFAULT_REGION, zone: proxy.cluster };
    const labels: Record<string, string> = {};
    for (const key of [...labelKeys].sort()) if (proxy.labels[key] !== undefined) labels[key] = proxy.labels[key];
    return { locality, cluster: proxy.cluster, labels };
  }

  private sidecarIndex(cluster: string): SidecarIndex {
    let index = this.sidecarIndexes.get(cluster);
    if (!index) this.sidecarIndexes.set(cluster, (index = new SidecarIndex(this.snapshot, ROOT_NAMESPACE, cluster || undefined)));
    return index;
  }

  translateScoped(proxy: ProxyIdentity): ScopedProxyResources {
    const shared = this.scopeTranslation(proxy);
    return { shared: shared.resources, own: this.ownResources(proxy, shared), problems: shared.problems };
  }

  /**
   * Whether the shared part of the proxy's translation differs from what the previous snapshot's
   * translator made for the same scope. Under Sidecars most scopes do not import a changed service:
   * the pusher serves the proxies of changed scopes first. An unchanged scope keeps the previous
   * snapshot's objects, so the cache sees the same (already encoded) ones.
   */
  sharedChanged(proxy: ProxyIdentity): boolean {
    const shared = this.scopeTranslation(proxy);
    if (shared.changed === undefined) {
      const key = JSON.stringify(this.scopeOf(proxy));
      const before = this.previousScopes.get(key);
      shared.text ??= JSON.stringify([shared.resources, shared.problems]);
      if (before) before.text ??= JSON.stringify([before.resources, before.problems]);
      shared.changed = before?.text !== shared.text;
      if (!shared.changed && before) shared.resources = before.resources;
    }
    return shared.changed;
  }

  private scopeTranslation(proxy: ProxyIdentity): ScopeTranslation {
    const scope = this.scopeOf(proxy);
    const key = JSON.stringify(scope);
    let shared = this.scopes.get(key);
    if (!shared) {
      shared = translateScope(this.snapshot, scope, this.sidecarIndex(scope.cluster).sidecarFor(proxy));
      this.scopes.set(key, shared);
    }
    return shared;
  }

  /**
   * The proxy's own listeners and clusters. When their inputs equal those of the previous snapshot's
   * translation, the previous objects are returned, so the cache sees the same (already encoded) ones.
   */
  private ownResources(proxy: ProxyIdentity, shared: ScopeTranslation): OwnResources {
    const endpoints = proxy.kind === 'sidecar' ? this.endpointsAt(proxy.ip) : [];
    const policies = policiesFor(this.snapshot, proxy, ROOT_NAMESPACE);
    const mtls = workloadMtls(shared.ctx.peerAuthentications, shared.ctx.rootNamespace, proxy);
    const inputs = JSON.stringify([
      policies.map((p) => [p.namespace, p.name, p.spec]),
      proxy,
      [mtls.mode, [...mtls.perPort]],
      endpoints.map((e) => [e.hostname, e.ports, shared.ctx.services.get(e.hostname)?.ports]),
      proxy.kind === 'router' ? shared.gatewayPorts.map((p) => [p.port, p.routeConfigName, p.tls?.serverNames, p.tls?.transportSocket]) : [],
      proxy.kind === 'router' ? shared.gatewayL4Ports : [],
      shared.sidecar?.spec.ingress ?? [],
      proxy.interceptionMode ? [...shared.ctx.services.values()].map((s) => [s.hostname, s.ports, s.clusterIPs]) : [],
    ]);
    const known = this.own.get(proxy.id) ?? this.previousOwn.get(proxy.id);
    if (known?.inputs === inputs) {
      this.own.set(proxy.id, known);
      return known.resources;
    }
    const own: OwnResources = { listeners: [], clusters: [] };
    switch (proxy.kind) {
      case 'sidecar': {
        const ingress = shared.sidecar ? sidecarIngressPorts(shared.sidecar) : undefined;
        // Without certificates a proxy cannot terminate mTLS: plaintext whatever the policy says.
        const mtlsFor = (port: number) => (proxy.plaintextOnly ? 'DISABLE' : portMtls(mtls, port));
        if (proxy.interceptionMode === 'REDIRECT') {
          const outbound = interceptedOutbound(shared.ctx, proxy);
          const inbound = interceptedInbound(proxy, ingress ?? sidecarInboundPorts(shared.ctx, endpoints), mtlsFor, proxy.plaintextOnly ? 'DISABLE' : mtls.mode);
          own.listeners.push(...outbound.listeners, ...inbound.listeners);
          own.clusters.push(...outbound.clusters, ...inbound.clusters);
          break;
        }
        own.listeners.push(sidecarOutboundListener(proxy));
        const inbound = ingress ? inboundListeners(proxy, ingress, mtlsFor) : sidecarInbound(shared.ctx, proxy, endpoints, mtlsFor);
        own.listeners.push(...inbound.listeners);
        own.clusters.push(...inbound.clusters);
        break;
      }
      case 'router':
        for (const [port, servers] of byPort(shared.gatewayPorts)) own.listeners.push(gatewayListener(proxy, port, servers));
        for (const port of shared.gatewayL4Ports) own.listeners.push(gatewayL4Listener(proxy, port));
        break;
      case 'proxyless':
        break;
      default: {
        const unknown: never = proxy.kind;
        throw new Error(`not implemented: proxy kind ${String(unknown)}`);
      }
    }
    // AuthorizationPolicy: RBAC filters on every listener but the sidecar's outbound one.
    const authz = authorizationFilters(policies);
    own.listeners = own.listeners.map((l) => (l.traffic_direction === 'OUTBOUND' && proxy.kind === 'sidecar' ? l : withAuthorization(l, authz)));
    const logging = proxy.kind === 'sidecar' || proxy.kind === 'router' ? proxy.kind : undefined;
    if (proxy.accessLogService && logging) own.listeners = own.listeners.map((l) => withAccessLogService(l, logging));
    own.listeners.sort(byName);
    own.clusters.sort(byName);
    this.own.set(proxy.id, { inputs, resources: own });
    return own;
  }

  private endpointsAt(address: string): readonly MeshEndpoint[] {
    if (!this.endpointsByAddress) {
      this.endpointsByAddress = new Map();
      for (const endpoint of this.snapshot.endpoints) {
        const list = this.endpointsByAddress.get(endpoint.address);
        if (list) list.push(endpoint);
        else this.endpointsByAddress.set(endpoint.address, [endpoint]);
      }
    }
    return this.endpointsByAddress.get(address) ?? [];
  }

  translate(proxy: ProxyIdentity): ProxyResources {
    const { shared, own, problems } = this.translateScoped(proxy);
    return {
      listeners: [...shared.listeners, ...own.listeners].sort(byName),
      routes: shared.routes,
      clusters: [...shared.clusters, ...own.clusters].sort(byName),
      endpoints: shared.endpoints,
      ...(shared.secrets ? { secrets: shared.secrets } : {}),
      problems,
    };
  }
}

/** A gateway's ports in order, each with its servers (one plain route configuration, or a chain per TLS server). */
function byPort(ports: readonly GatewayPort[]): Map<number, GatewayPort[]> {
  const out = new Map<number, GatewayPort[]>();
  for (const port of ports) out.set(port.port, [...(out.get(port.port) ?? []), port]);
  return out;
}

export function translate(snapshot: MeshSnapshot, proxy: ProxyIdentity): ProxyResources {
  return new MeshTranslator(snapshot).translate(proxy);
}

/** Label keys that any Gateway selector or VirtualService sourceLabels match on: the rest cannot change a translation. */
function selectorLabelKeys(snapshot: MeshSnapshot): Set<string> {
  const keys = new Set<string>();
  for (const gateway of snapshot.gateways) for (const key of Object.keys(gateway.spec.selector ?? {})) keys.add(key);
  for (const vs of snapshot.virtualServices) {
    for (const route of [...(vs.spec.http ?? []), ...(vs.spec.tcp ?? []), ...(vs.spec.tls ?? [])]) {
      for (const match of route.match ?? []) for (const key of Object.keys(match.sourceLabels ?? {})) keys.add(key);
    }
  }
  return keys;
}

/** The label names (without `=value`) failoverPriority compares, over every rule. */
function failoverPriorityLabels(rules: readonly DestinationRule[]): Set<string> {
  const keys = new Set<string>();
  for (const rule of rules) {
    for (const [, policy] of rulePolicies(rule)) for (const entry of policy.loadBalancer?.localityLbSetting?.failoverPriority ?? []) keys.add(entry.split('=')[0]);
  }
  return keys;
}

/**
 * Whether a proxy's cluster can change its translation: it picks its own cluster's copy of config that
 * exists in several clusters, which matters only when the copies differ -- or for ServiceEntries,
 * whose services name the cluster of the copy.
 */
function configDependsOnCluster(snapshot: MeshSnapshot): boolean {
  const kinds = [snapshot.virtualServices, snapshot.destinationRules, snapshot.gateways, snapshot.serviceEntries, snapshot.sidecars ?? [], snapshot.peerAuthentications ?? []];
  if (kinds.some((objects) => mergeConfig<unknown>(objects).divergent.length > 0)) return true;
  const entryCluster = new Map<string, string>();
  for (const entry of snapshot.serviceEntries) {
    const seen = entryCluster.get(configKey(entry));
    if (seen !== undefined && seen !== entry.cluster) return true;
    entryCluster.set(configKey(entry), entry.cluster);
  }
  return false;
}

function translateScope(snapshot: MeshSnapshot, scope: ProxyScope, sidecar: IstioObject<Sidecar> | undefined): ScopeTranslation {
  // Shared builders see no address: anything that depends on one belongs in translateScoped's `own`.
  const { sidecar: _sidecar, topology, ...identity } = scope;
  const proxy: ProxyIdentity = { id: `scope~${scope.kind}~${scope.namespace}~${scope.cluster}`, ...identity, ip: '0.0.0.0' };
  const full = buildContext(snapshot, proxy);
  if (topology) full.topology = topology;
  // A Sidecar narrows the services (clusters, endpoints) and VirtualServices (routes) the proxy is given.
  const view = sidecar ? sidecarView(sidecar, scope.namespace, snapshot.outboundTrafficMode) : undefined;
  const outboundMode = view ? view.outboundMode : snapshot.outboundTrafficMode;
  const narrowed = view ? narrowToSidecar(full, view) : { clusters: full, routes: full };
  if (sidecar) checkSidecarFields(sidecar, full.problems);
  const ctx = narrowed.routes;
  const outbound = buildOutboundClusters(narrowed.clusters);
  const listeners: Listener[] = [];
  const routes: RouteConfiguration[] = [];
  let ports: GatewayPort[] = [];
  let l4Ports: GatewayL4Port[] = [];
  let secrets: SdsSecret[] = [];
  switch (scope.kind) {
    case 'sidecar':
      routes.push(assembleRouteConfig(HTTP_PROXY_ROUTE, [
        ...meshVirtualHosts(ctx, proxy),
        ...meshConnectVirtualHosts(ctx, proxy),
        ...(outboundMode === 'REGISTRY_ONLY' ? [{ vhost: blockAllVirtualHost(), ...(view ? { source: view.ref } : {}) }] : []),
      ], undefined, ctx.problems));
      break;
    case 'router':
      ports = gatewayPorts(ctx, proxy);
      l4Ports = gatewayL4Ports(ctx, proxy);
      for (const port of ports) routes.push(assembleRouteConfig(port.routeConfigName, port.vhosts, undefined, ctx.problems));
      // Secrets of the gateway's own namespace only (Istio's SDS authorization); a missing one is
      // reported by analyze and leaves its listener warming until it appears.
      secrets = gatewaySecrets(snapshot.credentials ?? [], scope.namespace, ports.flatMap((p) => p.tls?.sdsNames ?? [])).secrets;
      break;
    case 'proxyless':
      for (const mv of meshVirtualHosts(ctx, proxy)) {
        const withFault = mv.vhost.routes.some((r) => r.typed_per_filter_config !== undefined);
        for (const name of proxylessListenerNames(mv.service, mv.port, snapshot.domainSuffix)) {
          listeners.push(proxylessListener(name, withFault));
          // grpc-js-xds gets the snapshot version stamped into its routes (see versionMetadata).
          routes.push(assembleRouteConfig(name, [mv], snapshot.version, ctx.problems));
        }
      }
      break;
    default: {
      const unknown: never = scope.kind;
      throw new Error(`not implemented: proxy kind ${String(unknown)}`);
    }
  }
  return {
    ctx,
    ...(sidecar ? { sidecar } : {}),
    gatewayPorts: ports,
    gatewayL4Ports: l4Ports,
    resources: {
      listeners: listeners.sort(byName),
      routes: routes.sort(byName),
      clusters: [...outbound.clusters].sort(byName),
      endpoints: [...outbound.endpoints].sort((a, b) => a.cluster_name.localeCompare(b.cluster_name)),
      ...(secrets.length > 0 ? { secrets } : {}),
    },
    problems: ctx.problems.list(),
  };
}

/** `<fqdn>:<port>`, and for Kubernetes services `<name>.<ns>:<port>` and `<name>.<ns>.svc:<port>`. */
export function proxylessListenerNames(service: { hostname: string; name: string; namespace: string }, port: number, domainSuffix: string): string[] {
  const names = [`${service.hostname}:${port}`];
  if (service.hostname === serviceFqdn(service.name, service.namespace, domainSuffix)) {
    names.push(`${service.name}.${service.namespace}:${port}`, `${service.name}.${service.namespace}.svc:${port}`);
  }
  return names;
}

/**
 * Everything wrong with the mesh's config, independent of any proxy (for `meshwork analyze`):
 * every VirtualService route is checked as if every match applied, plus references between objects.
 */
/** DestinationRule fields the translator does not act on yet, each where the rule writes it. */
function checkUnhonouredRuleFields(ctx: TranslationContext, rule: IstioObject<DestinationRule>): void {
  const ref = { kind: 'DestinationRule' as const, name: rule.name, namespace: rule.namespace };
  const warn = (field: string, message: string) => ctx.problems.add(problemAt(ref, 'warning', 'unsupported', field, message));
  if (rule.spec.workloadSelector !== undefined) {
    warn('spec.workloadSelector', 'a DestinationRule with a workloadSelector is applied as if it had none (to every client it is visible to). Remove the selector, or move the rule to the clients\' namespace.');
  }
}

export function analyze(snapshot: MeshSnapshot): Problem[] {
  const ctx = buildContext(snapshot, undefined);
  buildOutboundClusters(ctx);
  checkSubsetsSelectEndpoints(ctx);
  checkGatewayReferences(ctx);
  checkGatewayServers(ctx);
  if (snapshot.credentials) checkGatewayCredentials(ctx, snapshot.credentials, snapshot.endpoints);
  checkGatewayL4Routes(ctx);
  checkMeshL4Routes(ctx);
  for (const rule of ctx.destinationRules) checkUnhonouredRuleFields(ctx, rule);
  checkLocalityLb(ctx);
  checkAuthorizationPolicies(snapshot, ROOT_NAMESPACE, (p) => ctx.problems.add(p));
  checkPeerAuthentications(ctx, ctx.problems);
  checkTlsAgainstStrictPeers(ctx);
  for (const problem of proxyConfigProblems(snapshot.proxyConfigAnnotations ?? [])) ctx.problems.add(problem);
  for (const problem of trafficAnnotationProblems(snapshot.uncapturedTrafficAnnotations ?? [])) ctx.problems.add(problem);
  const sidecars = mergeConfig(snapshot.sidecars ?? []).objects;
  for (const sidecar of sidecars) checkSidecarFields(sidecar, ctx.problems);
  checkSidecarConflicts(snapshot, sidecars, ctx.problems);
  for (const vs of ctx.virtualServices) {
    const ref = { kind: 'VirtualService' as const, name: vs.name, namespace: vs.namespace };
    if ((vs.spec.hosts ?? []).length === 0) {
      // A delegate: analysed through the roots that merge it (translate/delegates.ts), never on its own.
      if (!delegatedTo(ctx, vs)) {
        ctx.problems.add(problemAt(ref, 'warning', 'invalid-delegate', 'spec.hosts',
          'this VirtualService has no hosts, so it only routes as a delegate, and no VirtualService delegates to it; it routes nothing. Add hosts, or a root route with delegate naming it.'));
      }
      continue;
    }
    const gateways = virtualServiceGateways(vs);
    const meshBound = gateways.includes('mesh');
    if (meshBound) {
      (vs.spec.hosts ?? []).forEach((h, i) => {
        const host = resolveHost(h, vs.namespace, ctx.domainSuffix);
        if (host === '*' || host.startsWith('*.')) return;
        if (!ctx.services.has(host)) {
          ctx.problems.add(problemAt(ref, 'warning', 'unknown-host', `spec.hosts[${i}]`,
            `host "${h}" (resolved to ${host}) matches no service in the mesh, so no sidecar routes it. ` +
              `Use the Service name, or the FQDN <name>.<namespace>.svc.${ctx.domainSuffix} for a service in another namespace.`));
        }
      });
    }
    for (const gateway of gateways) {
      const singleService = meshBound ? singleServiceOf(ctx, vs.spec.hosts ?? [], vs.namespace) : undefined;
      buildVirtualServiceRoutes(ctx, vs, { gateway, proxyless: false, service: singleService });
    }
  }
  // Duplicate mesh hosts: let the mesh virtual host builder find the conflicts from every namespace.
  const namespaces = new Set(ctx.serviceList.map((s) => s.namespace));
  for (const namespace of namespaces) {
    const client: ProxyIdentity = { id: `analyze~${namespace}`, kind: 'sidecar', namespace, cluster: '', labels: {}, ip: '0.0.0.0' };
    meshVirtualHosts(ctx, client);
    meshConnectVirtualHosts(ctx, client);
  }
  return attributeDerivedProblems([...ctx.problems.list(), ...(snapshot.ingressProblems ?? [])], snapshot);
}

/** Does some root VirtualService delegate to `delegate`? */
function delegatedTo(ctx: TranslationContext, delegate: { name: string; namespace: string }): boolean {
  return ctx.virtualServices.some((root) =>
    (root.spec.http ?? []).some((h) => h.delegate?.name === delegate.name && (h.delegate.namespace || root.namespace) === delegate.namespace));
}

/** For analysis: the service a mesh VirtualService is about when it names exactly one (the port default). */
function singleServiceOf(ctx: TranslationContext, hosts: string[], namespace: string): { hostname: string; port: number } | undefined {
  if (hosts.length !== 1) return undefined;
  const host = resolveHost(hosts[0], namespace, ctx.domainSuffix);
  const service = ctx.services.get(host);
  // A destination without a port goes to the port being served; any port stands for it here.
  if (!service || service.ports.length === 0) return undefined;
  return { hostname: host, port: service.ports[0].port };
}
