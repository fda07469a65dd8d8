// Shared informers: one store watch per resource type, kept as an in-memory cache (by namespace and by
// owner uid) and fanned out to every controller's handler. Controllers read the cache instead of
// re-listing (and re-parsing) the store on each reconcile, as kube-controller-manager's listers do.
// The store delivers watch events synchronously within each write, so the cache is current as soon as
// a write returns. Cached objects are shared: readers must never mutate them.
import type { ResourceType } from '../../k8s/kinds.js';
import { storageKey } from '../../k8s/kinds.js';
import type { StoredObject } from '../../k8s/object.js';
import type { ObjectStore, WatchEvent } from '../store/store.js';

export type EventHandler = (event: WatchEvent) => void;

export class Informer {
  private readonly byNamespace = new Map<string, Map<string, StoredObject>>();
  private readonly byOwner = new Map<string, Map<string, StoredObject>>();
  private readonly handlers: EventHandler[] = [];
  private stopWatch: (() => void) | undefined;

  constructor(
    readonly type: ResourceType,
    private readonly store: ObjectStore,
  ) {}

  /** Handlers added before start() also receive the initial ADDED replay of every object. */
  addHandler(handler: EventHandler): void {
    this.handlers.push(handler);
  }

  start(): void {
    if (this.stopWatch) return;
    this.stopWatch = this.store.watch(this.type, {}, (event) => {
      this.apply(event);
      for (const handler of this.handlers) handler(event);
    });
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
  }

  get(namespace: string | undefined, name: string): StoredObject | undefined {
    return this.byNamespace.get(this.type.namespaced ? namespace ?? '' : '')?.get(name);
  }

  /** Objects of one namespace, or of all when namespace is undefined. */
  list(namespace?: string): StoredObject[] {
    if (namespace !== undefined) return [...(this.byNamespace.get(this.type.namespaced ? namespace : '')?.values() ?? [])];
    const out: StoredObject[] = [];
    for (const objs of this.byNamespace.values()) out.push(...objs.values());
    return out;
  }

  /** Objects that carry an owner reference (controller or not) to this uid. */
  listByOwner(uid: string): StoredObject[] {
    return [...(this.byOwner.get(uid)?.values() ?? [])];
  }

  size(): number {
    let n = 0;
    for (const objs of this.byNamespace.values()) n += objs.size;
    return n;
  }

  private apply(event: WatchEvent): void {
    const obj = event.object;
    const ns = this.type.namespaced ? obj.metadata.namespace ?? '' : '';
    const key = `${ns}/${obj.metadata.name}`;
    const previous = this.byNamespace.get(ns)?.get(obj.metadata.name);
    if (previous) for (const uid of ownerUids(previous)) this.removeOwned(uid, key);
    if (event.type === 'DELETED') {
      const objs = this.byNamespace.get(ns);
      objs?.delete(obj.metadata.name);
      if (objs?.size === 0) this.byNamespace.delete(ns);
      return;
    }
    let objs = this.byNamespace.get(ns);
    if (!objs) this.byNamespace.set(ns, (objs = new Map()));
    objs.set(obj.metadata.name, obj);
    for (const uid of ownerUids(obj)) {
      let owned = this.byOwner.get(uid);
      if (!owned) this.byOwner.set(uid, (owned = new Map()));
      owned.set(key, obj);
    }
  }

  private removeOwned(uid: string, key: string): void {
    const owned = this.byOwner.get(uid);
    owned?.delete(key);
    if (owned?.size === 0) this.byOwner.delete(uid);
  }
}

function ownerUids(obj: StoredObject): string[] {
  const refs = obj.metadata.ownerReferences;
  return Array.isArray(refs) ? refs.map((r) => r.uid).filter((u): u is string => typeof u === 'string') : [];
}

export class Informers {
  private readonly informers = new Map<string, Informer>();

  constructor(private readonly store: ObjectStore) {}

  for(type: ResourceType): Informer {
    const key = storageKey(type);
    let informer = this.informers.get(key);
    if (!informer) this.informers.set(key, (informer = new Informer(type, this.store)));
    return informer;
  }

  startAll(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  stopAll(): void {
    for (const informer of this.informers.values()) informer.stop();
  }
}
