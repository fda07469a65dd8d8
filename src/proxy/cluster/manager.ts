// Keeps one ClusterRuntime per accepted cluster, fed by the CDS and EDS maps of the ConfigStore.

import type { ConfigStore } from '../config/store.js';
import { errorText } from '../log.js';
import { ClusterRuntime, type ClusterDeps } from './cluster.js';
import { DnsEndpoints } from './dns.js';
import type { DnsDiscovery } from '../model/cluster.js';

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();
  /** The resolvers of the DNS clusters, by cluster name. */
  private readonly dns = new Map<string, DnsEndpoints>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly store: ConfigStore,
    private readonly deps: ClusterDeps,
  ) {
    this.unsubscribe.push(store.watch('clusters').subscribe(() => this.sync()));
    this.unsubscribe.push(store.watch('endpoints').subscribe(() => this.sync()));
    this.sync();
  }

  get(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  all(): ReadonlyMap<string, ClusterRuntime> {
    return this.clusters;
  }

  private sync(): void {
    const specs = this.store.get('clusters');
    const cla = this.store.get('endpoints');
    for (const [name, runtime] of this.clusters) {
      if (!specs.has(name)) {
        runtime.close();
        this.clusters.delete(name);
        this.stopDns(name);
      }
    }
    for (const [name, { value: spec }] of specs) {
      let runtime = this.clusters.get(name);
      if (spec.unenforced.length > 0 && runtime?.spec.unenforced.join() !== spec.unenforced.join()) {
        this.deps.log('warn', `cluster ${name}: ${spec.unenforced.join(', ')} accepted but not acted on by the meshwork proxy; Envoy applies them`);
      }
      if (!runtime) {
        runtime = new ClusterRuntime(spec, this.deps);
        this.clusters.set(name, runtime);
      } else if (runtime.spec !== spec) {
        runtime.updateSpec(spec);
      }
      if (spec.discovery.kind === 'dns') {
        this.watchDns(name, runtime, spec.discovery);
        continue;
      }
      this.stopDns(name);
      // An EDS cluster without its assignment yet has no hosts: requests get 503 no healthy upstream.
      const endpoints = spec.discovery.kind === 'static' ? spec.discovery.endpoints.endpoints : (cla.get(spec.discovery.serviceName)?.value.endpoints ?? []);
      runtime.updateEndpoints(endpoints);
    }
  }

  /** A DNS cluster's resolver: kept while its discovery is unchanged, else replaced. */
  private watchDns(name: string, runtime: ClusterRuntime, discovery: DnsDiscovery): void {
    const current = this.dns.get(name);
    if (current && JSON.stringify(current.spec) === JSON.stringify(discovery)) return;
    current?.stop();
    this.dns.set(name, new DnsEndpoints(
      discovery,
      (endpoints) => runtime.updateEndpoints(endpoints),
      (host, e) => this.deps.log('warn', `cluster ${name}: DNS lookup of ${host} failed (${errorText(e)}); keeping its last addresses`),
    ));
  }

  private stopDns(name: string): void {
    this.dns.get(name)?.stop();
    this.dns.delete(name);
  }

  close(): void {
    for (const d of this.dns.values()) d.stop();
    this.dns.clear();
    for (const u of this.unsubscribe) u();
    for (const c of this.clusters.values()) c.destroy();
    this.clusters.clear();
  }
}
