// A VirtualService's http routes as the proxy's route table holds them: one entry per match
// condition, in order, only the conditions that exist for this proxy, and none after the
// VirtualService's first catch-all (pilot stops there: nothing after it could match). The request
// takes the first entry that matches it.

import type { HTTPMatchRequest, HTTPRoute, HTTPRouteDestination, VirtualService } from '../../config/istio-types.js';
import type { IstioObject } from '../../registry/model.js';
import { appliesToProxy, matchesRequest, type ProxyScope } from './http-match.js';
import { Underivable, type IntentInput } from './model.js';

export interface RouteEntry {
  vs: IstioObject<VirtualService>;
  index: number;
  http: HTTPRoute;
  /** `{}` for a route without match conditions. */
  match: HTTPMatchRequest;
  matchIndex?: number;
}

/** Istio's catch-all: every path (no uri, prefix `/`, regex `.*`) and no other condition Envoy checks. */
export function isCatchAll(match: HTTPMatchRequest): boolean {
  const uri = match.uri;
  const everyPath = !uri || (uri.exact === undefined && uri.regex === undefined && (uri.prefix === undefined || uri.prefix === '/')) || uri.regex === '.*' || uri.regex === '*';
  const checksMore = [match.headers, match.withoutHeaders, match.queryParams].some((m) => m && Object.keys(m).length > 0) || !!match.method || !!match.authority || !!match.scheme;
  return everyPath && !checksMore;
}

/** The entries of one VirtualService for a proxy in `scope` (the mesh, or the Gateway it is used through). */
export function routeEntries(vs: IstioObject<VirtualService>, scope: Omit<ProxyScope, 'namespace'>): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const [index, http] of (vs.spec.http ?? []).entries()) {
    const matches: Array<{ match: HTTPMatchRequest; matchIndex?: number }> = http.match && http.match.length > 0 ? http.match.map((match, matchIndex) => ({ match, matchIndex })) : [{ match: {} }];
    for (const m of matches) {
      if (!appliesToProxy(m.match, { ...scope, namespace: vs.namespace })) continue;
      out.push({ vs, index, http, ...m });
      if (isCatchAll(m.match)) return out;
    }
  }
  return out;
}

export function firstMatching(entries: readonly RouteEntry[], input: IntentInput): RouteEntry | undefined {
  return entries.find((e) => matchesRequest(e.match, input.request, `VirtualService ${e.vs.namespace}/${e.vs.name} spec.http[${e.index}]${e.matchIndex !== undefined ? `.match[${e.matchIndex}]` : ''}`));
}

export function routeLabel(entry: RouteEntry): string {
  return entry.http.name ? `http[${entry.index}] (${entry.http.name})` : `http[${entry.index}]`;
}

/** What a route does besides choosing destinations: refused when it changes the answers, noted when not. */
export function routeEffects(http: HTTPRoute, where: string): string[] {
  if (http.delegate) throw new Underivable(`${where} delegates to another VirtualService (its routes merged into this one's): not modelled`);
  if (http.redirect) throw new Underivable(`${where} answers with a redirect, which curl does not follow: not modelled`);
  if (http.directResponse) throw new Underivable(`${where} answers directly (directResponse): not modelled`);
  if (http.fault?.abort) throw new Underivable(`${where} injects aborts (fault.abort): the share of failed requests is not modelled`);
  if (!http.route || http.route.length === 0) throw new Underivable(`${where} has no destinations`);
  const notes: string[] = [];
  if (http.fault?.delay) notes.push(`${where} delays requests (fault.delay): slow answers, same split`);
  if (http.mirror || (http.mirrors ?? []).length > 0) notes.push(`${where} mirrors requests: the copies' answers are discarded, the split is unchanged`);
  if (http.corsPolicy) notes.push(`${where} has a corsPolicy: CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) are answered by the proxy, other requests split as shown`);
  return notes;
}

/** Relative weights: a single destination takes everything; several share by weight (absent = 0). */
export function weightsOf(destinations: readonly HTTPRouteDestination[], where: string): number[] {
  if (destinations.length === 1) return [destinations[0].weight ?? 100];
  const weights = destinations.map((d) => d.weight ?? 0);
  if (weights.reduce((a, b) => a + b, 0) <= 0) throw new Underivable(`${where}: the weights of its ${destinations.length} destinations sum to 0 (Istio refuses this)`);
  return weights;
}
