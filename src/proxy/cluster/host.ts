// One endpoint of a cluster as the load balancer and outlier detector see it.

import type { Endpoint } from '../model/cluster.js';
import type { EndpointPool } from '../upstream/types.js';

export interface OutlierState {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  /** Clock time until which the host is ejected; 0 when not ejected. */
  ejectedUntil: number;
  ejections: number;
}

export interface Host {
  readonly key: string;
  endpoint: Endpoint;
  pool: EndpointPool;
  /** transportKey() of the transport the pool connects with. */
  transport: string;
  /** Requests in flight (least-request balancing, /clusters). */
  active: number;
  total: number;
  errors: number;
  outlier: OutlierState;
}

export function isHealthy(h: Host): boolean {
  return h.endpoint.health === 'HEALTHY' || h.endpoint.health === 'UNKNOWN';
}
