// Owner references as the workload controllers write them, and claiming (adopt/release) as
// kube-controller-manager's ControllerRefManager does it.
import type { ResourceType } from '../../k8s/kinds.js';
import type { OwnerReference, StoredObject } from '../../k8s/object.js';
import type { LabelSelector } from '../../k8s/selectors.js';
import { matchLabelSelector } from '../../k8s/selectors.js';
import type { ControllerContext } from './context.js';
import { isEmptySelector, readLabelSelector } from './label-selector.js';
import { isRecord } from './read.js';

/** The reference a controller puts on what it creates: controller: true, blockOwnerDeletion: true. */
export function controllerReferenceTo(owner: StoredObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isControlledBy(obj: { metadata: { ownerReferences?: OwnerReference[] } }, owner: StoredObject): boolean {
  const refs = obj.metadata.ownerReferences;
  return Array.isArray(refs) && refs.some((r) => r.controller === true && r.uid === owner.metadata.uid);
}

function hasController(obj: StoredObject): boolean {
  const refs = obj.metadata.ownerReferences;
  return Array.isArray(refs) && refs.some((r) => r.controller === true);
}

/**
 * The objects of `type` in the owner's namespace that the owner controls after claiming: a controlled
 * object whose labels no longer match the selector is released (its reference removed, so it lives on
 * alone); an object without a controller that matches is adopted. An empty selector adopts nothing.
 */
export function claimObjects(ctx: ControllerContext, type: ResourceType, owner: StoredObject, selector: LabelSelector, controllerName: string): StoredObject[] {
  const informer = ctx.informers.for(type);
  const claimed: StoredObject[] = [];
  const where = `${owner.metadata.namespace}/${owner.metadata.name}`;
  for (const obj of informer.listByOwner(owner.metadata.uid)) {
    if (!isControlledBy(obj, owner)) continue;
    if (matchLabelSelector(selector, obj.metadata.labels)) {
      claimed.push(obj);
      continue;
    }
    const ownerReferences = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
    ctx.store.update(type, { ...obj, metadata: { ...obj.metadata, ownerReferences } });
    ctx.log(`${controllerName}: ${where}: released ${type.singular} ${obj.metadata.name}, whose labels no longer match the selector`);
  }
  if (owner.metadata.deletionTimestamp || isEmptySelector(selector)) return claimed;
  for (const obj of informer.list(owner.metadata.namespace)) {
    if (hasController(obj) || obj.metadata.deletionTimestamp || !matchLabelSelector(selector, obj.metadata.labels)) continue;
    const ownerReferences = [...(obj.metadata.ownerReferences ?? []), controllerReferenceTo(owner)];
    claimed.push(ctx.store.update(type, { ...obj, metadata: { ...obj.metadata, ownerReferences } }));
    ctx.log(`${controllerName}: ${where}: adopted ${type.singular} ${obj.metadata.name}`);
  }
  return claimed;
}

/**
 * The owners (Deployments, ReplicaSets) whose `spec.selector` matches the object's labels: who may adopt
 * an orphan. An owner with an unreadable or empty selector is skipped here; its own sync reports it.
 */
export function selectingOwners(owners: readonly StoredObject[], obj: StoredObject): StoredObject[] {
  return owners.filter((owner) => {
    const spec = owner.spec;
    if (!isRecord(spec)) return false;
    let selector: LabelSelector;
    try {
      selector = readLabelSelector(spec.selector, 'spec.selector');
    } catch {
      return false;
    }
    return !isEmptySelector(selector) && matchLabelSelector(selector, obj.metadata.labels);
  });
}
