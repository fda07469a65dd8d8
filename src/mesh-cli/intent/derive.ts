// The split a request should get, by Istio's rules, from the applied config. From a sidecar: the
// service the Host header names, the VirtualService a sidecar uses for it, the first of its http routes
// that matches (none: the service's default route). From an ingress gateway pod: the routes of the
// Gateway-bound VirtualServices (gateway.ts). Then the route's destinations and relative weights, each
// subset resolved through the DestinationRule that applies, each destination's share spread evenly
// over its ready endpoints (Envoy's default balancers). A destination that cannot be reached (unknown
// host, port or subset, no ready endpoint) is a share that fails with 503.

import type { Subset, VirtualService } from '../../config/istio-types.js';
import { compareByCreation, type IstioObject, type MeshServicePort } from '../../registry/model.js';
import { destinationRuleFor, policyEffects } from './destination-rules.js';
import { gatewayRoutes } from './gateway.js';
import { Underivable, type DerivedIntent, type Intent, type IntentDestination, type IntentEndpoint, type IntentInput } from './model.js';
import { exportedTo, hostPatternMatches, hostSpecificity, isHttpPort, qualifyHost, selects, splitHostHeader } from './names.js';
import { firstMatching, routeEffects, routeEntries, routeLabel, weightsOf, type RouteEntry } from './routes.js';
import { endpointsOf, portKey, ServiceCatalog, type CatalogService } from './services.js';

const pct = (share: number): string => `${Number((share * 100).toFixed(1))}%`;

/**
 * Istio's order of the VirtualServices a sidecar sees: private to its namespace, then exported to it
 * by name, then public; each oldest first. The first to claim a host keeps it.
 */
function visibility(vs: IstioObject<VirtualService>, clientNamespace: string): number | undefined {
  const exportTo = vs.spec.exportTo ?? [];
  if (exportTo.length === 0 || exportTo.includes('*')) return 2;
  if (exportTo.includes('.') && vs.namespace === clientNamespace) return 0;
  if (exportTo.includes(clientNamespace)) return 1;
  return exportedTo(exportTo, vs.namespace, clientNamespace) ? 2 : undefined;
}

/** The VirtualService a sidecar uses for `hostname`: an exact host first, else the most specific wildcard. */
export function meshVirtualServiceFor(
  virtualServices: readonly IstioObject<VirtualService>[],
  hostname: string,
  clientNamespace: string,
  domainSuffix: string,
): IstioObject<VirtualService> | undefined {
  const ordered = virtualServices
    .filter((vs) => (vs.spec.gateways ?? []).length === 0 || (vs.spec.gateways ?? []).includes('mesh'))
    .map((vs) => ({ vs, tier: visibility(vs, clientNamespace) }))
    .filter((c): c is { vs: IstioObject<VirtualService>; tier: number } => c.tier !== undefined)
    .sort((a, b) => a.tier - b.tier || compareByCreation(a.vs, b.vs))
    .map(({ vs }) => ({ vs, hosts: (vs.spec.hosts ?? []).map((h) => qualifyHost(h, vs.namespace, domainSuffix)).filter((h) => h !== '*') }));
  const exact = ordered.find((c) => c.hosts.includes(hostname));
  if (exact) return exact.vs;
  let best: { vs: IstioObject<VirtualService>; specificity: number } | undefined;
  for (const c of ordered) {
    for (const h of c.hosts) {
      if (!h.startsWith('*') || !hostPatternMatches(h, hostname)) continue;
      const specificity = hostSpecificity(h, hostname);
      if (!best || specificity > best.specificity) best = { vs: c.vs, specificity };
    }
  }
  return best?.vs;
}

interface Target {
  host: string;
  subset?: string;
  /** Port given in the destination, if any. */
  port?: number;
}

interface Context {
  input: IntentInput;
  catalog: ServiceCatalog;
  domainSuffix: string;
  rootNamespace: string;
  requestPort: number;
  rulesUsed: Set<string>;
  notes: string[];
}

/** One destination's endpoints and share, or why its share fails. */
function resolveTarget(ctx: Context, target: Target, weight: number, share: number): { destination: IntentDestination; endpoints: IntentEndpoint[] } {
  const fail = (port: number | undefined, failure: string) => ({
    destination: { host: target.host, ...(port !== undefined ? { port } : {}), ...(target.subset ? { subset: target.subset } : {}), weight, share, endpoints: 0, failure },
    endpoints: [],
  });
  const service = ctx.catalog.get(target.host);
  if (!service) return fail(target.port, `no service ${target.host} in the mesh`);
  const port = resolvePort(service, target.port, ctx.requestPort);
  if (!port) return fail(target.port ?? ctx.requestPort, `service ${target.host} has no port ${target.port ?? ctx.requestPort}`);
  const rule = destinationRuleFor(ctx.input.config.destinationRules, service.hostname, {
    clientNamespace: ctx.input.source.namespace,
    serviceNamespace: service.namespace,
    rootNamespace: ctx.rootNamespace,
    domainSuffix: ctx.domainSuffix,
  });
  let subset: Subset | undefined;
  if (target.subset) {
    if (!rule) return fail(port.port, `subset ${target.subset} of ${target.host}: no DestinationRule applies to that host`);
    const ruleName = rule.names.join(', ');
    ctx.rulesUsed.add(ruleName);
    subset = rule.subsets.find((s) => s.name === target.subset);
    if (!subset) return fail(port.port, `subset ${target.subset} is not defined in DestinationRule ${ruleName} (it defines ${rule.subsets.map((s) => s.name).join(', ') || 'none'})`);
  }
  ctx.notes.push(...policyEffects(rule, port.port, subset));
  const all = endpointsOf(service, port, (labels) => selects(subset?.labels, labels));
  const ready = all.filter((e) => e.ready);
  const label = `${service.hostname}:${port.port}${target.subset ? ` subset ${target.subset}` : ''}`;
  if (ready.length < all.length) ctx.notes.push(`${label}: ${all.length - ready.length} of ${all.length} endpoints are not ready and get no traffic`);
  if (ready.length === 0) return fail(port.port, all.length === 0 ? `${label} has no endpoints` : `${label} has no ready endpoints`);
  const key = portKey(port);
  const endpoints = ready.map((e) => {
    const version = e.labels.version ?? target.subset;
    return {
      address: `${e.address}:${e.ports[key]}`,
      ...(e.cluster ? { memberCluster: e.cluster } : {}),
      ...(e.pod ? { pod: e.pod } : {}),
      ...(version ? { version } : {}),
      share: share / ready.length,
      destination: label,
    };
  });
  return {
    destination: { host: service.hostname, port: port.port, ...(target.subset ? { subset: target.subset } : {}), weight, share, endpoints: ready.length },
    endpoints,
  };
}

/** Istio's destination port: as given; else the service's only port; else the port the request was sent to. */
function resolvePort(service: CatalogService, given: number | undefined, requestPort: number): MeshServicePort | undefined {
  if (given !== undefined) return service.ports.find((p) => p.port === given);
  if (service.ports.length === 1) return service.ports[0];
  return service.ports.find((p) => p.port === requestPort);
}

export function deriveIntent(input: IntentInput): Intent {
  const domainSuffix = input.domainSuffix ?? 'cluster.local';
  const notes: string[] = [];
  try {
    return derive(input, domainSuffix, notes);
  } catch (err) {
    if (err instanceof Underivable) return { derived: false, reason: err.message, notes };
    throw err;
  }
}

/** What the proxy's route table does with the request before destinations are resolved. */
interface Routing {
  entry: string;
  virtualService?: string;
  /** The route taken; undefined with `defaultTarget` or when nothing matches. */
  route?: RouteEntry;
  /** The service's default route (a sidecar, no VirtualService route for this client). */
  defaultTarget?: Target;
}

function sidecarRouting(input: IntentInput, catalog: ServiceCatalog, hostName: string, port: number, domainSuffix: string, notes: string[]): Routing {
  const service = catalog.forHostName(hostName);
  if (!service) throw new Underivable(`no service in the mesh answers to Host ${input.request.host} from namespace ${input.source.namespace}`);
  const servicePort = service.ports.find((p) => p.port === port);
  if (!servicePort) throw new Underivable(`service ${service.hostname} has no port ${port} (it has ${service.ports.map((p) => p.port).join(', ') || 'none'})`);
  if (!isHttpPort(servicePort)) throw new Underivable(`port ${port} of ${service.hostname} is not HTTP (${servicePort.appProtocol ?? servicePort.name}): the sidecar does not route its requests`);
  const entry = `${service.hostname}:${port}`;
  const defaultTarget = { host: service.hostname, port };
  const vs = meshVirtualServiceFor(input.config.virtualServices, service.hostname, input.source.namespace, domainSuffix);
  if (!vs) return { entry, defaultTarget };
  const entries = routeEntries(vs, { source: input.source, port, gateway: 'mesh' });
  if (entries.length === 0) {
    // Pilot builds no virtual host from a VirtualService without routes for this proxy: the service's default one stands.
    notes.push(`VirtualService ${vs.namespace}/${vs.name} has no route for this client (its matches name other sources, gateways or ports): the service's default route applies`);
    return { entry, defaultTarget };
  }
  const route = firstMatching(entries, input);
  return { entry, virtualService: `${vs.namespace}/${vs.name}`, ...(route ? { route } : {}) };
}

function gatewayRouting(input: IntentInput, hostName: string, port: number, domainSuffix: string): Routing {
  const routes = gatewayRoutes(input, hostName, port, domainSuffix);
  const route = firstMatching(routes.entries, input);
  return {
    entry: `Gateway ${routes.gateways.join(', ')} port ${port}`,
    ...(routes.virtualServices.length > 0 ? { virtualService: routes.virtualServices.join(', ') } : {}),
    ...(route ? { route } : {}),
  };
}

function derive(input: IntentInput, domainSuffix: string, notes: string[]): DerivedIntent {
  const { hostname: hostName, port: requestPort } = splitHostHeader(input.request.host);
  const catalog = new ServiceCatalog(input.services, input.endpoints, input.config.serviceEntries ?? [], input.source.namespace);
  const ctx: Context = { input, catalog, domainSuffix, rootNamespace: input.rootNamespace ?? 'istio-system', requestPort, rulesUsed: new Set(), notes };
  const routing = input.source.gateway ? gatewayRouting(input, hostName, requestPort, domainSuffix) : sidecarRouting(input, catalog, hostName, requestPort, domainSuffix, notes);
  const head = { derived: true as const, entry: routing.entry, ...(routing.virtualService ? { virtualService: routing.virtualService } : {}) };

  let targets: Array<{ target: Target; weight: number }>;
  if (routing.defaultTarget) {
    targets = [{ target: routing.defaultTarget, weight: 100 }];
  } else if (routing.route) {
    const { vs, http } = routing.route;
    const where = `VirtualService ${vs.namespace}/${vs.name} ${routeLabel(routing.route)}`;
    notes.push(...routeEffects(http, where));
    const destinations = http.route ?? [];
    const weights = weightsOf(destinations, where);
    targets = destinations.map((d, i) => ({
      target: {
        host: qualifyHost(d.destination?.host ?? '', vs.namespace, domainSuffix),
        ...(d.destination?.subset ? { subset: d.destination.subset } : {}),
        ...(d.destination?.port?.number !== undefined ? { port: d.destination.port.number } : {}),
      },
      weight: weights[i],
    }));
  } else {
    const which = routing.virtualService ? `of VirtualService ${routing.virtualService}` : `for ${routing.entry}`;
    notes.push(`no route ${which} matches ${input.request.host}${input.request.path}: the ${input.source.gateway ? 'gateway' : 'sidecar'} answers 404`);
    return { ...head, destinationRules: [], destinations: [], endpoints: [], failShare: 1, notes };
  }

  const total = targets.reduce((sum, t) => sum + t.weight, 0);
  const destinations: IntentDestination[] = [];
  const endpoints: IntentEndpoint[] = [];
  let failShare = 0;
  for (const { target, weight } of targets) {
    const share = targets.length === 1 ? 1 : weight / total;
    if (share === 0) {
      destinations.push({ host: target.host, ...(target.subset ? { subset: target.subset } : {}), ...(target.port !== undefined ? { port: target.port } : {}), weight, share: 0, endpoints: 0 });
      continue;
    }
    const resolved = resolveTarget(ctx, target, weight, share);
    destinations.push(resolved.destination);
    endpoints.push(...resolved.endpoints);
    if (resolved.destination.failure) {
      failShare += share;
      notes.push(`${resolved.destination.failure}: its ${pct(share)} of requests fail with 503`);
    }
  }
  return {
    ...head,
    ...(routing.route ? { route: routeLabel(routing.route) } : {}),
    destinationRules: [...ctx.rulesUsed],
    destinations,
    endpoints,
    failShare,
    notes,
  };
}
