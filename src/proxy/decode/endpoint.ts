// envoy.config.endpoint.v3.ClusterLoadAssignment -> EndpointSet.

import type { Endpoint, EndpointSet, HealthStatus } from '../model/cluster.js';
import { err, ok, type Result } from '../result.js';
import { structToPlain } from '../../xds/status.js';
import { enumName, isObj, join, num, obj, objs, Problems, str, wrappedNum, type Obj } from './fields.js';

/** The filter_metadata key transport_socket_matches are matched against (Envoy's). */
export const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

const HEALTH: readonly HealthStatus[] = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'];

export function decodeEndpointsInto(o: Obj, path: string, p: Problems): EndpointSet {
  const clusterName = str(o, 'cluster_name', path, p) ?? '';
  const endpoints: Endpoint[] = [];
  for (const { value: le, path: lePath } of objs(o, 'endpoints', path, p)) {
    const loc = obj(le, 'locality', lePath, p) ?? {};
    const locality = { region: String(loc['region'] ?? ''), zone: String(loc['zone'] ?? ''), subZone: String(loc['sub_zone'] ?? '') };
    const priority = num(le, 'priority', lePath, p) ?? 0;
    if (!Number.isInteger(priority) || priority < 0) p.add(join(lePath, 'priority'), `must be a non-negative integer, got ${priority}`);
    const localityWeight = wrappedNum(le, 'load_balancing_weight', lePath, p) ?? 0;
    for (const { value: lb, path: lbPath } of objs(le, 'lb_endpoints', lePath, p)) {
      const ep = obj(lb, 'endpoint', lbPath, p);
      const sock = ep && obj(ep, 'address', join(lbPath, 'endpoint'), p);
      const sa = sock && obj(sock, 'socket_address', join(lbPath, 'endpoint.address'), p);
      const saPath = join(lbPath, 'endpoint.address.socket_address');
      if (!sa) {
        p.add(saPath, 'is required');
        continue;
      }
      const host = str(sa, 'address', saPath, p) ?? '';
      const port = num(sa, 'port_value', saPath, p) ?? 0;
      if (!host) p.add(join(saPath, 'address'), 'is required');
      if (!Number.isInteger(port) || port <= 0 || port > 65535) p.add(join(saPath, 'port_value'), `must be in [1, 65535], got ${port}`);
      const weight = wrappedNum(lb, 'load_balancing_weight', lbPath, p) ?? 1;
      if (weight < 1) p.add(join(lbPath, 'load_balancing_weight'), 'must be at least 1');
      const health = enumName(lb, 'health_status', HEALTH, lbPath, p) ?? 'UNKNOWN';
      const e: Endpoint = { host, port, weight, health, priority, locality, localityWeight };
      const matchStruct = (obj(obj(lb, 'metadata', lbPath, p) ?? {}, 'filter_metadata', join(lbPath, 'metadata'), p) ?? {})[TRANSPORT_SOCKET_MATCH];
      if (isObj(matchStruct)) e.transportMatch = structToPlain(matchStruct);
      endpoints.push(e);
    }
  }
  return { clusterName, endpoints };
}

export function decodeEndpoints(o: Obj): Result<EndpointSet, string[]> {
  const p = new Problems();
  const set = decodeEndpointsInto(o, '', p);
  if (!set.clusterName) p.add('cluster_name', 'is required');
  return p.list.length ? err(p.list) : ok(set);
}
