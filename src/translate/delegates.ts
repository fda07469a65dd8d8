// Delegate VirtualServices, merged as Istio merges them (pilot/pkg/model/virtualservice.go,
// MergeHTTPRoutes): a root route with `delegate` is replaced by the delegate's routes, each with the
// root's match conditions merged into its own and the root's rewrite, timeout, retries, fault,
// mirror(s), corsPolicy, headers and directResponse where the delegate route has none. A delegate has
// no hosts, is looked up by name (in the root's namespace unless one is given), must be exported to the
// root's namespace, and cannot delegate further (one level). A delegate route whose matches conflict
// with the root's (not a subset of them) is dropped, as Istio drops it; each of these is reported.

import type { HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService } from '../config/istio-types.js';
import type { IstioObject } from '../registry/model.js';
import { resolveHost, visibleTo } from './names.js';
import { problemAt, type ConfigRef, type ProblemLog } from '../config/problems.js';

/** One http route to translate, with where it came from (for problems and for resolving short names). */
export interface RouteUnit {
  http: HTTPRoute;
  /** The route's path in its own object, e.g. 'spec.http[2]'. */
  field: string;
  /** The object problems about this route name: the root, or the delegate the route came from. */
  ref: ConfigRef;
  /** The default route name: '<ns>/<root>/http[i]', plus '/<ns>/<delegate>/http[k]' for a delegate's route. */
  name: string;
}

const refOf = (vs: IstioObject<VirtualService>): ConfigRef => ({ kind: 'VirtualService', name: vs.name, namespace: vs.namespace });

/** The root's http routes with every delegation expanded (or left out, reported). */
export function expandDelegates(
  root: IstioObject<VirtualService>,
  all: readonly IstioObject<VirtualService>[],
  domainSuffix: string,
  problems: ProblemLog,
): RouteUnit[] {
  const out: RouteUnit[] = [];
  (root.spec.http ?? []).forEach((http, i) => {
    const field = `spec.http[${i}]`;
    const name = `${root.namespace}/${root.name}/http[${i}]`;
    if (!http.delegate) {
      out.push({ http, field, ref: refOf(root), name });
      return;
    }
    const warn = (message: string): void =>
      problems.add(problemAt(refOf(root), 'warning', 'invalid-delegate', `${field}.delegate`, `${message} This route is left out, as Istio leaves it out.`));
    const delegateName = http.delegate.name ?? '';
    const delegateNamespace = http.delegate.namespace || root.namespace;
    if (http.route?.length || http.redirect) {
      return warn('a root route with delegate must not have route or redirect: the delegate\'s routes say where requests go.');
    }
    const delegate = all.find((v) => v.name === delegateName && v.namespace === delegateNamespace);
    if (!delegate) return warn(`delegate VirtualService ${delegateNamespace}/${delegateName} does not exist.`);
    if ((delegate.spec.hosts ?? []).length > 0) {
      return warn(`VirtualService ${delegateNamespace}/${delegateName} has hosts, so it is not a delegate (a delegate has no hosts and no gateways); remove its hosts.`);
    }
    if (!visibleTo(delegate.spec.exportTo, delegate.namespace, root.namespace)) {
      return warn(`delegate VirtualService ${delegateNamespace}/${delegateName} is not exported to namespace ${root.namespace}; add it to the delegate's exportTo.`);
    }
    const rootMatches = resolveGatewaysIn(http.match ?? [], root.namespace);
    (delegate.spec.http ?? []).forEach((leaf, k) => {
      const leafField = `spec.http[${k}]`;
      if (leaf.delegate) {
        problems.add(problemAt(refOf(delegate), 'error', 'invalid-delegate', `${leafField}.delegate`,
          'a delegate VirtualService cannot delegate again (Istio allows one level); this route is left out.'));
        return;
      }
      const resolved = resolveShortNames(leaf, delegate.namespace, domainSuffix);
      const matches = mergeMatches(rootMatches, resolveGatewaysIn(resolved.match ?? [], delegate.namespace));
      if (!matches) {
        problems.add(problemAt(refOf(delegate), 'warning', 'invalid-delegate', `${leafField}.match`,
          `its matches are not within those of the root route ${root.namespace}/${root.name} ${field} that delegates to it ` +
            '(Istio drops a delegate route that conflicts with its root: a different exact value, a prefix outside the root\'s, a regex on either side, another port); this route is left out.'));
        return;
      }
      out.push({ http: mergeRoute(http, resolved, matches), field: leafField, ref: refOf(delegate), name: `${name}/${delegate.namespace}/${delegate.name}/http[${k}]` });
    });
  });
  return out;
}

/** Istio's mergeHTTPRoute: the delegate's fields, the root's where the delegate has none. */
function mergeRoute(root: HTTPRoute, leaf: HTTPRoute, match: HTTPMatchRequest[]): HTTPRoute {
  const out: HTTPRoute = { ...leaf, match };
  if (match.length === 0) delete out.match;
  if (!leaf.name) out.name = root.name;
  else if (root.name) out.name = `${root.name}-${leaf.name}`;
  if (out.name === undefined) delete out.name;
  for (const key of ['rewrite', 'directResponse', 'timeout', 'retries', 'fault', 'mirror', 'mirrorPercentage', 'corsPolicy', 'mirrors', 'headers'] as const) {
    if (out[key] === undefined && root[key] !== undefined) (out as Record<string, unknown>)[key] = root[key];
  }
  return out;
}

/** Istio's mergeHTTPMatchRequests; undefined on a conflict. */
function mergeMatches(root: HTTPMatchRequest[], leaf: HTTPMatchRequest[]): HTTPMatchRequest[] | undefined {
  if (root.length === 0) return leaf;
  if (leaf.length === 0) return root;
  const out: HTTPMatchRequest[] = [];
  for (const sub of leaf) {
    let found = false;
    for (const r of root) {
      if (conflicts(r, sub)) continue;
      out.push(mergeMatch(r, sub));
      found = true;
    }
    if (!found) return undefined;
  }
  return out.length > 0 ? out : undefined;
}

function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  const out: HTTPMatchRequest = { ...leaf };
  if (!leaf.name) out.name = root.name;
  else if (root.name) out.name = `${root.name}-${leaf.name}`;
  for (const key of ['uri', 'scheme', 'method', 'authority', 'sourceNamespace'] as const) {
    if (out[key] === undefined) (out as Record<string, unknown>)[key] = root[key];
  }
  if (!out.port) out.port = root.port;
  if (!out.gateways || out.gateways.length === 0) out.gateways = root.gateways;
  for (const key of ['headers', 'withoutHeaders', 'queryParams', 'sourceLabels'] as const) {
    if (root[key] || leaf[key]) (out as Record<string, unknown>)[key] = { ...root[key], ...leaf[key] };
  }
  for (const key of Object.keys(out) as (keyof HTTPMatchRequest)[]) if (out[key] === undefined) delete out[key];
  return out;
}

/** Istio's hasConflict: can the leaf's conditions hold only where the root's do? */
function conflicts(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  for (const key of ['uri', 'scheme', 'method', 'authority'] as const) if (stringMatchConflict(root[key], leaf[key])) return true;
  for (const key of ['headers', 'withoutHeaders', 'queryParams'] as const) {
    for (const [name, value] of Object.entries(leaf[key] ?? {})) if (stringMatchConflict(root[key]?.[name], value)) return true;
  }
  if (Boolean(root.ignoreUriCase) !== Boolean(leaf.ignoreUriCase)) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) if (root.sourceLabels?.[k] !== undefined && root.sourceLabels[k] !== v) return true;
  if (root.gateways?.length && leaf.gateways?.length) {
    if (leaf.gateways.some((g) => !root.gateways!.includes(g))) return true;
  }
  return false;
}

function stringMatchConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  if (root.regex && (leaf.regex || leaf.prefix || leaf.exact)) return true;
  if (leaf.regex && (root.regex || root.prefix || root.exact)) return true;
  if (root.exact) return Boolean(leaf.prefix) || leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}

/** Gateway names as 'namespace/name' (Istio resolves them in the object's own namespace before merging). */
function resolveGatewaysIn(matches: HTTPMatchRequest[], namespace: string): HTTPMatchRequest[] {
  return matches.map((m) => (m.gateways ? { ...m, gateways: m.gateways.map((g) => (g === 'mesh' || g.includes('/') ? g : `${namespace}/${g}`)) } : m));
}

/** Destination and mirror hosts of a delegate's route, resolved in the delegate's namespace (ResolveVirtualServiceShortnames). */
function resolveShortNames(http: HTTPRoute, namespace: string, domainSuffix: string): HTTPRoute {
  const host = (h: string): string => resolveHost(h, namespace, domainSuffix);
  const out: HTTPRoute = { ...http };
  if (http.route) out.route = http.route.map((d) => (d.destination ? { ...d, destination: { ...d.destination, host: host(d.destination.host) } } : d));
  if (http.mirror) out.mirror = { ...http.mirror, host: host(http.mirror.host) };
  if (http.mirrors) out.mirrors = http.mirrors.map((m) => (m.destination ? { ...m, destination: { ...m.destination, host: host(m.destination.host) } } : m));
  return out;
}
