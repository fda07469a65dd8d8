// The control-plane side of the xDS scale benchmark: the real pipeline minus Kubernetes. A static
// MeshSnapshot is translated per connected proxy (src/translate) and set in a SnapshotCache served by
// the real ADS server, as ProxyPusher does (ProxyPusher itself rebuilds from Kubernetes-shaped
// informer caches, which a synthetic mesh does not have; this keeps its per-node translate + set path).
import { proxyIdentity } from '../../src/controlplane/identity.js';
import { toXdsSnapshot } from '../../src/controlplane/proxy-resources.js';
import type { MeshSnapshot, ProxyIdentity } from '../../src/registry/model.js';
import { translate } from '../../src/translate/translate.js';
import { SnapshotCache } from '../../src/xds/cache.js';
import { SHORT_TYPE_NAMES, type XdsNode } from '../../src/xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../../src/xds/server.js';

export interface PushTiming {
  nodes: number;
  translateMs: number;
  setSnapshotMs: number;
  /** Per node id: the xDS types (LDS, RDS, CDS, EDS) whose content changed, i.e. what a wildcard subscriber must receive. */
  changedTypes: Map<string, Set<string>>;
}

export class StaticControlPlane {
  readonly cache = new SnapshotCache();
  private readonly nodes = new Map<string, ProxyIdentity>();
  private server: RunningXdsServer | undefined;
  readonly log: string[] = [];
  errors = 0;

  constructor(private mesh: MeshSnapshot) {}

  async start(host: string): Promise<number> {
    this.server = await startXdsServer({
      host,
      port: 0,
      cache: this.cache,
      onStreamOpen: (node) => this.onStreamOpen(node),
      onStreamClosed: (node) => this.nodes.delete(node.id ?? ''),
      log: (line) => {
        if (this.log.length < 200) this.log.push(line);
      },
    });
    return this.server.port;
  }

  connected(): number {
    return this.nodes.size;
  }

  counters(): { responses: number; acks: number; nacks: number } {
    const c = this.server?.xds.counters();
    return { responses: c?.responses ?? 0, acks: c?.acks ?? 0, nacks: c?.nacks ?? 0 };
  }

  /** A new mesh: translate for every connected proxy and set its snapshot (which pushes what changed). */
  setMesh(mesh: MeshSnapshot): PushTiming {
    this.mesh = mesh;
    const timing: PushTiming = { nodes: 0, translateMs: 0, setSnapshotMs: 0, changedTypes: new Map() };
    for (const [id, identity] of this.nodes) this.push(id, identity, timing);
    return timing;
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }

  private onStreamOpen(node: XdsNode): void {
    const id = node.id ?? '';
    // No pod cache here: labels and cluster come from the node metadata, as for a pod not yet seen.
    const identity = proxyIdentity(node, { defaultCluster: 'cluster-1', findPod: () => undefined });
    this.nodes.set(id, identity);
    this.push(id, identity, { nodes: 0, translateMs: 0, setSnapshotMs: 0, changedTypes: new Map() });
  }

  private push(id: string, identity: ProxyIdentity, timing: PushTiming): void {
    const t0 = performance.now();
    try {
      const resources = translate(this.mesh, identity);
      const t1 = performance.now();
      const before = this.cache.getPrepared(id)?.typeVersions;
      this.cache.setSnapshot(id, toXdsSnapshot(resources));
      const after = this.cache.getPrepared(id)?.typeVersions;
      const changed = new Set<string>();
      for (const [typeUrl, version] of after ?? []) if (before?.get(typeUrl) !== version) changed.add(SHORT_TYPE_NAMES[typeUrl]);
      timing.changedTypes.set(id, changed);
      timing.translateMs += t1 - t0;
      timing.setSnapshotMs += performance.now() - t1;
      timing.nodes++;
    } catch (err) {
      this.errors++;
      if (this.log.length < 200) this.log.push(`push to ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
