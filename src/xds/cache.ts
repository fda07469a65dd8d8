// Per-node snapshot cache (go-control-plane's SnapshotCache shape). The xDS server reads it
// through the SnapshotSource contract only; whoever builds config calls setSnapshot.

import { SnapshotPreparer, type PreparedSnapshot, type XdsSnapshot } from './snapshot.js';

/** Called after a node's snapshot changes (undefined after clearSnapshot). Must not throw. */
export type SnapshotListener = (prepared: PreparedSnapshot | undefined) => void;

/**
 * What the xDS server needs from a cache.
 * - getPrepared returns the current encoded snapshot for a node, or undefined if none is set.
 * - subscribe calls the listener synchronously after every setSnapshot / clearSnapshot for that
 *   node id, in the order the calls happen; the returned function stops it.
 * Returned values are read-only and shared: callers must not alter them.
 */
export interface SnapshotSource {
  getPrepared(nodeId: string): PreparedSnapshot | undefined;
  subscribe(nodeId: string, listener: SnapshotListener): () => void;
}

export class SnapshotCache implements SnapshotSource {
  private readonly prepared = new Map<string, PreparedSnapshot>();
  private readonly listeners = new Map<string, Set<SnapshotListener>>();
  private readonly preparer = new SnapshotPreparer();

  /**
   * Sets the node's snapshot. Throws SnapshotError (listing every problem) if it is inconsistent or
   * a resource does not fit its proto; the previous snapshot then stays in place and is served.
   */
  setSnapshot(nodeId: string, snapshot: XdsSnapshot): void {
    const prepared = this.preparer.prepare(nodeId, snapshot, this.prepared.get(nodeId));
    this.prepared.set(nodeId, prepared);
    this.notify(nodeId, prepared);
  }

  /** Forgets the node's snapshot; connected streams keep what they have and wait for the next one. */
  clearSnapshot(nodeId: string): void {
    if (!this.prepared.delete(nodeId)) return;
    this.notify(nodeId, undefined);
  }

  getSnapshot(nodeId: string): XdsSnapshot | undefined {
    return this.prepared.get(nodeId)?.snapshot;
  }

  getPrepared(nodeId: string): PreparedSnapshot | undefined {
    return this.prepared.get(nodeId);
  }

  /** Node ids that have a snapshot. */
  nodeIds(): string[] {
    return [...this.prepared.keys()];
  }

  subscribe(nodeId: string, listener: SnapshotListener): () => void {
    let set = this.listeners.get(nodeId);
    if (!set) {
      set = new Set();
      this.listeners.set(nodeId, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(nodeId);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(nodeId);
    };
  }

  private notify(nodeId: string, prepared: PreparedSnapshot | undefined): void {
    for (const listener of [...(this.listeners.get(nodeId) ?? [])]) listener(prepared);
  }
}
