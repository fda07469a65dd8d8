// A per-node xDS snapshot and the pure functions over it: consistency (every route and endpoint
// name a listener or cluster refers to exists) and content-derived versions.

import { createHash, type BinaryLike } from 'node:crypto';
import { packAny, ProtoShapeError, SHORT_TYPE_NAMES, TYPE_URL_ORDER, TYPE_URLS, type PackedAny, type TypeUrl } from './protos.js';

/**
 * Resources by type URL, then by resource name. Values are plain snake_case objects of the
 * resource type (see src/xds/protos.ts). A snapshot handed to SnapshotCache must not be mutated
 * afterwards: the cache keeps it as given.
 */
export type XdsSnapshot = { resources: Partial<Record<TypeUrl, Map<string, object>>> };

/** One resource ready for the wire, with a version derived from its encoded bytes. */
export interface PreparedResource {
  readonly name: string;
  readonly any: PackedAny;
  readonly version: string;
}

/** A snapshot encoded once, so every stream serving it sends the same bytes. */
export interface PreparedSnapshot {
  readonly snapshot: XdsSnapshot;
  /** Every TypeUrl present (an absent type in the snapshot is an empty map here). */
  readonly types: ReadonlyMap<TypeUrl, ReadonlyMap<string, PreparedResource>>;
  /** Version of each type over all its resources. */
  readonly typeVersions: ReadonlyMap<TypeUrl, string>;
}

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The HttpConnectionManager configs inside a listener: api_listener and every filter chain's filters. */
function connectionManagers(listener: Record<string, unknown>): { where: string; hcm: Record<string, unknown> }[] {
  const found: { where: string; hcm: Record<string, unknown> }[] = [];
  const api = asRecord(asRecord(listener['api_listener'])?.['api_listener']);
  if (api?.['@type'] === HCM_TYPE) found.push({ where: 'api_listener', hcm: api });
  const chains = [...asArray(listener['filter_chains']).map((c, i) => ({ where: `filter_chains[${i}]`, chain: c }))];
  if (listener['default_filter_chain']) chains.push({ where: 'default_filter_chain', chain: listener['default_filter_chain'] });
  for (const { where, chain } of chains) {
    asArray(asRecord(chain)?.['filters']).forEach((filter, j) => {
      const config = asRecord(asRecord(filter)?.['typed_config']);
      if (config?.['@type'] === HCM_TYPE) found.push({ where: `${where}.filters[${j}]`, hcm: config });
    });
  }
  return found;
}

function nameField(typeUrl: TypeUrl): string {
  return typeUrl === TYPE_URLS.endpoint ? 'cluster_name' : 'name';
}

/** The problems that make a snapshot unservable; [] when it is consistent. */
export function consistent(snapshot: XdsSnapshot): string[] {
  const problems: string[] = [];
  const routes = snapshot.resources[TYPE_URLS.route] ?? new Map<string, object>();
  const endpoints = snapshot.resources[TYPE_URLS.endpoint] ?? new Map<string, object>();

  for (const typeUrl of Object.keys(snapshot.resources)) {
    if (!TYPE_URL_ORDER.includes(typeUrl as TypeUrl)) problems.push(`unsupported type URL ${typeUrl}`);
  }
  for (const typeUrl of TYPE_URL_ORDER) {
    for (const [key, resource] of snapshot.resources[typeUrl] ?? []) {
      const declared = asRecord(resource)?.[nameField(typeUrl)];
      if (declared !== undefined && declared !== key) {
        problems.push(`${SHORT_TYPE_NAMES[typeUrl]} resource keyed '${key}' has ${nameField(typeUrl)} '${String(declared)}'`);
      }
    }
  }
  for (const [name, listener] of snapshot.resources[TYPE_URLS.listener] ?? []) {
    for (const { where, hcm } of connectionManagers(asRecord(listener) ?? {})) {
      const routeName = asRecord(hcm['rds'])?.['route_config_name'];
      if (typeof routeName === 'string' && !routes.has(routeName)) {
        problems.push(`listener '${name}' ${where}: RouteConfiguration '${routeName}' (rds.route_config_name) is not in the snapshot`);
      }
    }
  }
  for (const [name, cluster] of snapshot.resources[TYPE_URLS.cluster] ?? []) {
    const record = asRecord(cluster) ?? {};
    if (record['type'] !== 'EDS') continue;
    const serviceName = asRecord(record['eds_cluster_config'])?.['service_name'];
    const claName = typeof serviceName === 'string' && serviceName !== '' ? serviceName : name;
    if (!endpoints.has(claName)) {
      problems.push(`cluster '${name}': ClusterLoadAssignment '${claName}' (EDS) is not in the snapshot`);
    }
  }
  return problems;
}

function shortHash(data: BinaryLike): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Version of a set of prepared resources: changes iff a name or a resource's bytes change. */
export function versionOf(resources: Iterable<PreparedResource>): string {
  const lines = [...resources].map((r) => `${r.name}\u0000${r.version}`).sort();
  return shortHash(lines.join('\n'));
}

/** A snapshot that cannot be served: inconsistent, or a resource that does not fit its proto. */
export class SnapshotError extends Error {
  constructor(
    readonly nodeId: string,
    readonly problems: string[],
  ) {
    super(`snapshot for node ${nodeId} rejected: ${problems.join('; ')}`);
    this.name = 'SnapshotError';
  }
}

/** Checks and encodes a snapshot. Throws SnapshotError listing every problem found. */
export function prepareSnapshot(nodeId: string, snapshot: XdsSnapshot): PreparedSnapshot {
  const problems = consistent(snapshot);
  const types = new Map<TypeUrl, Map<string, PreparedResource>>();
  const typeVersions = new Map<TypeUrl, string>();
  for (const typeUrl of TYPE_URL_ORDER) {
    const prepared = new Map<string, PreparedResource>();
    for (const [name, resource] of snapshot.resources[typeUrl] ?? []) {
      try {
        const any = packAny(typeUrl, resource);
        prepared.set(name, { name, any, version: shortHash(any.value) });
      } catch (err) {
        if (!(err instanceof ProtoShapeError)) throw err;
        problems.push(`${SHORT_TYPE_NAMES[typeUrl]} '${name}': ${err.message}`);
      }
    }
    types.set(typeUrl, prepared);
    typeVersions.set(typeUrl, versionOf(prepared.values()));
  }
  if (problems.length > 0) throw new SnapshotError(nodeId, problems);
  return { snapshot, types, typeVersions };
}
