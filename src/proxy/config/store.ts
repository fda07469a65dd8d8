// The proxy's accepted configuration: one watched map per resource type, each entry the decoded value
// plus the raw resource (for /config_dump), its version and when it was accepted. The xDS client writes
// here; listeners, routers and clusters watch it. Nothing in here knows about gRPC.

import type { Cluster, EndpointSet } from '../model/cluster.js';
import type { Listener } from '../model/listener.js';
import type { RouteTable } from '../model/route.js';
import { clusterTlsContexts, listenerTlsContexts, secretRefs, type CommonTls } from '../model/tls.js';
import type { TlsSecret } from '../../security/secrets.js';
import { WatchedValue, type Watched } from '../watch.js';

export interface Entry<T> {
  readonly value: T;
  readonly raw: Readonly<Record<string, unknown>>;
  readonly version: string;
  readonly lastUpdated: Date;
}

export type EntryMap<T> = ReadonlyMap<string, Entry<T>>;

export interface ResourceValues {
  listeners: Listener;
  routes: RouteTable;
  clusters: Cluster;
  endpoints: EndpointSet;
  /** SDS Secrets received over ADS (sds_config `ads`). */
  secrets: TlsSecret;
}

export type ResourceKind = keyof ResourceValues;

export type ResourceMaps = { [K in ResourceKind]: EntryMap<ResourceValues[K]> };

export class ConfigStore {
  private readonly maps: { [K in ResourceKind]: WatchedValue<EntryMap<ResourceValues[K]>> } = {
    listeners: new WatchedValue<EntryMap<Listener>>(new Map()),
    routes: new WatchedValue<EntryMap<RouteTable>>(new Map()),
    clusters: new WatchedValue<EntryMap<Cluster>>(new Map()),
    endpoints: new WatchedValue<EntryMap<EndpointSet>>(new Map()),
    secrets: new WatchedValue<EntryMap<TlsSecret>>(new Map()),
  };
  /** Last accepted version_info per kind ('' before the first). */
  readonly versions: Record<ResourceKind, string> = { listeners: '', routes: '', clusters: '', endpoints: '', secrets: '' };
  readonly received: Record<ResourceKind, boolean> = { listeners: false, routes: false, clusters: false, endpoints: false, secrets: false };

  watch<K extends ResourceKind>(kind: K): Watched<EntryMap<ResourceValues[K]>> {
    return this.maps[kind];
  }

  get<K extends ResourceKind>(kind: K): EntryMap<ResourceValues[K]> {
    return this.maps[kind].get();
  }

  /**
   * Applies one accepted response: `upserts` replace entries by name, `removals` delete them.
   * Watchers are notified once, with the new map.
   */
  apply<K extends ResourceKind>(kind: K, version: string, upserts: ReadonlyMap<string, Entry<ResourceValues[K]>>, removals: Iterable<string>): void {
    const watched: WatchedValue<EntryMap<ResourceValues[K]>> = this.maps[kind];
    const next = new Map(watched.get());
    for (const name of removals) next.delete(name);
    for (const [name, entry] of upserts) next.set(name, entry);
    this.versions[kind] = version;
    this.received[kind] = true;
    watched.set(next);
  }

  /** Route config names the listeners refer to (RDS subscription). */
  referencedRouteNames(): string[] {
    const names = new Set<string>();
    for (const { value } of this.get('listeners').values()) {
      for (const hcm of value.hcms) if (hcm.routes.kind === 'rds') names.add(hcm.routes.routeConfigName);
    }
    return [...names].sort();
  }

  /** EDS service names the clusters refer to (EDS subscription). */
  referencedEndpointNames(): string[] {
    const names = new Set<string>();
    for (const { value } of this.get('clusters').values()) {
      if (value.discovery.kind === 'eds') names.add(value.discovery.serviceName);
    }
    return [...names].sort();
  }

  /** Secret names the listeners' and clusters' TLS contexts fetch over ADS (SDS subscription, as Envoy subscribes). */
  referencedSecretNames(): string[] {
    const contexts: CommonTls[] = [];
    for (const { value } of this.get('listeners').values()) contexts.push(...listenerTlsContexts(value));
    for (const { value } of this.get('clusters').values()) contexts.push(...clusterTlsContexts(value));
    return adsSecretNames(contexts);
  }

  /** Envoy's "initialized": LDS and CDS accepted, and every route config and EDS name they refer to arrived. */
  ready(): boolean {
    if (!this.received.listeners || !this.received.clusters) return false;
    const routes = this.get('routes');
    const endpoints = this.get('endpoints');
    const secrets = this.get('secrets');
    // Clusters warm on their secrets too (Envoy's SDS init target), so initialization waits for them.
    return this.referencedRouteNames().every((n) => routes.has(n)) && this.referencedEndpointNames().every((n) => endpoints.has(n)) &&
      adsSecretNames([...this.get('clusters').values()].flatMap((e) => clusterTlsContexts(e.value))).every((n) => secrets.has(n));
  }
}

function adsSecretNames(contexts: readonly CommonTls[]): string[] {
  const names = new Set<string>();
  for (const tls of contexts) for (const r of secretRefs(tls)) if (r.kind === 'sds' && r.source === 'ads') names.add(r.name);
  return [...names].sort();
}
