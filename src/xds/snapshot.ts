// A per-node xDS snapshot and the pure functions over it: consistency (every route and endpoint
// name a listener or cluster refers to exists) and content-derived versions. The clusters a route
// names are deliberately not checked: as in Istio, a route to a subset that does not exist names a
// cluster with no Cluster resource (Envoy accepts it, RDS validate_clusters being false, and answers
// 503; gRPC fails those calls with UNAVAILABLE).

import { createHash, type BinaryLike } from 'node:crypto';
import { packAny, ProtoShapeError, SHORT_TYPE_NAMES, TYPE_URL_ORDER, TYPE_URLS, type PackedAny, type TypeUrl } from './protos.js';

/**
 * Resources of one type by name. Values are plain snake_case objects of the resource type (see
 * src/xds/protos.ts). A group handed to SnapshotCache must not be mutated afterwards: the cache keeps
 * it as given, and a group (or resource) object given again -- in another node's snapshot, or the
 * next one -- is not encoded again.
 */
export type ResourceGroup = ReadonlyMap<string, object>;

/**
 * Resources by type URL: one group, or several disjoint ones (e.g. what many proxies share, and what
 * is a proxy's own) which the cache prepares separately so the shared ones are prepared once.
 */
export type XdsSnapshot = { resources: Partial<Record<TypeUrl, ResourceGroup | readonly ResourceGroup[]>> };

/** A snapshot of one group per type, built to be edited before it is handed over (tests, benchmarks). */
export type SingleGroupSnapshot = { resources: Partial<Record<TypeUrl, Map<string, object>>> };

/** One resource ready for the wire, with a version derived from its encoded bytes. */
export interface PreparedResource {
  readonly name: string;
  readonly any: PackedAny;
  readonly version: string;
  /** The resource as given. */
  readonly resource: object;
}

/** One group, encoded. */
export interface PreparedGroup {
  readonly resources: ReadonlyMap<string, PreparedResource>;
  /** Changes iff a name or a resource's bytes change. */
  readonly version: string;
}

/** Every resource of one type for one node, as the groups it was given in. */
export class PreparedType {
  constructor(
    readonly groups: readonly PreparedGroup[],
    readonly version: string,
  ) {}

  get(name: string): PreparedResource | undefined {
    for (const group of this.groups) {
      const found = group.resources.get(name);
      if (found) return found;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.groups.some((g) => g.resources.has(name));
  }

  get size(): number {
    let n = 0;
    for (const group of this.groups) n += group.resources.size;
    return n;
  }

  *values(): IterableIterator<PreparedResource> {
    for (const group of this.groups) yield* group.resources.values();
  }
}

/** A type with no resources (absent from a snapshot). */
export const EMPTY_TYPE = new PreparedType([], versionOfEntries([]));

/**
 * A snapshot encoded once, so every stream serving it sends the same bytes. A type whose content did
 * not change since the node's previous snapshot keeps the previous PreparedType object, which lets
 * streams skip it at the cost of one comparison.
 */
export interface PreparedSnapshot {
  readonly snapshot: XdsSnapshot;
  /** Every TypeUrl (an absent type in the snapshot is an empty type here). */
  readonly types: ReadonlyMap<TypeUrl, PreparedType>;
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

function groupsOf(value: ResourceGroup | readonly ResourceGroup[] | undefined): readonly ResourceGroup[] {
  if (value === undefined) return [];
  return value instanceof Map ? [value] : (value as readonly ResourceGroup[]);
}

/** Listeners whose HttpConnectionManager names a RouteConfiguration (rds) that is not there. */
function missingRoutes(listeners: Iterable<[string, object]>, routes: { has(name: string): boolean }): string[] {
  const problems: string[] = [];
  for (const [name, listener] of listeners) {
    for (const { where, hcm } of connectionManagers(asRecord(listener) ?? {})) {
      const routeName = asRecord(hcm['rds'])?.['route_config_name'];
      if (typeof routeName === 'string' && !routes.has(routeName)) {
        problems.push(`listener '${name}' ${where}: RouteConfiguration '${routeName}' (rds.route_config_name) is not in the snapshot`);
      }
    }
  }
  return problems;
}

/** EDS clusters whose ClusterLoadAssignment is not there. */
function missingEndpoints(clusters: Iterable<[string, object]>, endpoints: { has(name: string): boolean }): string[] {
  const problems: string[] = [];
  for (const [name, cluster] of clusters) {
    const record = asRecord(cluster) ?? {};
    if (record['type'] !== 'EDS') continue;
    const serviceName = asRecord(record['eds_cluster_config'])?.['service_name'];
    const claName = typeof serviceName === 'string' && serviceName !== '' ? serviceName : name;
    if (!endpoints.has(claName)) problems.push(`cluster '${name}': ClusterLoadAssignment '${claName}' (EDS) is not in the snapshot`);
  }
  return problems;
}

function misnamed(typeUrl: TypeUrl, resources: Iterable<[string, object]>): string[] {
  const problems: string[] = [];
  for (const [key, resource] of resources) {
    const declared = asRecord(resource)?.[nameField(typeUrl)];
    if (declared !== undefined && declared !== key) {
      problems.push(`${SHORT_TYPE_NAMES[typeUrl]} resource keyed '${key}' has ${nameField(typeUrl)} '${String(declared)}'`);
    }
  }
  return problems;
}

function unsupportedTypes(snapshot: XdsSnapshot): string[] {
  return Object.keys(snapshot.resources).filter((t) => !TYPE_URL_ORDER.includes(t as TypeUrl)).map((t) => `unsupported type URL ${t}`);
}

function shortHash(data: BinaryLike): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/** Version of a set of (name, resource version) pairs, whatever their order. */
export function versionOfEntries(entries: Iterable<readonly [string, string]>): string {
  const lines = [...entries].map(([name, version]) => `${name}\u0000${version}`).sort();
  return shortHash(lines.join('\n'));
}

/** Version of a set of prepared resources: changes iff a name or a resource's bytes change. */
export function versionOf(resources: Iterable<PreparedResource>): string {
  return versionOfEntries([...resources].map((r): [string, string] => [r.name, r.version]));
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

interface EncodedResource {
  typeUrl: TypeUrl;
  any: PackedAny;
  version: string;
}

/** Keys (JSON) held by the content cache, per generation: ~2 x 32 MB at most. */
const CONTENT_CACHE_CHARS = 32 * 2 ** 20;

/**
 * A map bounded by the total length of its keys: when the current generation is full it becomes the
 * old one and the older is dropped; a hit in the old generation moves to the current one. What the
 * latest pushes use stays; what no push used for two generations goes.
 */
class TwoGenerationCache<V> {
  private current = new Map<string, V>();
  private old = new Map<string, V>();
  private chars = 0;

  constructor(private readonly maxChars: number) {}

  get(key: string): V | undefined {
    const hit = this.current.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: string, value: V): void {
    if (this.chars + key.length > this.maxChars && this.current.size > 0) {
      this.old = this.current;
      this.current = new Map();
      this.chars = 0;
    }
    this.current.set(key, value);
    this.chars += key.length;
  }
}

/** A group with what encoded, and the problems of what did not (or of misnamed resources). */
type Prepared<T> = { value: T; problems: string[] };
function* entriesOf(groups: readonly PreparedGroup[]): Iterable<[string, object]> {
  for (const group of groups) for (const r of group.resources.values()) yield [r.name, r.resource];
}

/**
 * Checks and encodes snapshots, remembering what it did by object: a group, resource or pair of types
 * seen before is not encoded or checked again. A control plane that gives a thousand proxies the same
 * group objects pays for one.
 */
export class SnapshotPreparer {
  private readonly encoded = new WeakMap<object, EncodedResource>();
  /** By content, for equal resources in new objects (the next translation of an unchanged resource). */
  private readonly byContent = new TwoGenerationCache<EncodedResource>(CONTENT_CACHE_CHARS);
  private readonly groups = new WeakMap<ResourceGroup, { typeUrl: TypeUrl; prepared: Prepared<PreparedGroup> }>();
  private readonly pairChecks = new WeakMap<PreparedGroup, WeakMap<ReadonlyMap<string, PreparedResource>, string[]>>();

  /**
   * Throws SnapshotError listing every problem. `previous` (the node's current snapshot) lets unchanged
   * groups and types keep their previous objects.
   */
  prepare(nodeId: string, snapshot: XdsSnapshot, previous?: PreparedSnapshot): PreparedSnapshot {
    const problems = unsupportedTypes(snapshot);
    const types = new Map<TypeUrl, PreparedType>();
    for (const typeUrl of TYPE_URL_ORDER) {
      const groups: PreparedGroup[] = [];
      for (const group of groupsOf(snapshot.resources[typeUrl])) {
        const { value, problems: found } = this.prepareGroup(typeUrl, group);
        problems.push(...found);
        // Kept even when some resources failed, so references to the others do not add problems.
        groups.push(value);
      }
      if (groups.length > 1) problems.push(...duplicatesAcross(typeUrl, groups));
      types.set(typeUrl, reuseUnchanged(groups, previous?.types.get(typeUrl)));
    }
    const type = (t: TypeUrl): PreparedType => types.get(t) ?? EMPTY_TYPE;
    problems.push(...this.checkPair(type(TYPE_URLS.listener), type(TYPE_URLS.route), missingRoutes));
    problems.push(...this.checkPair(type(TYPE_URLS.cluster), type(TYPE_URLS.endpoint), missingEndpoints));
    if (problems.length > 0) throw new SnapshotError(nodeId, problems);
    return { snapshot, types };
  }

  private prepareGroup(typeUrl: TypeUrl, group: ResourceGroup): Prepared<PreparedGroup> {
    const known = this.groups.get(group);
    if (known?.typeUrl === typeUrl) return known.prepared;
    const problems = misnamed(typeUrl, group);
    const resources = new Map<string, PreparedResource>();
    for (const [name, resource] of group) {
      try {
        resources.set(name, { name, resource, ...this.encode(typeUrl, resource) });
      } catch (err) {
        if (!(err instanceof ProtoShapeError)) throw err;
        problems.push(`${SHORT_TYPE_NAMES[typeUrl]} '${name}': ${err.message}`);
      }
    }
    const prepared: Prepared<PreparedGroup> = { value: { resources, version: versionOf(resources.values()) }, problems };
    this.groups.set(group, { typeUrl, prepared });
    return prepared;
  }

  private encode(typeUrl: TypeUrl, resource: object): { any: PackedAny; version: string } {
    const known = this.encoded.get(resource);
    if (known?.typeUrl === typeUrl) return known;
    // Stringifying costs a few percent of encoding (which also checks every field against the proto).
    const key = `${typeUrl}\n${JSON.stringify(resource)}`;
    let entry = this.byContent.get(key);
    if (!entry) {
      const any = packAny(typeUrl, resource);
      entry = { typeUrl, any, version: shortHash(any.value) };
      this.byContent.set(key, entry);
    }
    this.encoded.set(resource, entry);
    return entry;
  }

  /**
   * Problems of the references from `a` into `b`, memoised per group of `a` when `b` is one group
   * (routes and endpoints are): each proxy's own small group is checked, the shared ones once.
   */
  private checkPair(a: PreparedType, b: PreparedType, check: (a: Iterable<[string, object]>, b: { has(name: string): boolean }) => string[]): string[] {
    if (b.groups.length !== 1) return check(entriesOf(a.groups), b);
    const target = b.groups[0].resources;
    return a.groups.flatMap((group) => {
      let byTarget = this.pairChecks.get(group);
      if (!byTarget) {
        byTarget = new WeakMap();
        this.pairChecks.set(group, byTarget);
      }
      let problems = byTarget.get(target);
      if (!problems) {
        problems = check(entriesOf([group]), target);
        byTarget.set(target, problems);
      }
      return problems;
    });
  }
}

function duplicatesAcross(typeUrl: TypeUrl, groups: readonly PreparedGroup[]): string[] {
  // Usually one large shared group and a small own one: look the smaller ones up in the rest.
  const [largest, ...others] = [...groups].sort((a, b) => b.resources.size - a.resources.size);
  const problems: string[] = [];
  others.forEach((group, i) => {
    const before = [largest, ...others.slice(0, i)];
    for (const name of group.resources.keys()) {
      if (before.some((g) => g.resources.has(name))) problems.push(`${SHORT_TYPE_NAMES[typeUrl]} '${name}' is in two resource groups`);
    }
  });
  return problems;
}

/** The new type, keeping the previous objects where the content is the same. */
function reuseUnchanged(groups: PreparedGroup[], previous: PreparedType | undefined): PreparedType {
  if (previous) {
    const byVersion = new Map(previous.groups.map((g) => [g.version, g]));
    groups = groups.map((g) => byVersion.get(g.version) ?? g);
    if (groups.length === previous.groups.length && groups.every((g, i) => g === previous.groups[i])) return previous;
  }
  const version = groups.length === 1 ? groups[0].version : shortHash(groups.map((g) => g.version).join('\n'));
  return groups.length === 0 ? EMPTY_TYPE : new PreparedType(groups, version);
}

/**
 * Checks and encodes one snapshot with no memory of others. Throws SnapshotError listing every problem:
 * a resource that does not fit its proto or is keyed by another name than its own, an unsupported type
 * URL, a RouteConfiguration or ClusterLoadAssignment referred to but missing, a name in two groups.
 */
export function prepareSnapshot(nodeId: string, snapshot: XdsSnapshot, previous?: PreparedSnapshot): PreparedSnapshot {
  return new SnapshotPreparer().prepare(nodeId, snapshot, previous);
}
