// The garbage collector: an object all of whose owners are gone is deleted (background cascade); one
// that lost only some owners has the dangling references removed. An owner being deleted with the
// `orphan` or `foregroundDeletion` finalizer (propagationPolicy Orphan/Foreground) is finalized here:
// its dependents are released, or deleted before it, and then it is removed. An index from owner uid to
// dependents, kept from watches of every type, finds the dependents when an owner is deleted; whether an
// owner still exists is read from the informer caches of every type (uid compared, not just the name),
// which the reconcile runs after all of them have been filled.
import type { ResourceType } from '../../k8s/kinds.js';
import { RESOURCE_TYPES, findByKind, parseApiVersion, storageKey } from '../../k8s/kinds.js';
import type { OwnerReference, StoredObject } from '../../k8s/object.js';
import type { ControllerContext } from './context.js';
import type { Reconciler, WatchSpec } from './controller.js';
import { deleteObject } from './deletion.js';
import { isNotFound } from './resources.js';
import { rfc3339 } from '../../k8s/time-format.js';

const TYPES_BY_STORAGE_KEY = new Map(RESOURCE_TYPES.map((t) => [storageKey(t), t]));

/** `<storage key>|<namespace>|<name>`: names and storage keys never contain '|'. */
function objectKey(t: ResourceType, obj: StoredObject): string {
  return `${storageKey(t)}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
}

function parseObjectKey(key: string): { type: ResourceType; namespace: string | undefined; name: string } {
  const [sk, namespace, name] = key.split('|');
  const type = sk === undefined ? undefined : TYPES_BY_STORAGE_KEY.get(sk);
  if (!type || name === undefined) throw new Error(`garbage collector key "${key}" names no known object`);
  return { type, namespace: namespace || undefined, name };
}

const ORPHAN_FINALIZER = 'orphan';
const FOREGROUND_FINALIZER = 'foregroundDeletion';

function gcFinalizers(obj: StoredObject): string[] {
  return (obj.metadata.finalizers ?? []).filter((f) => f === ORPHAN_FINALIZER || f === FOREGROUND_FINALIZER);
}

function ownerRefs(obj: StoredObject): OwnerReference[] {
  const refs = obj.metadata.ownerReferences;
  return Array.isArray(refs) ? refs : [];
}

/** The object with these references; none at all drops the field, as the apiserver omits empty lists. */
function withOwnerReferences(obj: StoredObject, refs: OwnerReference[]): StoredObject {
  const { ownerReferences: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata: refs.length > 0 ? { ...metadata, ownerReferences: refs } : metadata };
}

export function garbageCollector(ctx: ControllerContext): Reconciler {
  const dependentsByOwner = new Map<string, Set<string>>();
  const ownersByDependent = new Map<string, Set<string>>();
  /** Owner kinds the resource table does not know, reported once each. */
  const unknownOwnerKinds = new Set<string>();
  const keyByUid = new Map<string, string>();
  /** Objects being deleted that carry one of our finalizers. */
  const finalizing = new Set<string>();

  function index(key: string, owners: Set<string>): void {
    for (const uid of ownersByDependent.get(key) ?? []) {
      if (owners.has(uid)) continue;
      const deps = dependentsByOwner.get(uid);
      deps?.delete(key);
      if (deps?.size === 0) dependentsByOwner.delete(uid);
    }
    if (owners.size === 0) ownersByDependent.delete(key);
    else ownersByDependent.set(key, owners);
    for (const uid of owners) {
      let deps = dependentsByOwner.get(uid);
      if (!deps) dependentsByOwner.set(uid, (deps = new Set()));
      deps.add(key);
    }
  }

  function watchFor(t: ResourceType): WatchSpec {
    return {
      type: t,
      keysFor: (e) => {
        const key = objectKey(t, e.object);
        const keys: string[] = [];
        if (e.type === 'DELETED') {
          // An owner waiting in foreground deletion looks again once a dependent is gone.
          for (const uid of ownersByDependent.get(key) ?? []) {
            const ownerKey = keyByUid.get(uid);
            if (ownerKey !== undefined && finalizing.has(ownerKey)) keys.push(ownerKey);
          }
          index(key, new Set());
          keyByUid.delete(e.object.metadata.uid);
          finalizing.delete(key);
          keys.push(...(dependentsByOwner.get(e.object.metadata.uid) ?? []));
          return keys;
        }
        keyByUid.set(e.object.metadata.uid, key);
        if (e.object.metadata.deletionTimestamp && gcFinalizers(e.object).length > 0) {
          finalizing.add(key);
          keys.push(key);
        } else {
          finalizing.delete(key);
        }
        const owners = new Set(ownerRefs(e.object).map((r) => r.uid));
        const before = ownersByDependent.get(key);
        const changed = before === undefined ? owners.size > 0 : before.size !== owners.size || [...owners].some((u) => !before.has(u));
        index(key, owners);
        // New objects and changed references are checked for owners that are already gone.
        if (owners.size > 0 && (e.type === 'ADDED' || changed)) keys.push(key);
        return keys;
      },
    };
  }

  /** undefined: the owner's kind is unknown here, so its existence cannot be judged. */
  function ownerExists(ref: OwnerReference, namespace: string | undefined): boolean | undefined {
    const type = findByKind(parseApiVersion(ref.apiVersion).group, ref.kind);
    if (!type) {
      const kind = `${ref.apiVersion}/${ref.kind}`;
      if (!unknownOwnerKinds.has(kind)) {
        unknownOwnerKinds.add(kind);
        ctx.log(`garbage-collector: owner kind ${kind} is not a known resource type: its dependents are never collected`);
      }
      return undefined;
    }
    const owner = ctx.informers.for(type).get(type.namespaced ? namespace : undefined, ref.name);
    return owner !== undefined && owner.metadata.uid === ref.uid;
  }

  function dependentsOf(uid: string): Array<{ type: ResourceType; obj: StoredObject }> {
    const out: Array<{ type: ResourceType; obj: StoredObject }> = [];
    for (const depKey of dependentsByOwner.get(uid) ?? []) {
      const { type, namespace, name } = parseObjectKey(depKey);
      const obj = ctx.informers.for(type).get(namespace, name);
      if (obj) out.push({ type, obj });
    }
    return out;
  }

  function deleteInForeground(type: ResourceType, obj: StoredObject): void {
    const finalizers = [...(obj.metadata.finalizers ?? []).filter((f) => f !== FOREGROUND_FINALIZER), FOREGROUND_FINALIZER];
    try {
      ctx.store.update(type, { ...obj, metadata: { ...obj.metadata, finalizers, deletionTimestamp: rfc3339(ctx.clock.now()), deletionGracePeriodSeconds: 0 } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  function finalize(type: ResourceType, obj: StoredObject): void {
    const uid = obj.metadata.uid;
    let finalizers = obj.metadata.finalizers ?? [];
    if (finalizers.includes(ORPHAN_FINALIZER)) {
      for (const dep of dependentsOf(uid)) {
        ctx.store.update(dep.type, withOwnerReferences(dep.obj, ownerRefs(dep.obj).filter((r) => r.uid !== uid)));
      }
      finalizers = finalizers.filter((f) => f !== ORPHAN_FINALIZER);
    }
    if (finalizers.includes(FOREGROUND_FINALIZER)) {
      for (const dep of dependentsOf(uid)) {
        if (dep.obj.metadata.deletionTimestamp) continue;
        // As the apiserver's collector does: a dependent with dependents of its own goes in foreground
        // too, so the owner waits for the whole tree (Deployment -> ReplicaSet -> Pods).
        if (dependentsByOwner.has(dep.obj.metadata.uid)) deleteInForeground(dep.type, dep.obj);
        else deleteObject(ctx, dep.type, dep.obj);
      }
      const blocking = dependentsOf(uid).filter((d) => ownerRefs(d.obj).some((r) => r.uid === uid && r.blockOwnerDeletion === true));
      // Dependents that are still finishing their own deletion hold the owner; their DELETED event brings it back.
      if (blocking.length > 0) return;
      finalizers = finalizers.filter((f) => f !== FOREGROUND_FINALIZER);
    }
    try {
      // Bypassing the API server, so removing the last finalizer of a deleted object is ours to complete.
      if (finalizers.length === 0) ctx.store.delete(type, obj.metadata.namespace, obj.metadata.name);
      else ctx.store.update(type, { ...obj, metadata: { ...obj.metadata, finalizers } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  function reconcile(key: string): void {
    const { type, namespace, name } = parseObjectKey(key);
    const obj = ctx.informers.for(type).get(namespace, name);
    if (!obj) return;
    if (obj.metadata.deletionTimestamp && gcFinalizers(obj).length > 0) {
      finalize(type, obj);
      return;
    }
    const refs = ownerRefs(obj);
    if (refs.length === 0) return;
    const dangling = refs.filter((r) => ownerExists(r, namespace) === false);
    if (dangling.length === 0) return;
    if (dangling.length === refs.length) {
      deleteObject(ctx, type, obj);
      return;
    }
    const keep = refs.filter((r) => !dangling.includes(r));
    ctx.store.update(type, withOwnerReferences(obj, keep));
  }

  return {
    name: 'garbage-collector',
    watches: RESOURCE_TYPES.map(watchFor),
    reconcile,
  };
}
