// The VirtualService side of a canary, pure: which http routes a Canary owns, the weighted route it
// writes, the JSON patch that writes it (guarded by a `test` of the route it read, on exactly that
// path), and how a live route compares with what the controller wrote (a human edit, or its own
// unfinished write).
//
// Exports: hostMatches, ownedRouteIndexes, weightedRoute, routeWeights, sameWeights, routePatch,
// compareLive (-> LiveRouteState), describeEdit, routeLabel.
import type { HTTPRouteDestination } from '../config/istio-types.js';
import type { RouteRef, RouteSnapshot } from '../config/canary/types.js';

/** A JSON patch operation (RFC 6902), the subset the controller sends. */
export type JsonPatchOp = { op: 'test' | 'replace'; path: string; value: unknown };

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** `helloworld` -> `helloworld.<ns>.svc.cluster.local`; `a.b` -> `a.b.svc.cluster.local`; an FQDN as written. */
function fqdn(host: string, namespace: string): string {
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

/** Whether a destination host names `host`, as Istio resolves short names in the VirtualService's namespace. */
export function hostMatches(destinationHost: string, host: string, namespace: string): boolean {
  return fqdn(destinationHost, namespace) === fqdn(host, namespace);
}

/** Indexes of spec.http whose destinations all go to `host` (routes with redirects, delegates or no destination are not ours). */
export function ownedRouteIndexes(vsSpec: unknown, host: string, namespace: string): number[] {
  const http = record(vsSpec)?.http;
  if (!Array.isArray(http)) return [];
  const owned: number[] = [];
  http.forEach((raw, i) => {
    const route = record(raw)?.route;
    if (!Array.isArray(route) || route.length === 0) return;
    const allOurs = route.every((d) => {
      const h = record(record(d)?.destination)?.host;
      return typeof h === 'string' && hostMatches(h, host, namespace);
    });
    if (allOurs) owned.push(i);
  });
  return owned;
}

/**
 * The two-way split: baseline 100-w, canary w, each with the destination (port and other fields) and the
 * entry's other fields (headers) of the stable route's first destination; both entries are always there
 * (weight 0 included) so the owned paths never change shape.
 */
export function weightedRoute(stable: readonly unknown[], baseline: string, canary: string, canaryWeight: number): HTTPRouteDestination[] {
  const first = (record(stable[0]) ?? {}) as unknown as HTTPRouteDestination;
  const { weight: _weight, destination, ...rest } = first;
  const entry = (subset: string, weight: number): HTTPRouteDestination => ({ ...structuredClone(rest), destination: { ...structuredClone(destination), subset }, weight });
  return [entry(baseline, 100 - canaryWeight), entry(canary, canaryWeight)];
}

/**
 * Weight per subset of a route array (`(none)` for a destination without a subset); a lone destination
 * without a weight has 100, as Istio reads it. Undefined when an entry is not a destination.
 */
export function routeWeights(route: readonly unknown[]): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const raw of route) {
    const destination = record(record(raw)?.destination);
    if (!destination) return undefined;
    const subset = typeof destination.subset === 'string' ? destination.subset : '(none)';
    const weight = record(raw)?.weight;
    out[subset] = (out[subset] ?? 0) + (typeof weight === 'number' ? weight : route.length === 1 ? 100 : 0);
  }
  return out;
}

export function sameWeights(a: Record<string, number> | undefined, b: Record<string, number> | undefined): boolean {
  if (!a || !b) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  return true;
}

/** The write of one owned route: a `test` of the route as read, then its replacement; nothing else is touched. */
export function routePatch(routeIndex: number, live: readonly unknown[], desired: readonly unknown[]): JsonPatchOp[] {
  const path = `/spec/http/${routeIndex}/route`;
  return [
    { op: 'test', path, value: live },
    { op: 'replace', path, value: desired },
  ];
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * How a live route stands against the status: `applied` (what the controller wrote last, or the stable
 * route before its first write), `candidate` (the weights the controller was about to write: its own
 * write that the status does not record yet, e.g. after a kill), `stable` (the route as the user wrote
 * it), or `edited` by someone else.
 */
export type LiveRouteState = 'applied' | 'candidate' | 'stable' | 'edited';

export function compareLive(live: readonly unknown[] | undefined, snapshot: RouteSnapshot, candidate?: Record<string, number>): LiveRouteState {
  if (!live) return 'edited';
  const weights = routeWeights(live);
  if (snapshot.applied ? sameWeights(weights, snapshot.applied) : sameJson(live, snapshot.stable)) return 'applied';
  if (candidate && sameWeights(weights, candidate)) return 'candidate';
  if (sameJson(live, snapshot.stable)) return 'stable';
  return 'edited';
}

/** `cluster-2 VirtualService sample/helloworld http[0]`. */
export function routeLabel(ref: RouteRef, namespace: string): string {
  return `${ref.cluster} VirtualService ${namespace}/${ref.virtualService} http[${ref.routeIndex}]`;
}

function formatWeights(w: Record<string, number> | undefined): string {
  if (!w) return 'not a list of destinations';
  return Object.entries(w)
    .map(([subset, weight]) => `${subset}=${weight}`)
    .join(', ');
}

/** The ManualWeightChange message: where, what is live, what the controller wrote. */
export function describeEdit(ref: RouteRef, namespace: string, live: readonly unknown[] | undefined, snapshot: RouteSnapshot): string {
  const where = routeLabel(ref, namespace);
  if (!live) return `${where} is gone (the VirtualService or the route was removed); the controller wrote ${formatWeights(snapshot.applied)}`;
  const expected = snapshot.applied ? formatWeights(snapshot.applied) : `the stable route (${formatWeights(routeWeights(snapshot.stable))})`;
  return `${where} has weights ${formatWeights(routeWeights(live))}, the controller wrote ${expected}`;
}
