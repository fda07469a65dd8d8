// In-memory side of watch: a ring of recent changes (so a watch from an older resourceVersion replays
// what it missed, as the apiserver's watch cache does) and the fan-out to live watchers.
// Knows nothing about SQLite: the store records each committed change here.
import { gone } from '../../k8s/status.js';
import type { StoredObject } from '../../k8s/object.js';
import type { WatchEvent } from './store.js';

/** One committed change. `previous` is the object before an update or delete. */
export interface Change {
  revision: number;
  storageKey: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** After the change; for DELETED the last state carrying the deletion's resourceVersion. */
  object: StoredObject;
  previous?: StoredObject;
}

export type ObjectFilter = (obj: StoredObject) => boolean;

interface Watcher {
  storageKey: string;
  filter: ObjectFilter;
  onEvent: (event: WatchEvent) => void;
  /** Changes at or below this revision reached the watcher through its initial events. */
  startRevision: number;
  stopped: boolean;
}

type Job = { kind: 'change'; change: Change } | { kind: 'initial'; watcher: Watcher; events: WatchEvent[] };

/**
 * What a watcher with `filter` sees of a change, as the apiserver's cacheWatcher decides it: an update
 * that moves an object into the selection is ADDED, out of it is DELETED (with the old content and the
 * change's resourceVersion).
 */
export function eventFor(change: Change, filter: ObjectFilter): WatchEvent | undefined {
  const nowMatches = change.type !== 'DELETED' && filter(change.object);
  const before = change.type === 'DELETED' ? change.previous ?? change.object : change.previous;
  const beforeMatches = before !== undefined && filter(before);
  if (nowMatches) return { type: beforeMatches ? 'MODIFIED' : 'ADDED', object: change.object };
  if (!beforeMatches) return undefined;
  if (change.type === 'DELETED') return { type: 'DELETED', object: change.object };
  const leaving = { ...before, metadata: { ...before.metadata, resourceVersion: String(change.revision) } };
  return { type: 'DELETED', object: leaving };
}

export class WatchHub {
  private readonly ring: Array<Change | undefined>;
  private ringStart = 0;
  private ringCount = 0;
  /** Every change above this revision is still in the ring. */
  private floor: number;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly queue: Job[] = [];
  private draining = false;
  private listenerErrors = 0;

  constructor(
    private readonly capacity: number,
    /** The store's revision when it was opened: nothing before it can be replayed. */
    openRevision: number,
    private readonly log: (message: string) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`watch history size must be a positive integer, got ${capacity}`);
    this.ring = new Array<Change | undefined>(capacity);
    this.floor = openRevision;
  }

  get errorsFromListeners(): number {
    return this.listenerErrors;
  }

  /** The oldest resourceVersion a watch may start from. */
  get oldestReplayableRevision(): number {
    return this.floor;
  }

  /** Records a committed change and delivers it to the watchers of its type. */
  record(change: Change): void {
    if (this.ringCount === this.capacity) {
      const evicted = this.ring[this.ringStart]!;
      this.floor = evicted.revision;
      this.ringStart = (this.ringStart + 1) % this.capacity;
      this.ringCount--;
    }
    this.ring[(this.ringStart + this.ringCount) % this.capacity] = change;
    this.ringCount++;
    this.enqueue({ kind: 'change', change });
  }

  /** Changes of one type after `revision`, oldest first. Throws 410 when the ring no longer has them. */
  changesSince(storageKey: string, revision: number): Change[] {
    if (revision < this.floor) throw gone(`too old resource version: ${revision} (${this.floor})`);
    const out: Change[] = [];
    for (let i = this.ringCount - 1; i >= 0; i--) {
      const c = this.ring[(this.ringStart + i) % this.capacity]!;
      if (c.revision <= revision) break;
      if (c.storageKey === storageKey) out.push(c);
    }
    return out.reverse();
  }

  /**
   * Registers a watcher that first receives `initial` and then every change above `startRevision`.
   * Delivery goes through the same queue as changes, so a watch opened from inside a listener still
   * sees its events in order.
   */
  subscribe(storageKey: string, filter: ObjectFilter, startRevision: number, initial: WatchEvent[], onEvent: (event: WatchEvent) => void): () => void {
    const watcher: Watcher = { storageKey, filter, onEvent, startRevision, stopped: false };
    let set = this.watchers.get(storageKey);
    if (!set) this.watchers.set(storageKey, (set = new Set()));
    set.add(watcher);
    if (initial.length > 0) this.enqueue({ kind: 'initial', watcher, events: initial });
    return () => this.unsubscribe(watcher);
  }

  stopAll(): void {
    for (const set of this.watchers.values()) for (const w of set) w.stopped = true;
    this.watchers.clear();
  }

  private unsubscribe(watcher: Watcher): void {
    watcher.stopped = true;
    const set = this.watchers.get(watcher.storageKey);
    set?.delete(watcher);
    if (set?.size === 0) this.watchers.delete(watcher.storageKey);
  }

  // A listener may write to the store; its change is queued and delivered after the current one has
  // reached every watcher, so every watcher sees changes in revision order.
  private enqueue(job: Job): void {
    this.queue.push(job);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) this.run(job);
    } finally {
      this.draining = false;
    }
  }

  private run(job: Job): void {
    if (job.kind === 'initial') {
      for (const event of job.events) {
        if (job.watcher.stopped) return;
        this.deliver(job.watcher, event);
      }
      return;
    }
    const set = this.watchers.get(job.change.storageKey);
    if (!set) return;
    for (const watcher of [...set]) {
      if (watcher.stopped || job.change.revision <= watcher.startRevision) continue;
      const event = eventFor(job.change, watcher.filter);
      if (event) this.deliver(watcher, event);
    }
  }

  private deliver(watcher: Watcher, event: WatchEvent): void {
    try {
      // Each listener gets its own copy: one cannot change what another (or the history) sees.
      watcher.onEvent({ type: event.type, object: structuredClone(event.object) });
    } catch (err) {
      this.listenerErrors++;
      const m = event.object.metadata;
      const where = m.namespace ? `${m.namespace}/${m.name}` : m.name;
      this.log(
        `store: watch listener on ${watcher.storageKey} threw on ${event.type} ${where} (resourceVersion ${m.resourceVersion}); ` +
          `${this.listenerErrors} listener error(s) so far: ${err instanceof Error ? err.stack ?? err.message : String(err)}`,
      );
    }
  }
}
