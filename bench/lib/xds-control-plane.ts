// The control-plane side of the xDS scale benchmark: the real ProxyPusher -> SnapshotCache -> ADS server
// path, minus Kubernetes: the pusher's mesh snapshot comes from the benchmark's synthetic mesh instead
// of informer caches, and every change is pushed at once (rebuild) instead of after the debounce.
import { ProxyPusher } from '../../src/controlplane/pusher.js';
import type { MeshSnapshot } from '../../src/registry/model.js';
import { SnapshotCache } from '../../src/xds/cache.js';
import { SHORT_TYPE_NAMES, TYPE_URLS } from '../../src/xds/protos.js';

const ENVOY_TYPES = new Set<string>([TYPE_URLS.listener, TYPE_URLS.route, TYPE_URLS.cluster, TYPE_URLS.endpoint]);
import { startXdsServer, type RunningXdsServer } from '../../src/xds/server.js';

export interface PushTiming {
  /** Nodes whose snapshot was translated and set. */
  nodes: number;
  /** Start of the push until every node's snapshot was set and handed to its streams. */
  pushMs: number;
  /** Per node id: the xDS types (LDS, RDS, CDS, EDS) whose content changed, i.e. what a wildcard subscriber must receive (NDS, which the simulated sidecars do not subscribe to, left out). */
  changedTypes: Map<string, Set<string>>;
}

export class StaticControlPlane {
  readonly cache = new SnapshotCache();
  readonly pusher: ProxyPusher;
  private server: RunningXdsServer | undefined;
  readonly log: string[] = [];

  constructor(private mesh: MeshSnapshot) {
    this.pusher = new ProxyPusher({
      clusterId: 'cluster-1',
      // No pod cache here: labels and cluster come from the node metadata, as for a pod not yet seen.
      view: { clusters: () => [], config: () => [], findPod: () => undefined },
      buildMesh: () => ({ snapshot: this.mesh, notes: { endpointsWithoutPod: [], skippedServices: [], malformedConfig: [] } }),
      cache: this.cache,
      log: (line) => {
        if (!line.includes('mesh snapshot')) this.keep(line);
      },
    });
    this.pusher.rebuild();
  }

  get errors(): number {
    return this.pusher.stats().rejectedSnapshots;
  }

  async start(host: string): Promise<number> {
    this.server = await startXdsServer({
      host,
      port: 0,
      cache: this.cache,
      onStreamOpen: (node) => this.pusher.onStreamOpen(node),
      onStreamClosed: (node) => this.pusher.onStreamClosed(node),
      log: (line) => this.keep(line),
    });
    return this.server.port;
  }

  counters(): { responses: number; acks: number; nacks: number } {
    const c = this.server?.xds.counters();
    return { responses: c?.responses ?? 0, acks: c?.acks ?? 0, nacks: c?.nacks ?? 0 };
  }

  /** A new mesh, pushed to every connected proxy now; resolves when the last proxy's snapshot was set. */
  async setMesh(mesh: MeshSnapshot): Promise<PushTiming> {
    this.mesh = mesh;
    const ids = this.pusher.connectedNodes().map((n) => n.id ?? '');
    const before = new Map(ids.map((id) => [id, this.cache.getPrepared(id)?.types]));
    const rebuilt = this.pusher.rebuild();
    const pushed = await rebuilt.pushed;
    const changedTypes = new Map<string, Set<string>>();
    for (const id of ids) {
      const changed = new Set<string>();
      for (const [typeUrl, type] of this.cache.getPrepared(id)?.types ?? []) {
        if (ENVOY_TYPES.has(typeUrl) && before.get(id)?.get(typeUrl)?.version !== type.version) changed.add(SHORT_TYPE_NAMES[typeUrl]);
      }
      changedTypes.set(id, changed);
    }
    return { nodes: pushed.nodes, pushMs: rebuilt.buildMs + pushed.pushMs, changedTypes };
  }

  private keep(line: string): void {
    if (this.log.length < 200) this.log.push(line);
  }

  async stop(): Promise<void> {
    this.pusher.stop();
    await this.server?.close();
  }
}
