// Ingress gateway (router) config: Gateways whose selector matches the proxy's labels open a
// listener per server port; VirtualServices bound to those Gateways fill RouteConfiguration
// `http.<port>` with one virtual host per host, the routes of every VirtualService for that host
// merged as Istio merges them. Unmatched requests fall through to Envoy's 404.

import type { Gateway, GatewayServer, VirtualService } from '../config/istio-types.js';
import { compareByCreation, type IstioObject, type ProxyIdentity } from '../registry/model.js';
import type { Route } from './envoy-types.js';
import type { TranslationContext } from './context.js';
import { buildVirtualServiceRoutes, isCatchAll, virtualServiceGateways } from './http-routes.js';
import { hostIntersection, labelsMatch, resolveHost, visibleTo } from './names.js';
import { problemAt, type ConfigRef } from '../config/problems.js';
import { CA_CERT_SUFFIX } from '../security/secrets.js';
import type { SourcedVirtualHost } from './route-config.js';
import { gatewaySecrets, gatewayServerTls, terminationProblem, type GatewayServerTls } from './gateway-tls.js';
import type { GatewayCredential } from '../security/credentials.js';
import type { MeshEndpoint } from '../registry/model.js';

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

export interface GatewayPort {
  port: number;
  routeConfigName: string;
  vhosts: SourcedVirtualHost[];
  /** Set for a server that terminates TLS: its own filter chain (and, as in Istio, its own route configuration). */
  tls?: GatewayServerTls;
}

/** Gateways select gateway pods by label, in any namespace (Istio's default). */
export function gatewaysForProxy(ctx: TranslationContext, proxy: ProxyIdentity): IstioObject<Gateway>[] {
  return ctx.gateways.filter((g) => labelsMatch(g.spec.selector ?? {}, proxy.labels));
}

/** Whether a server host `ns/host` admits a VirtualService from `vsNamespace`. */
export function serverHostAdmits(serverHost: string, gatewayNamespace: string, vsNamespace: string): { host: string } | undefined {
  const slash = serverHost.indexOf('/');
  if (slash < 0) return { host: serverHost.toLowerCase() };
  const ns = serverHost.slice(0, slash);
  const host = serverHost.slice(slash + 1).toLowerCase();
  if (ns === '*' || (ns === '.' && vsNamespace === gatewayNamespace) || ns === vsNamespace) return { host };
  return undefined;
}

function gatewayDomains(host: string): string[] {
  // A Host header may carry a port ("example.com:8080"); `*` already matches everything.
  return host === '*' ? ['*'] : [host, `${host}:*`];
}

/** What a gateway server serves: HTTP routes (in clear, or after terminating TLS), one opaque TCP route, or TLS routes by SNI without terminating. */
export type ServerKind = 'http' | 'https' | 'tcp' | 'tls-passthrough';

// Istio sends MONGO, MYSQL and REDIS through a plain tcp_proxy unless its protocol-filter features are on (off by default).
const TCP_PROTOCOLS = new Set(['TCP', 'MONGO', 'MYSQL', 'REDIS']);

/** The kind of a server, or why it cannot be served (the problem is reported, the server skipped). */
export function serverKind(ctx: TranslationContext, gateway: IstioObject<Gateway>, server: GatewayServer, index: number): ServerKind | undefined {
  const ref: ConfigRef = { kind: 'Gateway', name: gateway.name, namespace: gateway.namespace };
  const protocol = (server.port?.protocol ?? '').toUpperCase();
  const mode = server.tls?.mode;
  const unsupported = (field: string, message: string): undefined => {
    ctx.problems.add(problemAt(ref, 'warning', 'unsupported', `spec.servers[${index}].${field}`, `${message} This server is skipped.`));
    return undefined;
  };
  if (server.bind) {
    ctx.problems.add(problemAt(ref, 'warning', 'unsupported', `spec.servers[${index}].bind`,
      `bind ${server.bind} is not honoured: the gateway's listener binds the gateway pod's own IP (a local pod has one address). Remove bind.`));
  }
  if (protocol === 'GRPC-WEB') {
    ctx.problems.add(problemAt(ref, 'warning', 'unsupported', `spec.servers[${index}].port.protocol`,
      'GRPC-WEB is served as plain HTTP: the grpc_web filter Istio adds (gRPC-Web <-> gRPC translation) is not set, so gRPC-Web requests reach the backend untranslated.'));
  }
  if (HTTP_PROTOCOLS.has(protocol)) return 'http';
  if (protocol === 'HTTPS' || protocol === 'TLS' || (TCP_PROTOCOLS.has(protocol) && server.tls !== undefined)) {
    // tls.mode's zero value is PASSTHROUGH (Istio's ServerTLSSettings enum): tls without a mode passes through.
    if (mode === 'PASSTHROUGH' || (mode === undefined && server.tls !== undefined)) return 'tls-passthrough';
    if (mode === 'AUTO_PASSTHROUGH') {
      return unsupported('tls.mode', 'AUTO_PASSTHROUGH routes by SNI to outbound_.<port>_.<subset>_.<host> clusters for east-west gateways between networks; ' +
        'this mesh\'s clusters reach each other\'s pods directly (one network), so no such clusters exist. Use PASSTHROUGH with VirtualService tls routes.');
    }
    if (protocol !== 'HTTPS') {
      return unsupported('tls.mode', `${protocol} servers that terminate TLS (tls.mode ${mode ?? 'unset'}) and then route TCP are not supported yet. ` +
        'Use protocol HTTPS (TLS terminated, then HTTP routes), or tls.mode PASSTHROUGH (the backend terminates TLS).');
    }
    const problem = terminationProblem(server);
    return problem ? unsupported(problem.field, problem.message) : 'https';
  }
  if (TCP_PROTOCOLS.has(protocol)) return 'tcp';
  return unsupported('port.protocol', `protocol ${protocol || '(none)'} is not supported (HTTP, HTTP2, GRPC, TCP, and TLS/HTTPS with PASSTHROUGH are).`);
}

/**
 * The servers of a proxy's gateways that it serves, in Gateway order. As in Istio's gateway merge, a
 * port carries either HTTP servers or TCP/TLS servers: the first server on a port decides, a server of
 * the other kind on it is skipped and reported.
 */
export function servedServers(ctx: TranslationContext, proxy: ProxyIdentity): Array<{ gateway: IstioObject<Gateway>; server: GatewayServer; index: number; kind: ServerKind }> {
  const out: Array<{ gateway: IstioObject<Gateway>; server: GatewayServer; index: number; kind: ServerKind }> = [];
  const portKind = new Map<number, { kind: ServerKind; owner: string }>();
  for (const gateway of gatewaysForProxy(ctx, proxy)) {
    (gateway.spec.servers ?? []).forEach((server, index) => {
      const kind = serverKind(ctx, gateway, server, index);
      if (!kind) return;
      const port = server.port.number;
      const first = portKind.get(port);
      const family = (k: ServerKind): string => (k === 'http' ? 'HTTP' : k === 'https' ? 'HTTPS' : k === 'tcp' ? 'TCP' : 'TLS');
      if (first && (family(first.kind) !== family(kind) || kind === 'tcp')) {
        ctx.problems.add(problemAt({ kind: 'Gateway', name: gateway.name, namespace: gateway.namespace }, 'warning', 'invalid-config', `spec.servers[${index}].port`,
          `port ${port} is already served as ${family(first.kind)} by ${first.owner}; a port carries one protocol ` +
            `(and one opaque TCP server), so this ${family(kind)} server is skipped, as Istio merges gateways. Use another port.`));
        return;
      }
      if (!first) portKind.set(port, { kind, owner: `Gateway ${gateway.namespace}/${gateway.name} spec.servers[${index}]` });
      out.push({ gateway, server, index, kind });
    });
  }
  return out;
}

/**
 * Istio's SortVHostRoutes, applied to every gateway virtual host: catch-all routes go to the end, the
 * rest keep their order, so one VirtualService's "/" does not hide another's "/hello".
 */
function catchAllLast(routes: Route[]): Route[] {
  return [...routes.filter((r) => !isCatchAll(r)), ...routes.filter(isCatchAll)];
}

/**
 * One RouteConfiguration `http.<port>` per gateway server port. VirtualServices for the same host on
 * the same port are merged into one virtual host, as Istio does: servers in Gateway order, within a
 * server the VirtualServices oldest first (then by name, then namespace), their routes appended in
 * that order, catch-all routes moved to the end (a VirtualService's own routes stop at its first
 * catch-all, see buildVirtualServiceRoutes).
 */
export function gatewayPorts(ctx: TranslationContext, proxy: ProxyIdentity): GatewayPort[] {
  const byRoute = new Map<string, GatewayPort>();
  const merged = new Map<string, { entry: SourcedVirtualHost; sources: Set<IstioObject<VirtualService>> }>();
  const virtualServices = [...ctx.virtualServices].sort(compareByCreation);
  const httpServers = new Map(servedServers(ctx, proxy).filter((s) => s.kind === 'http' || s.kind === 'https').map((s) => [s.server, s.kind]));
  const sniByPort = new Map<number, SniClaims>();
  for (const gateway of gatewaysForProxy(ctx, proxy)) {
    const gatewayName = `${gateway.namespace}/${gateway.name}`;
    (gateway.spec.servers ?? []).forEach((server, index) => {
      const kind = httpServers.get(server);
      if (!kind) return;
      const port = server.port.number;
      // Istio's route names: one `http.<port>` for the port's plain servers, one per terminating server.
      const routeConfigName = kind === 'https' ? `https.${port}.${server.port.name ?? index}.${gateway.name}.${gateway.namespace}` : `http.${port}`;
      let entry = byRoute.get(routeConfigName);
      if (!entry) {
        let tls: GatewayServerTls | undefined;
        if (kind === 'https') {
          let claims = sniByPort.get(port);
          if (!claims) sniByPort.set(port, (claims = { names: new Map(), any: undefined }));
          tls = claimSni(ctx, claims, gatewayServerTls(gateway, server, index));
          if (!tls) return;
        }
        entry = { port, routeConfigName, vhosts: [], ...(tls ? { tls } : {}) };
        byRoute.set(routeConfigName, entry);
      }
      for (const vs of virtualServices) {
        if (!virtualServiceGateways(vs).includes(gatewayName)) continue;
        if (!visibleTo(vs.spec.exportTo, vs.namespace, gateway.namespace)) continue;
        const hosts = new Set<string>();
        for (const vsHost of vs.spec.hosts ?? []) {
          const resolved = resolveHost(vsHost, vs.namespace, ctx.domainSuffix);
          for (const serverHost of server.hosts ?? []) {
            const admitted = serverHostAdmits(serverHost, gateway.namespace, vs.namespace);
            if (!admitted) continue;
            const host = hostIntersection(admitted.host, resolved);
            if (host) hosts.add(host);
          }
        }
        if (hosts.size === 0) continue;
        const routes = buildVirtualServiceRoutes(ctx, vs, { gateway: gatewayName, port, proxy, proxyless: false });
        for (const host of [...hosts].sort()) {
          const key = `${routeConfigName}|${host}`;
          const existing = merged.get(key);
          if (existing) {
            // Two servers of one port may admit the same VirtualService for the same host: its routes once.
            if (existing.sources.has(vs)) continue;
            existing.sources.add(vs);
            existing.entry.vhost.routes = catchAllLast([...existing.entry.vhost.routes, ...routes]);
            if (server.tls?.httpsRedirect) existing.entry.vhost.require_tls = 'ALL';
            continue;
          }
          const sourced: SourcedVirtualHost = {
            source: { kind: 'VirtualService', name: vs.name, namespace: vs.namespace },
            vhost: {
              name: `${host}:${port}`,
              domains: gatewayDomains(host),
              routes: catchAllLast(routes),
              ...(server.tls?.httpsRedirect ? { require_tls: 'ALL' as const } : {}),
            },
          };
          merged.set(key, { entry: sourced, sources: new Set([vs]) });
          entry.vhosts.push(sourced);
        }
      }
    });
  }
  return [...byRoute.values()].sort((a, b) => a.port - b.port || a.routeConfigName.localeCompare(b.routeConfigName));
}

/** The SNI names already taken on one port by earlier terminating servers (`any`: a server with host `*`). */
interface SniClaims {
  names: Map<string, string>;
  any: string | undefined;
}

/**
 * Envoy refuses a listener whose filter chains match the same SNI twice, so (as Istio's gateway merge
 * keeps the first server for a host) a later server loses the names an earlier one on its port took;
 * one that keeps none is skipped and reported.
 */
function claimSni(ctx: TranslationContext, claims: SniClaims, tls: GatewayServerTls): GatewayServerTls | undefined {
  const { gateway, index } = tls.where;
  const owner = `Gateway ${gateway.namespace}/${gateway.name} spec.servers[${index}]`;
  const report = (message: string): void => ctx.problems.add(problemAt({ kind: 'Gateway', name: gateway.name, namespace: gateway.namespace }, 'warning', 'invalid-config', `spec.servers[${index}].hosts`, message));
  if (tls.serverNames.length === 0) {
    if (claims.any !== undefined) {
      report(`hosts "*" on port ${tls.where.gateway.spec.servers?.[index]?.port.number} are already served by ${claims.any}; this server is skipped. Give each HTTPS server of a port its own hosts.`);
      return undefined;
    }
    claims.any = owner;
    return tls;
  }
  const kept = tls.serverNames.filter((name) => !claims.names.has(name));
  const taken = tls.serverNames.filter((name) => claims.names.has(name));
  if (taken.length > 0) {
    report(`${taken.map((name) => `${name} (${claims.names.get(name)})`).join(', ')} already terminate TLS on this port; ` +
      `${kept.length > 0 ? 'this server keeps the other hosts' : 'this server is skipped'}. Give each HTTPS server of a port its own hosts.`);
  }
  if (kept.length === 0) return undefined;
  for (const name of kept) claims.names.set(name, owner);
  return { ...tls, serverNames: kept };
}

/** Analyzer check: Gateway servers this mesh cannot serve. */
export function checkGatewayServers(ctx: TranslationContext): void {
  for (const gateway of ctx.gateways) (gateway.spec.servers ?? []).forEach((server, i) => serverKind(ctx, gateway, server, i));
}

/**
 * Analyzer check (Istio's gateway secret analyzer): every credentialName of a terminating server must
 * name a usable Secret in the namespace of the gateway pods the Gateway selects (the Gateway's own
 * namespace when it selects none), as only those Secrets are served to those pods.
 */
export function checkGatewayCredentials(ctx: TranslationContext, credentials: readonly GatewayCredential[], endpoints: readonly MeshEndpoint[]): void {
  for (const gateway of ctx.gateways) {
    const selector = gateway.spec.selector ?? {};
    const podNamespaces = new Set(endpoints.filter((e) => labelsMatch(selector, e.labels)).map((e) => e.namespace));
    const namespaces = podNamespaces.size > 0 ? [...podNamespaces].sort() : [gateway.namespace];
    (gateway.spec.servers ?? []).forEach((server, index) => {
      const mode = server.tls?.mode ?? 'PASSTHROUGH';
      if ((server.port?.protocol ?? '').toUpperCase() !== 'HTTPS' || mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH' || terminationProblem(server)) return;
      const { sdsNames } = gatewayServerTls(gateway, server, index);
      for (const namespace of namespaces) {
        for (const [sdsName, why] of gatewaySecrets(credentials, namespace, sdsNames).missing) {
          const exists = credentials.some((c) => c.namespace === namespace && c.name === server.tls?.credentialName);
          ctx.problems.add(problemAt({ kind: 'Gateway', name: gateway.name, namespace: gateway.namespace }, 'error', exists ? 'invalid-credential' : 'unknown-credential', `spec.servers[${index}].tls.credentialName`,
            `${sdsName} cannot be served to the gateway pods in namespace ${namespace}: ${why}. Until it can, their listener on port ${server.port.number} stays warming ` +
              `(Envoy starts it without this certificate after 15 s). Create it: kubectl create -n ${namespace} secret tls ${server.tls?.credentialName ?? ''} --cert=... --key=...` +
              (sdsName.endsWith(CA_CERT_SUFFIX) ? ' (and the CA as key ca.crt, or a Secret named ...-cacert)' : '') + '.'));
        }
      }
    });
  }
}

/** Analyzer check: VirtualService gateways that name no Gateway. */
export function checkGatewayReferences(ctx: TranslationContext): void {
  const known = new Set(ctx.gateways.map((g) => `${g.namespace}/${g.name}`));
  for (const vs of ctx.virtualServices) {
    (vs.spec.gateways ?? []).forEach((g, i) => {
      const resolved = virtualServiceGateways({ ...vs, spec: { gateways: [g] } })[0];
      if (resolved === 'mesh' || known.has(resolved)) return;
      ctx.problems.add(problemAt({ kind: 'VirtualService', name: vs.name, namespace: vs.namespace }, 'error', 'unknown-gateway', `spec.gateways[${i}]`,
        `gateway "${g}" (resolved to ${resolved}) does not exist; apply the Gateway or write "<namespace>/<name>" for one in another namespace.`));
    });
  }
}
