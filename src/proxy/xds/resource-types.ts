// One entry per xDS type the proxy subscribes to: its type URL, where accepted values go in the store,
// how a resource names itself, how it decodes, and whether absence from a response means deletion
// (state of the world: yes for LDS/CDS, no for RDS/EDS, as Envoy treats them).

import { TYPE_URLS } from '../../xds/protos.js';
import type { ResourceKind, ResourceValues } from '../config/store.js';
import { decodeCluster } from '../decode/cluster.js';
import { decodeEndpoints } from '../decode/endpoint.js';
import type { Obj } from '../decode/fields.js';
import { decodeListener } from '../decode/listener.js';
import { decodeRouteTable } from '../decode/route.js';
import { decodeSecret } from '../decode/tls.js';
import type { Result } from '../result.js';

export interface ResourceType<K extends ResourceKind> {
  readonly kind: K;
  readonly typeUrl: string;
  readonly short: 'LDS' | 'RDS' | 'CDS' | 'EDS' | 'SDS';
  /** Envoy's message name, for NACK messages and the config dump. */
  readonly messageName: string;
  /** Wildcard subscription (LDS, CDS): a resource missing from a response was deleted. */
  readonly wildcard: boolean;
  nameOf(message: Obj): string;
  decode(message: Obj): Result<ResourceValues[K], string[]>;
}

function stringField(message: Obj, key: string): string {
  const v = message[key];
  return typeof v === 'string' ? v : '';
}

export const LISTENER_TYPE: ResourceType<'listeners'> = {
  kind: 'listeners',
  typeUrl: TYPE_URLS.listener,
  short: 'LDS',
  messageName: 'Listener',
  wildcard: true,
  nameOf: (m) => stringField(m, 'name'),
  decode: decodeListener,
};

export const ROUTE_TYPE: ResourceType<'routes'> = {
  kind: 'routes',
  typeUrl: TYPE_URLS.route,
  short: 'RDS',
  messageName: 'RouteConfiguration',
  wildcard: false,
  nameOf: (m) => stringField(m, 'name'),
  decode: (m) => decodeRouteTable(m),
};

export const CLUSTER_TYPE: ResourceType<'clusters'> = {
  kind: 'clusters',
  typeUrl: TYPE_URLS.cluster,
  short: 'CDS',
  messageName: 'Cluster',
  wildcard: true,
  nameOf: (m) => stringField(m, 'name'),
  decode: decodeCluster,
};

export const ENDPOINT_TYPE: ResourceType<'endpoints'> = {
  kind: 'endpoints',
  typeUrl: TYPE_URLS.endpoint,
  short: 'EDS',
  messageName: 'ClusterLoadAssignment',
  wildcard: false,
  nameOf: (m) => stringField(m, 'cluster_name'),
  decode: decodeEndpoints,
};

/** SDS over ADS: the secrets the TLS contexts name with sds_config `ads`, subscribed by name (as Envoy). */
export const SECRET_TYPE: ResourceType<'secrets'> = {
  kind: 'secrets',
  typeUrl: TYPE_URLS.secret,
  short: 'SDS',
  messageName: 'Secret',
  wildcard: false,
  nameOf: (m) => stringField(m, 'name'),
  decode: decodeSecret,
};

export type AnyResourceType = ResourceType<'listeners'> | ResourceType<'routes'> | ResourceType<'clusters'> | ResourceType<'endpoints'> | ResourceType<'secrets'>;

export const RESOURCE_TYPES: readonly AnyResourceType[] = [LISTENER_TYPE, CLUSTER_TYPE, ROUTE_TYPE, ENDPOINT_TYPE, SECRET_TYPE];
