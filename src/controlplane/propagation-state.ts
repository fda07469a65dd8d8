// How far each applied config change has reached, as pure state transitions (no clock, no I/O): the
// tracker in propagation.ts feeds them what the watches, the pusher and the xDS streams report.
//
// The model. Rebuilds of the mesh snapshot are numbered (seq). A change observed by a watch is carried
// by the next rebuild (its seq). Each time the pusher handles a connected node in a round of rebuild S
// (a new snapshot set, or one found unchanged), the node's cached config reflects S: a checkpoint. A
// checkpoint settles when the node has answered everything its streams were sent: ACKed all of it
// (acked), or refused some of it (nacked, with the proxy's message). A node whose config did not change
// was sent nothing, so it settles at once when it had ACKed everything before: it is in sync. For one
// change, a node's state is that of its first checkpoint at or after the change's rebuild.
//
// Memory is bounded: the last `capacity` changes; per node, checkpoints only where a tracked change
// begins (at most one per change) and none older than the oldest tracked change.

import type { ChangedObject, ConfigChange, ProxyPropagation, ProxyPropagationState } from './propagation-report.js';


export interface TrackedChange extends ChangedObject {
  /** Epoch ms the watch delivered it. */
  observedAt: number;
  /** The rebuild that first carries it. */
  seq: number;
  /** That rebuild's mesh snapshot version, once it ran. */
  snapshotVersion?: string;
  /** A proxy refused the config that carries it (counted once). */
  nacked?: boolean;
}

/** Where a node's streams stand, as the xDS server sees them (over all its streams, its agent's too). */
export interface NodeSync {
  /** Every type sent to the node has been answered (ACK or NACK), and at least one was asked for. */
  settled: boolean;
  /** The latest refusal still standing (a NACK not followed by an ACK of that type), or a response held back. */
  nack?: { message: string; at: number };
  /** When the latest response was sent (epoch ms). */
  lastSentAt?: number;
}

type CheckpointState = 'sent' | 'acked' | 'nacked' | 'disconnected' | 'refused';

interface Checkpoint {
  seq: number;
  /** When the pusher handled the node for this rebuild. */
  at: number;
  state: CheckpointState;
  sentAt?: number;
  ackedAt?: number;
  nackedAt?: number;
  /** NACK message, or why the control plane could not build the node's config (refused). */
  error?: string;
}

export interface NodeInfo {
  nodeId: string;
  cluster: string;
  kind: string;
  pod?: string;
}

interface NodeTrack extends NodeInfo {
  connected: boolean;
  disconnectedAt?: number;
  /** Ascending by seq. */
  checkpoints: Checkpoint[];
}

export interface PropagationState {
  readonly capacity: number;
  /** The last rebuild's number (0: none yet). */
  seq: number;
  /** Oldest first. */
  changes: TrackedChange[];
  nodes: Map<string, NodeTrack>;
}

/** What a transition settled, for metrics: a node reached (or refused) the config carrying a change. */
export interface Outcome {
  change: TrackedChange;
  nodeId: string;
  state: 'acked' | 'nacked';
  /** acked: from the watch event to the node's ACK. */
  latencyMs?: number;
  /** nacked: the first refusal of this change by any node. */
  firstNack?: boolean;
}

export const DEFAULT_CAPACITY = 200;

export function emptyState(capacity = DEFAULT_CAPACITY): PropagationState {
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`propagation capacity must be a positive integer, got ${capacity}`);
  return { capacity, seq: 0, changes: [], nodes: new Map() };
}

/** A watch delivered a change: the next rebuild carries it. Drops the oldest beyond capacity. */
export function observe(state: PropagationState, change: ChangedObject, at: number): TrackedChange {
  const tracked: TrackedChange = { ...change, observedAt: at, seq: state.seq + 1 };
  state.changes.push(tracked);
  if (state.changes.length > state.capacity) {
    state.changes.splice(0, state.changes.length - state.capacity);
    prune(state);
  }
  return tracked;
}

/** A rebuild ran and made mesh snapshot `version`. */
export function rebuilt(state: PropagationState, version: string): number {
  state.seq++;
  for (let i = state.changes.length - 1; i >= 0 && state.changes[i].seq >= state.seq; i--) {
    if (state.changes[i].seq === state.seq) state.changes[i].snapshotVersion = version;
  }
  return state.seq;
}

/** A node's first stream opened (or it came back). */
export function connected(state: PropagationState, node: NodeInfo): void {
  const known = state.nodes.get(node.nodeId);
  if (known) {
    Object.assign(known, node, { connected: true });
    delete known.disconnectedAt;
    return;
  }
  state.nodes.set(node.nodeId, { ...node, connected: true, checkpoints: [] });
}

/** A node's last stream closed: what it had not settled never will be. */
export function disconnected(state: PropagationState, nodeId: string, at: number): void {
  const node = state.nodes.get(nodeId);
  if (!node) return;
  node.connected = false;
  node.disconnectedAt = at;
  for (const cp of node.checkpoints) if (cp.state === 'sent' || cp.state === 'refused') cp.state = 'disconnected';
  prune(state);
}

/**
 * The pusher handled the node for rebuild `seq` (or, on connect, for the current one): its cached
 * config now reflects it. `refused`: the control plane could not build that config (the node keeps its
 * last good one). Settles at once when the node is in sync (nothing new was sent).
 */
export function handled(state: PropagationState, nodeId: string, seq: number, sync: NodeSync, at: number, refused?: string): Outcome[] {
  const node = state.nodes.get(nodeId);
  if (!node) return [];
  const last = node.checkpoints[node.checkpoints.length - 1];
  if (last && last.seq > seq) return syncedNode(state, node, sync, at);
  if (last && last.seq === seq && last.state !== 'refused' && last.state !== 'disconnected') return syncedNode(state, node, sync, at);
  // Handled again for the same rebuild: a good config replaces a refused one, a new connection a lost one.
  if (last && last.seq === seq && !(last.state === 'refused' && refused !== undefined)) node.checkpoints.pop();
  if (refused !== undefined && last?.state === 'refused') {
    // Still refused: one record of it, the latest reason.
    Object.assign(last, { seq, at, error: refused });
    return [];
  }
  // A checkpoint only where a tracked change waits for it: no change would ever look it up otherwise.
  const after = lastMeaningful(node)?.seq ?? 0;
  if (!state.changes.some((c) => c.seq > after && c.seq <= seq)) return syncedNode(state, node, sync, at);
  // A node in sync was sent nothing for it (its config did not change): no sentAt, the last send was older.
  const sentAt = !sync.settled && sync.lastSentAt !== undefined ? { sentAt: sync.lastSentAt } : {};
  const cp: Checkpoint = refused !== undefined ? { seq, at, state: 'refused', error: refused } : { seq, at, state: 'sent', ...sentAt };
  node.checkpoints.push(cp);
  return syncedNode(state, node, sync, at);
}

/** The node's streams changed (a request came: maybe an ACK or a NACK; or a response went out). */
export function synced(state: PropagationState, nodeId: string, sync: NodeSync, at: number): Outcome[] {
  const node = state.nodes.get(nodeId);
  return node?.connected ? syncedNode(state, node, sync, at) : [];
}

function syncedNode(state: PropagationState, node: NodeTrack, sync: NodeSync, at: number): Outcome[] {
  if (!node.connected || !sync.settled) return [];
  const outcomes: Outcome[] = [];
  for (const cp of node.checkpoints) {
    if (cp.state !== 'sent') continue;
    const nack = sync.nack;
    if (nack) Object.assign(cp, { state: 'nacked', nackedAt: Math.max(nack.at, cp.at), error: nack.message.trim() });
    else Object.assign(cp, { state: 'acked', ackedAt: at });
    for (const change of state.changes) {
      if (firstCheckpoint(node, change) !== cp) continue;
      if (!nack) outcomes.push({ change, nodeId: node.nodeId, state: 'acked', latencyMs: Math.max(0, at - change.observedAt) });
      else {
        const firstNack = !change.nacked;
        change.nacked = true;
        outcomes.push({ change, nodeId: node.nodeId, state: 'nacked', firstNack });
      }
    }
  }
  return outcomes;
}

/** The last checkpoint that says something of the node's config (lost and refused ones do not). */
function lastMeaningful(node: NodeTrack): Checkpoint | undefined {
  for (let i = node.checkpoints.length - 1; i >= 0; i--) {
    const cp = node.checkpoints[i];
    if (cp.state !== 'disconnected' && cp.state !== 'refused') return cp;
  }
  return undefined;
}

/** The node's first checkpoint that carries the change and says something (not lost to a disconnect, not refused). */
function firstCheckpoint(node: NodeTrack, change: TrackedChange): Checkpoint | undefined {
  for (const cp of node.checkpoints) if (cp.seq >= change.seq && cp.state !== 'disconnected' && cp.state !== 'refused') return cp;
  return undefined;
}

/** Forgets checkpoints older than every tracked change, and gone nodes no tracked change saw. */
function prune(state: PropagationState): void {
  const oldest = state.changes[0];
  for (const [id, node] of state.nodes) {
    if (oldest) node.checkpoints = node.checkpoints.filter((cp) => cp.seq >= oldest.seq);
    else node.checkpoints = [];
    if (!node.connected && node.checkpoints.length === 0 && (oldest === undefined || (node.disconnectedAt ?? 0) < oldest.observedAt)) state.nodes.delete(id);
  }
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** One node's state for one change; undefined when the node has nothing to do with it (gone before it). */
export function proxyPropagation(node: NodeTrack, change: TrackedChange): ProxyPropagation | undefined {
  const cp = firstCheckpoint(node, change);
  const base = { nodeId: node.nodeId, ...(node.pod ? { pod: node.pod } : {}), cluster: node.cluster, kind: node.kind };
  if (cp) {
    const state: ProxyPropagationState = cp.state === 'sent' ? 'sent' : cp.state === 'acked' ? 'acked' : 'nacked';
    return {
      ...base,
      state,
      ...(cp.sentAt !== undefined ? { sentAt: iso(cp.sentAt) } : {}),
      ...(cp.ackedAt !== undefined ? { ackedAt: iso(cp.ackedAt), latencyMs: Math.max(0, cp.ackedAt - change.observedAt) } : {}),
      ...(cp.nackedAt !== undefined ? { nackedAt: iso(cp.nackedAt) } : {}),
      ...(cp.error !== undefined ? { error: cp.error } : {}),
    };
  }
  const lost = node.checkpoints.find((c) => c.seq >= change.seq);
  if (!node.connected) {
    // Gone before the change was observed, with nothing of it sent: not one of its proxies.
    if (!lost && (node.disconnectedAt ?? 0) < change.observedAt) return undefined;
    return { ...base, state: 'disconnected', ...(lost?.sentAt !== undefined ? { sentAt: iso(lost.sentAt) } : {}) };
  }
  const refused = node.checkpoints.find((c) => c.seq >= change.seq && c.state === 'refused');
  return { ...base, state: 'pending', ...(refused?.error !== undefined ? { error: `the control plane could not build this proxy's config: ${refused.error}` } : {}) };
}

export function emptySummary(): Record<ProxyPropagationState, number> {
  return { acked: 0, nacked: 0, sent: 0, pending: 0, disconnected: 0 };
}

/** The report of one change (what /debug/config_distribution serves). */
export function changeReport(state: PropagationState, change: TrackedChange): ConfigChange {
  const proxies: ProxyPropagation[] = [];
  for (const node of state.nodes.values()) {
    const p = proxyPropagation(node, change);
    if (p) proxies.push(p);
  }
  proxies.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.nodeId.localeCompare(b.nodeId));
  const summary = emptySummary();
  for (const p of proxies) summary[p.state]++;
  const lastAck = proxies.reduce((m, p) => (p.ackedAt && p.ackedAt > m ? p.ackedAt : m), '');
  const complete = proxies.length > 0 && summary.acked === proxies.length;
  return {
    kind: change.kind,
    namespace: change.namespace,
    name: change.name,
    sourceCluster: change.sourceCluster,
    resourceVersion: change.resourceVersion,
    ...(change.generation !== undefined ? { generation: change.generation } : {}),
    event: change.event,
    observedAt: new Date(change.observedAt).toISOString(),
    // Empty until the rebuild that carries it has run (pushes are debounced).
    snapshotVersion: change.snapshotVersion ?? '',
    proxies,
    summary,
    ...(complete && lastAck ? { completedAt: lastAck } : {}),
  };
}

/** `Kind/namespace/name` (the ?resource= form); the kind matched without regard to case. */
export function resourceMatches(change: Pick<TrackedChange, 'kind' | 'namespace' | 'name'>, resource: { kind: string; namespace: string; name: string }): boolean {
  return change.kind.toLowerCase() === resource.kind.toLowerCase() && change.namespace === resource.namespace && change.name === resource.name;
}

/** Parses `Kind/namespace/name`; an error names what is wrong. */
export function parseResource(text: string): { kind: string; namespace: string; name: string } {
  const parts = text.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw new Error(`resource "${text}" is not Kind/namespace/name, e.g. VirtualService/sample/helloworld`);
  }
  return { kind: parts[0], namespace: parts[1], name: parts[2] };
}

/** Newest first, optionally one object's only. */
export function reportChanges(state: PropagationState, resource?: { kind: string; namespace: string; name: string }): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (let i = state.changes.length - 1; i >= 0; i--) {
    const c = state.changes[i];
    if (!resource || resourceMatches(c, resource)) out.push(changeReport(state, c));
  }
  return out;
}
