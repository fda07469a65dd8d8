// Keeps one ClusterRuntime per accepted cluster, fed by the CDS and EDS maps of the ConfigStore.

import type { ConfigStore } from '../config/store.js';
import { ClusterRuntime, type ClusterDeps } from './cluster.js';

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();
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
      // An EDS cluster without its assignment yet has no hosts: requests get 503 no healthy upstream.
      const endpoints = spec.discovery.kind === 'static' ? spec.discovery.endpoints.endpoints : (cla.get(spec.discovery.serviceName)?.value.endpoints ?? []);
      runtime.updateEndpoints(endpoints);
    }
  }

  close(): void {
    for (const u of this.unsubscribe) u();
    for (const c of this.clusters.values()) c.destroy();
    this.clusters.clear();
  }
}
