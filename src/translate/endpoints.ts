// ClusterLoadAssignments: the endpoints of every member cluster for one outbound cluster, grouped by
// locality, with health from readiness.

import type { MeshEndpoint } from '../registry/model.js';
import type { ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints } from './envoy-types.js';
import { labelsMatch } from './names.js';

/** Endpoints of every member cluster for one service port and subset, grouped by locality. */
export function loadAssignment(
  clusterName: string,
  endpoints: readonly MeshEndpoint[],
  portKey: string,
  subsetLabels: Record<string, string> | undefined,
): ClusterLoadAssignment {
  const byLocality = new Map<string, { region: string; zone: string; endpoints: LbEndpoint[]; healthy: number }>();
  const selected = endpoints
    .filter((e) => e.ports[portKey] !== undefined && labelsMatch(subsetLabels, e.labels))
    .sort((a, b) => a.address.localeCompare(b.address, undefined, { numeric: true }) || a.cluster.localeCompare(b.cluster));
  for (const e of selected) {
    const key = `${e.locality.region}/${e.locality.zone}`;
    let group = byLocality.get(key);
    if (!group) {
      group = { region: e.locality.region, zone: e.locality.zone, endpoints: [], healthy: 0 };
      byLocality.set(key, group);
    }
    if (e.ready) group.healthy += e.weight ?? 1;
    group.endpoints.push({
      endpoint: { address: { socket_address: { address: e.address, port_value: e.ports[portKey] } } },
      health_status: e.ready ? 'HEALTHY' : 'UNHEALTHY',
      metadata: { filter_metadata: { istio: { fields: { cluster: { string_value: e.cluster } } } } },
      load_balancing_weight: { value: e.weight ?? 1 },
    });
  }
  const localities: LocalityLbEndpoints[] = [...byLocality.keys()].sort().map((key) => {
    const g = byLocality.get(key)!;
    // Locality weight = the healthy endpoints' weights (their count when unweighted), so every endpoint gets its share across
    // localities (gRPC always weighs localities); Envoy requires weights >= 1.
    return { locality: { region: g.region, zone: g.zone }, lb_endpoints: g.endpoints, load_balancing_weight: { value: Math.max(1, g.healthy) } };
  });
  return { cluster_name: clusterName, endpoints: localities };
}
