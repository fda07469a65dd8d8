// The kubelet's view of the Pods over a real API server (remote-store.ts): two list+watches merged
// into one cache, each pod as the API last showed it with the node's writes not yet seen back laid over
// it. The pods bound to this node come from one watch, the unbound ones from the other: a pod bound here
// leaves the second as DELETED (old content), which is not passed on, since it arrives in the first.
// An event older than what the cache holds (by resourceVersion) changes nothing. Pure: no I/O; every
// change of what the kubelet sees is handed to `changed`.
import type { StoredObject } from '../k8s/object.js';
import type { WatchEvent } from '../local/store/store.js';
import { olderVersion } from './pod-writes.js';

export type Source = 'bound' | 'unbound';

export interface PodEntry {
  /** The pod as the API last showed it (a watch event or a write's answer). */
  server: StoredObject;
  source: Source;
  /** Written here, not yet seen back from the API. */
  bindTo?: string;
  status?: Record<string, unknown>;
  statusSeq?: number;
  deleted?: boolean;
}

export class PodCache {
  /** By `namespace/name`. */
  readonly pods = new Map<string, PodEntry>();

  constructor(private readonly onChange: (before: StoredObject | undefined, after: StoredObject | undefined) => void) {}

  /** Hands on a change of what the kubelet sees (a pod deleted here stays unseen: nothing to tell). */
  private changed(before: StoredObject | undefined, after: StoredObject | undefined): void {
    if (before || after) this.onChange(before, after);
  }

  /** What the kubelet sees of the pod at `key`, undefined when none (or deleted here). */
  visible(key: string): StoredObject | undefined {
    const entry = this.pods.get(key);
    return entry && visible(entry);
  }

  /** One pod event from one of the two watches (or list), merged into the cache. */
  apply(source: Source, type: WatchEvent['type'], obj: StoredObject): void {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const entry = this.pods.get(key);
    const sameUid = entry?.server.metadata.uid === obj.metadata.uid;
    if (type === 'DELETED') {
      if (!entry || !sameUid) return;
      // Leaving the unbound selection by its binding: the bound watch brings it.
      if (source === 'unbound' && (entry.source === 'bound' || entry.bindTo)) return;
      if (source === 'bound' && entry.source === 'unbound') return;
      this.pods.delete(key);
      this.changed(visible(entry), undefined);
      return;
    }
    if (entry && sameUid) {
      if (source === 'unbound' && entry.source === 'bound') return; // older than what the bound watch showed
      if (olderVersion(obj.metadata.resourceVersion, entry.server.metadata.resourceVersion)) return;
      // The same version from the same watch (a relist): the same object, nothing changed.
      if (source === entry.source && obj.metadata.resourceVersion === entry.server.metadata.resourceVersion) return;
      const before = visible(entry);
      entry.server = obj;
      entry.source = source;
      if (source === 'bound') entry.bindTo = undefined;
      this.changed(before, visible(entry));
      return;
    }
    if (entry) {
      // Another pod under the same name: the one we held is gone.
      this.pods.delete(key);
      this.changed(visible(entry), undefined);
    }
    const fresh: PodEntry = { server: obj, source };
    this.pods.set(key, fresh);
    this.changed(undefined, visible(fresh));
  }

  /** After a (re)list: what the cache held from that source and the list lacks is gone. */
  replace(source: Source, items: StoredObject[]): void {
    const listed = new Set(items.map((o) => `${o.metadata.namespace}/${o.metadata.name}/${o.metadata.uid}`));
    for (const [key, entry] of [...this.pods]) {
      if (entry.source === source && !listed.has(`${key}/${entry.server.metadata.uid}`)) this.apply(source, 'DELETED', entry.server);
    }
    for (const item of items) this.apply(source, 'ADDED', item);
  }
}

/** The pod as the kubelet sees it: the API's, with this node's writes not yet seen back laid over it. */
export function visible(entry: PodEntry): StoredObject | undefined {
  if (entry.deleted) return undefined;
  if (!entry.bindTo && !entry.status) return entry.server;
  const spec = (entry.server.spec ?? {}) as Record<string, unknown>;
  return {
    ...entry.server,
    spec: entry.bindTo ? { ...spec, nodeName: entry.bindTo } : spec,
    status: entry.status ?? entry.server.status,
  };
}

