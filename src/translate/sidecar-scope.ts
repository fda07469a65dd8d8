// Istio's Sidecar resource as the translator applies it (pilot's SidecarScope): which Sidecar a proxy
// gets, which services and VirtualServices its egress hosts let it see, and what it does with a host
// it does not know. Pure; a sidecar's shared translation depends on the chosen Sidecar only, so the
// Sidecar's name is part of the translation scope (translate.ts) and proxies under one Sidecar share it.

import type { Sidecar, SidecarEgressListener, VirtualService } from '../config/istio-types.js';
import { compareByCreation, mergeConfig, type IstioObject, type MeshSnapshot, type ProxyIdentity } from '../registry/model.js';
import type { ServiceView, TranslationContext } from './context.js';
import type { VirtualHost } from './envoy-types.js';
import type { InboundPort } from './listeners.js';
import { hostIntersection, hostMatches, labelsMatch, portProtocol, resolveHost } from './names.js';
import { problemAt, type ConfigRef, type ProblemLog } from '../config/problems.js';

/** One `namespace/host` of an egress listener, its namespace resolved (`.` -> the proxy's namespace). */
interface EgressHost {
  /** A namespace, `*` (any) or `~` (none). */
  namespace: string;
  /** `*`, `*.suffix` or a host name. */
  host: string;
}

interface EgressListenerScope {
  /** undefined: the catch-all listener (every port no other listener names). */
  port?: number;
  hosts: EgressHost[];
}

/** What a proxy's Sidecar lets it see; `undefined` anywhere a SidecarView is expected means Istio's default (everything). */
export interface SidecarView {
  ref: ConfigRef;
  listeners: EgressListenerScope[];
  /** The Sidecar's outboundTrafficPolicy.mode, else the mesh's (undefined: Istio's default, ALLOW_ANY). */
  outboundMode?: 'REGISTRY_ONLY' | 'ALLOW_ANY';
}

/** Proxy kinds a Sidecar applies to: gateways (routers) ignore Sidecars, as in Istio. */
function sidecarApplies(kind: ProxyIdentity['kind']): boolean {
  return kind === 'sidecar' || kind === 'proxyless';
}

/**
 * Picks each proxy's Sidecar as Istio does: in the proxy's namespace, the oldest Sidecar whose
 * workloadSelector matches the proxy's labels; else that namespace's Sidecar without selector (the
 * oldest); else the root namespace's Sidecar without selector; else none.
 */
export class SidecarIndex {
  private readonly byNamespace = new Map<string, IstioObject<Sidecar>[]>();

  constructor(snapshot: MeshSnapshot, private readonly rootNamespace: string, localCluster?: string) {
    for (const sidecar of mergeConfig(snapshot.sidecars ?? [], localCluster).objects) {
      const list = this.byNamespace.get(sidecar.namespace);
      if (list) list.push(sidecar);
      else this.byNamespace.set(sidecar.namespace, [sidecar]);
    }
    for (const list of this.byNamespace.values()) list.sort(compareByCreation);
  }

  sidecarFor(proxy: Pick<ProxyIdentity, 'kind' | 'namespace' | 'labels'>): IstioObject<Sidecar> | undefined {
    if (!sidecarApplies(proxy.kind)) return undefined;
    const own = this.byNamespace.get(proxy.namespace) ?? [];
    const selected = own.find((s) => hasSelector(s) && labelsMatch(s.spec.workloadSelector?.labels, proxy.labels));
    if (selected) return selected;
    const namespaceDefault = own.find((s) => !hasSelector(s));
    if (namespaceDefault) return namespaceDefault;
    return (this.byNamespace.get(this.rootNamespace) ?? []).find((s) => !hasSelector(s));
  }
}

function hasSelector(sidecar: IstioObject<Sidecar>): boolean {
  return Object.keys(sidecar.spec.workloadSelector?.labels ?? {}).length > 0;
}

function egressHost(text: string, proxyNamespace: string): EgressHost | undefined {
  const slash = text.indexOf('/');
  if (slash <= 0) return undefined;
  const namespace = text.slice(0, slash);
  return { namespace: namespace === '.' ? proxyNamespace : namespace, host: text.slice(slash + 1).toLowerCase() };
}

/**
 * The Sidecar's egress as the proxy in `proxyNamespace` reads it: a root-namespace Sidecar applied
 * to another namespace reads `.` as the proxy's namespace, as Istio does. No egress at all means
 * Istio's default egress: `*` / `*` (every namespace, every host).
 */
export function sidecarView(sidecar: IstioObject<Sidecar>, proxyNamespace: string, meshOutboundMode?: 'REGISTRY_ONLY' | 'ALLOW_ANY'): SidecarView {
  const egress: SidecarEgressListener[] = sidecar.spec.egress && sidecar.spec.egress.length > 0 ? sidecar.spec.egress : [{ hosts: ['*/*'] }];
  const listeners = egress.map((l) => ({
    ...(l.port?.number !== undefined ? { port: l.port.number } : {}),
    hosts: (l.hosts ?? []).map((h) => egressHost(h, proxyNamespace)).filter((h): h is EgressHost => h !== undefined),
  }));
  const policy = sidecar.spec.outboundTrafficPolicy;
  // In Istio's proto an unset mode is its zero value, REGISTRY_ONLY.
  const outboundMode = policy ? (policy.mode ?? 'REGISTRY_ONLY') : meshOutboundMode;
  return { ref: { kind: 'Sidecar', name: sidecar.name, namespace: sidecar.namespace }, listeners, ...(outboundMode ? { outboundMode } : {}) };
}

function namespaceMatches(egress: EgressHost, namespace: string): boolean {
  return egress.namespace === '*' || egress.namespace === namespace;
}

/** Whether one egress listener imports a service. */
function listenerImports(listener: EgressListenerScope, service: ServiceView): boolean {
  return listener.hosts.some((h) => namespaceMatches(h, service.namespace) && hostMatches(h.host, service.hostname));
}

/** The egress listener that decides for a service port: the one bound to that port, else the catch-all one. */
function listenerFor(view: SidecarView, port: number): EgressListenerScope | undefined {
  return view.listeners.find((l) => l.port === port) ?? view.listeners.find((l) => l.port === undefined);
}

/** Whether a VirtualService is imported: its namespace matches an egress host whose host meets one of the VirtualService's hosts. */
function virtualServiceImported(view: SidecarView, vs: IstioObject<VirtualService>, domainSuffix: string): boolean {
  const hosts = (vs.spec.hosts ?? []).map((h) => resolveHost(h, vs.namespace, domainSuffix));
  return view.listeners.some((l) => l.hosts.some((e) => namespaceMatches(e, vs.namespace) && hosts.some((h) => hostIntersection(e.host, h) !== undefined)));
}

/** The hosts a VirtualService's http, tcp and tls routes (and mirrors) send to, resolved in its namespace. */
function destinationHosts(vs: IstioObject<VirtualService>, domainSuffix: string): string[] {
  const out = new Set<string>();
  const add = (host: string | undefined): void => {
    if (host) out.add(resolveHost(host, vs.namespace, domainSuffix));
  };
  for (const route of vs.spec.http ?? []) {
    for (const d of route.route ?? []) add(d.destination?.host);
    add(route.mirror?.host);
  }
  for (const route of [...(vs.spec.tcp ?? []), ...(vs.spec.tls ?? [])]) {
    const destinations = (route as { route?: Array<{ destination?: { host?: string } }> }).route ?? [];
    for (const d of destinations) add(d.destination?.host);
  }
  return [...out];
}

/**
 * The translation context narrowed to what the Sidecar imports: the services its egress hosts name
 * (on the ports whose listener names them) plus the services the imported VirtualServices route to
 * (Istio adds those so no route points at a missing cluster), and only the imported VirtualServices.
 * `routes` is the context the outbound routes are built from (a service port only where the listener
 * deciding for that port imports it); `clusters` gets every port's clusters.
 */
export function narrowToSidecar(ctx: TranslationContext, view: SidecarView): { clusters: TranslationContext; routes: TranslationContext } {
  const virtualServices = ctx.virtualServices.filter((vs) => virtualServiceImported(view, vs, ctx.domainSuffix));
  const dependencies = new Set(virtualServices.flatMap((vs) => destinationHosts(vs, ctx.domainSuffix)));
  const clusterServices: ServiceView[] = [];
  const routeServices: ServiceView[] = [];
  for (const service of ctx.serviceList) {
    const imported = view.listeners.some((l) => listenerImports(l, service));
    if (!imported && !dependencies.has(service.hostname)) continue;
    clusterServices.push(service);
    const ports = service.ports.filter((p) => {
      const listener = listenerFor(view, p.port);
      return listener !== undefined && listenerImports(listener, service);
    });
    if (ports.length === service.ports.length) routeServices.push(service);
    else if (ports.length > 0) routeServices.push({ ...service, ports });
  }
  return {
    clusters: { ...ctx, serviceList: clusterServices, virtualServices },
    routes: { ...ctx, serviceList: routeServices, virtualServices },
  };
}

/** The app port of an ingress defaultEndpoint (`127.0.0.1:8080`, `0.0.0.0:8080`, `[::1]:8080`, `:8080`); undefined for a unix socket. */
function defaultEndpointPort(endpoint: string): number | undefined {
  const m = /:(\d+)$/.exec(endpoint);
  return endpoint.startsWith('unix://') || !m ? undefined : Number(m[1]);
}

/**
 * The inbound ports a Sidecar's ingress declares (undefined: it declares none, the pod's service ports
 * apply). As in Istio they replace the ports derived from the pod's services: each listens on the pod
 * IP and forwards to defaultEndpoint's port of the app (the app address: here the app binds its own IP,
 * for 127.0.0.1 and 0.0.0.0 alike), or to the same port without one. Unix sockets are reported, not served.
 */
export function sidecarIngressPorts(sidecar: IstioObject<Sidecar>): InboundPort[] | undefined {
  const ingress = sidecar.spec.ingress ?? [];
  if (ingress.length === 0) return undefined;
  const out: InboundPort[] = [];
  for (const l of ingress) {
    const port = l.port?.number;
    if (port === undefined) continue;
    const appPort = l.defaultEndpoint ? defaultEndpointPort(l.defaultEndpoint) : port;
    if (appPort === undefined) continue;
    const protocol = portProtocol({ port, protocol: 'TCP', ...(l.port?.protocol ? { appProtocol: l.port.protocol.toLowerCase() } : {}) });
    out.push({ port, protocol, appPort });
  }
  return out;
}

/** Istio's catch-all virtual host of the outbound HTTP route: REGISTRY_ONLY answers 502 for a host it does not know. */
export function blockAllVirtualHost(): VirtualHost {
  return { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }] };
}

/**
 * What of a Sidecar the translator does not act on, reported where the Sidecar writes it. ALLOW_ANY
 * (Istio's PassthroughCluster) is not translated: a host the mesh does not know gets 404 (NR) from
 * the outbound HTTP proxy, as without any Sidecar.
 */
export function checkSidecarFields(sidecar: IstioObject<Sidecar>, problems: ProblemLog): void {
  const ref: ConfigRef = { kind: 'Sidecar', name: sidecar.name, namespace: sidecar.namespace };
  const warn = (field: string, message: string): void => problems.add(problemAt(ref, 'warning', 'unsupported', field, message));
  if (sidecar.spec.outboundTrafficPolicy?.mode === 'ALLOW_ANY') {
    warn('spec.outboundTrafficPolicy.mode', 'ALLOW_ANY (PassthroughCluster) is not translated: the outbound HTTP proxy answers a host the mesh does not know with 404 (NR). ' +
      'Add a ServiceEntry for the external host, or use REGISTRY_ONLY to get Istio\'s 502.');
  }
  if (sidecar.spec.outboundTrafficPolicy?.egressProxy !== undefined) warn('spec.outboundTrafficPolicy.egressProxy', 'egressProxy is not translated: unknown hosts are not sent to it.');
  if (sidecar.spec.inboundConnectionPool !== undefined) warn('spec.inboundConnectionPool', 'inbound connection pool settings are not applied to the inbound listeners.');
  (sidecar.spec.egress ?? []).forEach((l, i) => {
    if (l.bind !== undefined) warn(`spec.egress[${i}].bind`, 'the outbound side is one HTTP proxy listener (port 15001) here; a bind address is not applied.');
    if (l.captureMode !== undefined && l.captureMode !== 'DEFAULT') warn(`spec.egress[${i}].captureMode`, 'traffic is not intercepted (apps use the HTTP proxy); captureMode is not applied.');
  });
  (sidecar.spec.ingress ?? []).forEach((l, i) => {
    const at = `spec.ingress[${i}]`;
    if (l.defaultEndpoint?.startsWith('unix://')) warn(`${at}.defaultEndpoint`, 'a unix domain socket endpoint is not served: this port gets no inbound listener.');
    if (l.bind !== undefined) warn(`${at}.bind`, 'inbound listeners bind the pod IP; a bind address is not applied.');
    if (l.captureMode !== undefined && l.captureMode !== 'DEFAULT') warn(`${at}.captureMode`, 'traffic is not intercepted here; captureMode is not applied.');
    if (l.tls !== undefined) warn(`${at}.tls`, 'TLS on sidecar ingress is not translated: the listener serves plaintext.');
    if (l.connectionPool !== undefined) warn(`${at}.connectionPool`, 'inbound connection pool settings are not applied.');
  });
}

/** Analyzer checks across Sidecars: Istio's IST0110 (several select one workload) and IST0111 (several without selector in a namespace). */
export function checkSidecarConflicts(snapshot: MeshSnapshot, sidecars: readonly IstioObject<Sidecar>[], problems: ProblemLog): void {
  const byNamespace = new Map<string, IstioObject<Sidecar>[]>();
  for (const s of sidecars) byNamespace.set(s.namespace, [...(byNamespace.get(s.namespace) ?? []), s]);
  for (const list of byNamespace.values()) {
    const unselected = list.filter((s) => !hasSelector(s));
    if (unselected.length > 1) {
      for (const s of unselected) {
        problems.add(problemAt({ kind: 'Sidecar', name: s.name, namespace: s.namespace }, 'error', 'multiple-sidecars-without-selector', 'spec',
          `namespace ${s.namespace} has ${unselected.length} Sidecars without workloadSelector (${unselected.map((u) => u.name).join(', ')}); ` +
            `the oldest (${[...unselected].sort(compareByCreation)[0].name}) is used. Keep one, or give the others a workloadSelector.`));
      }
    }
    // One finding per Sidecar, naming the first pod it shares (pods are known by their endpoints).
    const selected = list.filter(hasSelector);
    const reported = new Set<IstioObject<Sidecar>>();
    for (const endpoint of snapshot.endpoints) {
      if (!endpoint.hasSidecar || endpoint.podName === undefined || endpoint.namespace !== list[0].namespace) continue;
      const matching = selected.filter((s) => labelsMatch(s.spec.workloadSelector?.labels, endpoint.labels));
      if (matching.length < 2) continue;
      const pod = `${endpoint.cluster}/${endpoint.podName}`;
      for (const s of matching) {
        if (reported.has(s)) continue;
        reported.add(s);
        problems.add(problemAt({ kind: 'Sidecar', name: s.name, namespace: s.namespace }, 'error', 'conflicting-sidecar-selectors', 'spec.workloadSelector',
          `pod ${pod} is selected by ${matching.length} Sidecars (${matching.map((m) => m.name).join(', ')}); the oldest is used. Make their selectors disjoint.`));
      }
    }
  }
}
