// The config propagation tracker: the control plane's record of how far each applied change has
// reached (served as /debug/config_distribution, read by `meshwork rollout-status`). It is told by the
// watches (a change), the pusher (a rebuild, a node handled, a node come or gone) and the xDS server
// (a node's streams moved: an ACK, a NACK, a response), and keeps the state in propagation-state.ts,
// where the transitions are.

import type { ChangedObject } from './propagation-report.js';
import { systemClock, type Clock } from '../clock.js';
import type { XdsNode } from '../xds/protos.js';
import { structToPlain } from '../xds/status.js';
import { parseNodeId } from './identity.js';
import type { ConfigDistributionReport } from './propagation-report.js';
import {
  connected,
  disconnected,
  emptyState,
  handled,
  observe,
  rebuilt,
  reportChanges,
  synced,
  type NodeSync,
  type Outcome,
  type PropagationState,
} from './propagation-state.js';

/** What the tracker tells whoever keeps metrics. */
export interface PropagationMetrics {
  /** A proxy ACKed the config carrying a change of `kind`, `seconds` after the watch delivered it. */
  configPropagated(kind: string, seconds: number): void;
  /** A proxy refused the config carrying a change of `kind` (once per change). */
  configChangeNacked(kind: string): void;
}

/** The pusher's side of the tracker (PusherOptions.propagation). */
export interface PushPropagation {
  rebuilt(version: string): void;
  nodeConnected(node: XdsNode): void;
  /** The node's config now reflects the last rebuild; `refused`: why it could not be built. */
  nodeHandled(nodeId: string, refused?: string): void;
  nodeDisconnected(nodeId: string): void;
}

export interface PropagationTrackerOptions {
  /** The control plane's own cluster (the report's `cluster`, and a node's when its metadata names none). */
  clusterId: string;
  /** Where a node's streams stand; undefined while the xDS server does not run yet. */
  nodeSync?: (nodeId: string) => NodeSync | undefined;
  metrics?: PropagationMetrics;
  /** Changes kept (default 200). */
  capacity?: number;
  clock?: Clock;
}

const NOT_SETTLED: NodeSync = { settled: false };

export class ConfigPropagationTracker implements PushPropagation {
  private readonly state: PropagationState;
  private readonly clock: Clock;
  private nodeSyncOf: (nodeId: string) => NodeSync | undefined;
  /** Nodes whose streams moved since the last look: looked at once per turn of the event loop. */
  private readonly dirty = new Set<string>();
  private flush: NodeJS.Immediate | undefined;

  constructor(private readonly opts: PropagationTrackerOptions) {
    this.state = emptyState(opts.capacity);
    this.clock = opts.clock ?? systemClock;
    this.nodeSyncOf = opts.nodeSync ?? (() => undefined);
  }

  /** The xDS server starts after the tracker (it needs the pusher, which needs the tracker). */
  setNodeSync(nodeSync: (nodeId: string) => NodeSync | undefined): void {
    this.nodeSyncOf = nodeSync;
  }

  /** A watch delivered a change of a tracked kind. */
  observed(change: ChangedObject): void {
    observe(this.state, change, this.clock.now());
  }

  rebuilt(version: string): void {
    rebuilt(this.state, version);
  }

  nodeConnected(node: XdsNode): void {
    const nodeId = node.id ?? '';
    const metadata = structToPlain(node.metadata);
    const parsed = parseNodeId(nodeId);
    const text = (key: string): string | undefined => (typeof metadata[key] === 'string' && metadata[key] !== '' ? (metadata[key] as string) : undefined);
    const kind = text('GENERATOR') === 'grpc' || !parsed ? 'proxyless' : parsed.kind;
    const podName = text('NAME') ?? parsed?.podName;
    const namespace = text('NAMESPACE') ?? parsed?.namespace;
    connected(this.state, {
      nodeId,
      // CLUSTER_ID is the member cluster; node.cluster is Envoy's service cluster (Istio sets it to the workload's).
      cluster: text('CLUSTER_ID') ?? this.opts.clusterId,
      kind,
      ...(podName && namespace ? { pod: `${podName}.${namespace}` } : {}),
    });
  }

  nodeHandled(nodeId: string, refused?: string): void {
    this.settle(handled(this.state, nodeId, this.state.seq, this.syncOf(nodeId), this.clock.now(), refused));
  }

  nodeDisconnected(nodeId: string): void {
    this.dirty.delete(nodeId);
    disconnected(this.state, nodeId, this.clock.now());
  }

  /** The node's streams moved (the xDS server's hook): looked at later in this turn of the event loop. */
  streamActivity(nodeId: string): void {
    this.dirty.add(nodeId);
    // Envoy answers several types in one burst: one look after the burst, not one per request.
    this.flush ??= setImmediate(() => {
      this.flush = undefined;
      const nodes = [...this.dirty];
      this.dirty.clear();
      for (const id of nodes) this.settle(synced(this.state, id, this.syncOf(id), this.clock.now()));
    });
  }

  /** Newest first; with `resource`, that object's changes only. */
  report(resource?: { kind: string; namespace: string; name: string }): ConfigDistributionReport {
    return { cluster: this.opts.clusterId, now: new Date(this.clock.now()).toISOString(), changes: reportChanges(this.state, resource) };
  }

  stop(): void {
    if (this.flush) clearImmediate(this.flush);
    this.flush = undefined;
    this.dirty.clear();
  }

  private syncOf(nodeId: string): NodeSync {
    return this.nodeSyncOf(nodeId) ?? NOT_SETTLED;
  }

  private settle(outcomes: Outcome[]): void {
    const metrics = this.opts.metrics;
    if (!metrics) return;
    for (const o of outcomes) {
      if (o.state === 'acked' && o.latencyMs !== undefined) metrics.configPropagated(o.change.kind, o.latencyMs / 1000);
      if (o.state === 'nacked' && o.firstNack) metrics.configChangeNacked(o.change.kind);
    }
  }
}
