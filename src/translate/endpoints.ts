// ClusterLoadAssignments: the endpoints of every member cluster for one outbound cluster, grouped by
// locality, with health from readiness, and priorities and weights from locality load balancing.

import type { MeshEndpoint } from '../registry/model.js';
import type { ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints } from './envoy-types.js';
import { applyLocalityLb, endpointSelectorLabels, type LocalityGroup, type LocalityLbPlan, type ProxyTopology } from './locality-lb.js';
import { labelsMatch } from './names.js';
import { ISTIO_TLS_MODE_METADATA } from './tls-context.js';

/** Locality load balancing for one proxy: the plan and where the proxy runs. */
export interface LocalityLbInput {
  plan: LocalityLbPlan;
  proxy: ProxyTopology;
}

/** Whether an endpoint, on its target port, takes its cluster's mesh mTLS socket (tlsMode istio). */
export type EndpointTls = (endpoint: MeshEndpoint, targetPort: number) => boolean;

/** Endpoints of every member cluster for one service port and subset, grouped by locality. */
export function loadAssignment(
  clusterName: string,
  endpoints: readonly MeshEndpoint[],
  portKey: string,
  subsetLabels: Record<string, string> | undefined,
  localityLb?: LocalityLbInput,
  istioTls?: EndpointTls,
): ClusterLoadAssignment {
  const byLocality = new Map<string, LocalityGroup>();
  const selected = endpoints
    .filter((e) => e.ports[portKey] !== undefined && labelsMatch(subsetLabels, endpointSelectorLabels(e)))
    .sort((a, b) => a.address.localeCompare(b.address, undefined, { numeric: true }) || a.cluster.localeCompare(b.cluster));
  for (const e of selected) {
    const key = `${e.locality.region}/${e.locality.zone}/${e.locality.subZone ?? ''}`;
    let group = byLocality.get(key);
    if (!group) {
      group = { locality: e.locality, endpoints: [], priority: 0 };
      byLocality.set(key, group);
    }
    group.endpoints.push(e);
  }
  let groups = [...byLocality.keys()].sort().map((key) => byLocality.get(key)!);
  // With locality_weighted_lb_config Envoy scales a locality's weight by its share of healthy
  // endpoints itself, so the weight counts them all (Istio's sum of endpoint weights). Otherwise the
  // weight is the healthy endpoints' weights (their count when unweighted), so every endpoint gets its
  // share across localities (gRPC always weighs localities). Envoy requires weights >= 1.
  const weightSum = (list: readonly MeshEndpoint[]) => list.reduce((sum, e) => sum + (e.weight ?? 1), 0);
  const weightOf = localityLb?.plan.localityWeighted
    ? (g: LocalityGroup) => Math.max(1, weightSum(g.endpoints))
    : (g: LocalityGroup) => Math.max(1, weightSum(g.endpoints.filter((e) => e.ready)));
  if (localityLb) groups = applyLocalityLb(groups, localityLb.plan, localityLb.proxy, weightOf);
  const localities: LocalityLbEndpoints[] = groups.map((g) => ({
    locality: { region: g.locality.region, zone: g.locality.zone, ...(g.locality.subZone ? { sub_zone: g.locality.subZone } : {}) },
    lb_endpoints: g.endpoints.map(lbEndpoint(portKey, istioTls)),
    load_balancing_weight: { value: g.weight ?? weightOf(g) },
    ...(g.priority > 0 ? { priority: g.priority } : {}),
  }));
  return { cluster_name: clusterName, endpoints: localities };
}

function lbEndpoint(portKey: string, istioTls: EndpointTls | undefined): (e: MeshEndpoint) => LbEndpoint {
  return (e) => {
    const port = e.ports[portKey]!;
    return {
      endpoint: { address: { socket_address: { address: e.address, port_value: port } } },
      health_status: e.ready ? 'HEALTHY' : 'UNHEALTHY',
      metadata: {
        filter_metadata: {
          istio: { fields: { cluster: { string_value: e.cluster } } },
          ...(istioTls?.(e, port) ? ISTIO_TLS_MODE_METADATA : {}),
        },
      },
      load_balancing_weight: { value: e.weight ?? 1 },
    };
  };
}
