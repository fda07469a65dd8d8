// Picking the cluster of a forward action: a single cluster, or weighted_clusters by weight / total.

import type { ClusterSpecifier, HeaderMutations } from '../model/route.js';
import { NO_HEADER_MUTATIONS } from '../model/route.js';

export function pickCluster(spec: ClusterSpecifier, random: () => number): { name: string; headers: HeaderMutations } {
  if (spec.kind === 'cluster') return { name: spec.name, headers: NO_HEADER_MUTATIONS };
  let r = random() * spec.totalWeight;
  for (const c of spec.clusters) {
    if (r < c.weight) return { name: c.name, headers: c.headers };
    r -= c.weight;
  }
  // Floating point edge (r == total): the last cluster with weight.
  const last = [...spec.clusters].reverse().find((c) => c.weight > 0) ?? spec.clusters[spec.clusters.length - 1];
  return { name: last.name, headers: last.headers };
}
