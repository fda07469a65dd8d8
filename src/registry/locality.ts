// Where a workload runs, as Kubernetes and Istio label it.

import type { Locality } from './model.js';

export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const SUBZONE_LABEL = 'topology.istio.io/subzone';
/** Local clusters' nodes carry no topology labels: region `local`, and the zone is the cluster (the EndpointSlice zone). */
export const DEFAULT_REGION = 'local';

/** A pod's locality: its topology labels (Istio's override), else the zone of its node (`defaultZone`). */
export function podLocality(labels: Record<string, string>, defaultZone: string): Locality {
  const subZone = labels[SUBZONE_LABEL];
  return { region: labels[REGION_LABEL] ?? DEFAULT_REGION, zone: labels[ZONE_LABEL] ?? defaultZone, ...(subZone ? { subZone } : {}) };
}
