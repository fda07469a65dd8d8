// What the control plane knows about how far each applied config change has reached: per change
// (kind/namespace/name at a resourceVersion), which proxies of this control plane have ACKed the config
// that carries it, which NACKed (and why), which are still behind. Served on the debug port as
// GET /debug/config_distribution (all recent changes) and ?resource=Kind/namespace/name (one object),
// read by `meshwork rollout-status`, `meshwork proxy-status --since-apply` and the dashboard.
// Types only: the tracker that fills them is controlplane/propagation.ts.

/** A proxy's state for one change. */
export type ProxyPropagationState =
  /** The proxy ACKed a config version that carries the change (or its config did not change and it is in sync). */
  | 'acked'
  /** The proxy rejected the config that carries the change; `error` says why. */
  | 'nacked'
  /** The config was sent and is not yet ACKed. */
  | 'sent'
  /** Not yet sent (pushes are debounced and batched). */
  | 'pending'
  /** The proxy disconnected before ACKing. */
  | 'disconnected';

export interface ProxyPropagation {
  /** The xDS node id, e.g. `sidecar~127.10.0.7~helloworld-v1-abc.sample~sample.svc.cluster.local`. */
  nodeId: string;
  /** `name.namespace` of the pod (Istio's proxy-status NAME), when the node id says it. */
  pod?: string;
  /** Member cluster the proxy runs in (node metadata CLUSTER_ID). */
  cluster: string;
  kind: 'sidecar' | 'router' | 'proxyless' | string;
  state: ProxyPropagationState;
  /** ISO time of the push carrying the change, of its ACK, of its NACK. */
  sentAt?: string;
  ackedAt?: string;
  nackedAt?: string;
  /** NACK error_detail.message. */
  error?: string;
  /** ackedAt - observedAt, ms. */
  latencyMs?: number;
}

/** An object of a tracked kind at one version, as the control plane's watch delivered it. */
export interface ChangedObject {
  /** `VirtualService`, `DestinationRule`, `Gateway`, `Service`, `EndpointSlice`, ... */
  kind: string;
  namespace: string;
  name: string;
  /** The member cluster whose API server the object came from. */
  sourceCluster: string;
  resourceVersion: string;
  generation?: number;
  /** `ADDED` | `MODIFIED` | `DELETED`. */
  event: 'ADDED' | 'MODIFIED' | 'DELETED';
}

export interface ConfigChange extends ChangedObject {
  /** ISO time the control plane's watch delivered the change. */
  observedAt: string;
  /** The mesh snapshot version that first carried it. */
  snapshotVersion: string;
  proxies: ProxyPropagation[];
  /** Counts of proxies by state, for tables and metrics. */
  summary: Record<ProxyPropagationState, number>;
  /** When the last proxy ACKed (every proxy acked), ISO. */
  completedAt?: string;
}

export interface ConfigDistributionReport {
  /** The control plane's own cluster. */
  cluster: string;
  now: string;
  /** Newest first; at most the last 200 changes of Istio config kinds (and Services), fewer with ?resource=. */
  changes: ConfigChange[];
}
