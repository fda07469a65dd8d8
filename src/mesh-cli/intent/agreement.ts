// Does the sending proxy's config (its routes, clusters and endpoints, walked as Envoy would) give a
// request the split the applied config declares? Compared as fractions of all requests, the failing
// share included, per dimension an answer can tell (version, member cluster, instance).

import { endpointKey, type Shares, type SplitDimension } from '../expected-split.js';
import { declaredBy, type DerivedIntent } from './model.js';

/** The key of the failing share in compared shares. */
export const FAILING = 'failing';
const TOLERANCE = 1e-6;

export interface Agreement {
  agrees: boolean;
  /** The dimensions compared. */
  by: SplitDimension[];
  /** What differs, in words, when they do not agree. */
  finding?: string;
}

/** Fractions of all requests per category, with the failing share under FAILING. */
export function absoluteShares(split: Shares, by: SplitDimension): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of split.endpoints) {
    const key = endpointKey(e, by);
    out.set(key, (out.get(key) ?? 0) + e.share);
  }
  if (split.failShare > TOLERANCE) out.set(FAILING, split.failShare);
  return out;
}

export function sameShares(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return [...new Set([...a.keys(), ...b.keys()])].every((k) => Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0)) < TOLERANCE);
}

/** `v1=80% v2=20%`, sorted by name, the failing share last. */
export function formatShares(shares: ReadonlyMap<string, number>): string {
  const entries = [...shares].sort(([a], [b]) => Number(a === FAILING) - Number(b === FAILING) || a.localeCompare(b));
  return entries.map(([k, v]) => `${k}=${Number((v * 100).toFixed(1))}%`).join(' ') || '(nothing)';
}

export function compareWithIntent(intent: DerivedIntent, proxy: Shares, by: readonly SplitDimension[]): Agreement {
  for (const dimension of by) {
    const declared = absoluteShares(intent, dimension);
    const configured = absoluteShares(proxy, dimension);
    if (!sameShares(declared, configured)) {
      return {
        agrees: false,
        by: [...by],
        finding: `proxy config disagrees with the applied config: ${formatShares(configured)} in the proxy vs ${formatShares(declared)} declared by ${declaredBy(intent)}`,
      };
    }
  }
  return { agrees: true, by: [...by] };
}

/** The proxy's config cannot even route the request the applied config routes. */
export function proxyCannotRoute(intent: DerivedIntent, by: readonly SplitDimension[], why: string): Agreement {
  return {
    agrees: false,
    by: [...by],
    finding: `proxy config disagrees with the applied config: ${why} vs ${formatShares(absoluteShares(intent, by[0] ?? 'version'))} declared by ${declaredBy(intent)}`,
  };
}
