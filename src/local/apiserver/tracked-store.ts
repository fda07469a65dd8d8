// The store as an in-process writer sees it: every create and update is recorded in managedFields as
// an Update by `manager`, as the apiserver records the writes of kube-controller-manager and the
// kubelet. The local controllers and kubelet write to the store directly, not through HTTP, so this is
// where their ownership is recorded. A write that changes the status of a kind with a status
// subresource is recorded as two, the object's and the status subresource's, as a controller's Update
// and UpdateStatus calls would be.
import { isDeepStrictEqual } from 'node:util';
import { parseApiVersion } from '../../k8s/kinds.js';
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import type { ObjectStore } from '../store/store.js';
import { trackUpdate } from './field-manager.js';

export function storeWritingAs(store: ObjectStore, manager: string, now: () => number = Date.now): ObjectStore {
  const track = (t: ResourceType, next: KubeObject, live: KubeObject | undefined, endpoint: 'main' | 'status'): KubeObject => {
    const { group, version } = parseApiVersion(next.apiVersion);
    return trackUpdate(next, { type: t, group, version, endpoint, manager, ...(live ? { live } : {}), now: now() });
  };
  return {
    get: (t, namespace, name) => store.get(t, namespace, name),
    list: (t, opts) => store.list(t, opts),
    delete: (t, namespace, name) => store.delete(t, namespace, name),
    watch: (t, opts, onEvent) => store.watch(t, opts, onEvent),
    currentResourceVersion: () => store.currentResourceVersion(),
    close: () => store.close(),
    create(t, obj) {
      const { managedFields: _ignored, ...metadata } = obj.metadata;
      return store.create(t, track(t, { ...obj, metadata }, undefined, 'main'));
    },
    update(t, obj) {
      const live = store.get(t, obj.metadata.namespace, obj.metadata.name ?? '');
      if (!live) return store.update(t, obj);
      // Ownership starts from what is stored, whatever managedFields the writer's copy carries.
      const fromLive: KubeObject = { ...obj, metadata: { ...obj.metadata, managedFields: live.metadata.managedFields } };
      if (!t.subresources.includes('status')) return store.update(t, track(t, fromLive, live, 'main'));
      // Most writes touch one side only (a kubelet's pod status, a controller's spec): skip the other's bookkeeping.
      let managedFields = live.metadata.managedFields;
      if (!isDeepStrictEqual(comparable(live), comparable(fromLive))) {
        const { status: liveStatus } = live;
        managedFields = track(t, liveStatus === undefined ? withoutStatus(fromLive) : { ...fromLive, status: liveStatus }, live, 'main').metadata.managedFields;
      }
      const next = { ...fromLive, metadata: { ...fromLive.metadata, managedFields } };
      if (isDeepStrictEqual(live.status, fromLive.status)) return store.update(t, next);
      return store.update(t, track(t, next, { ...live, metadata: { ...live.metadata, managedFields } }, 'status'));
    },
  };
}

/** What a write of the object itself (not its status) may change. */
function comparable(obj: KubeObject): KubeObject {
  const { managedFields: _managed, resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...withoutStatus(obj), metadata };
}

function withoutStatus(obj: KubeObject): KubeObject {
  const { status: _status, ...rest } = obj;
  return rest;
}
