// The Endpoints mirror: core/v1 Endpoints of each Service (same name), built from its EndpointSlices,
// for the users and tools that still read `kubectl get endpoints`. The slices are the source of truth
// (the mesh reads them); this view is read-only for users (the type serves get/list/watch only).
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { ControllerContext } from './context.js';
import type { Reconciler } from './controller.js';
import { SERVICE_NAME_LABEL } from './endpointslice.js';
import { isRecord } from './read.js';
import { ENDPOINTS, ENDPOINTSLICES, SERVICES, isNotFound, namespacedKey, splitNamespacedKey } from './resources.js';

interface Subset {
  addresses?: object[];
  notReadyAddresses?: object[];
  ports?: object[];
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** One subset per slice with endpoints, as the slices group addresses by their ports. */
export function subsetsFromSlices(slices: readonly StoredObject[]): Subset[] {
  const subsets: Subset[] = [];
  const ordered = [...slices].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const slice of ordered) {
    const ready: object[] = [];
    const notReady: object[] = [];
    for (const ep of list(slice.endpoints)) {
      if (!isRecord(ep)) continue;
      const conditions = isRecord(ep.conditions) ? ep.conditions : {};
      for (const ip of list(ep.addresses)) {
        if (typeof ip !== 'string') continue;
        const address = { ip, ...(typeof ep.nodeName === 'string' ? { nodeName: ep.nodeName } : {}), ...(isRecord(ep.targetRef) ? { targetRef: ep.targetRef } : {}) };
        (conditions.ready === false ? notReady : ready).push(address);
      }
    }
    if (ready.length === 0 && notReady.length === 0) continue;
    const ports = list(slice.ports).filter(isRecord).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' }));
    subsets.push({ ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ...(ports.length ? { ports } : {}) });
  }
  return subsets;
}

export function endpointsController(ctx: ControllerContext): Reconciler {
  function reconcile(key: string): void {
    const { namespace, name } = splitNamespacedKey(key);
    const current = ctx.informers.for(ENDPOINTS).get(namespace, name);
    const service = ctx.informers.for(SERVICES).get(namespace, name);
    if (!service) {
      if (current) {
        try {
          ctx.store.delete(ENDPOINTS, namespace, name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return;
    }
    const slices = ctx.informers.for(ENDPOINTSLICES).list(namespace).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name);
    const subsets = subsetsFromSlices(slices);
    const labels = service.metadata.labels;
    const desired: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace, ...(labels ? { labels } : {}) },
      ...(subsets.length ? { subsets } : {}),
    };
    if (!current) {
      ctx.store.create(ENDPOINTS, desired);
      return;
    }
    if (JSON.stringify(current.subsets ?? null) === JSON.stringify(desired.subsets ?? null) && JSON.stringify(current.metadata.labels ?? null) === JSON.stringify(labels ?? null)) return;
    ctx.store.update(ENDPOINTS, { ...desired, metadata: { ...current.metadata, ...(labels ? { labels } : {}) } });
  }

  return {
    name: 'endpoints',
    watches: [
      { type: SERVICES, keysFor: (e) => [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] },
      {
        type: ENDPOINTSLICES,
        keysFor: (e) => {
          const svc = e.object.metadata.labels?.[SERVICE_NAME_LABEL];
          return svc ? [namespacedKey(e.object.metadata.namespace, svc)] : [];
        },
      },
      { type: ENDPOINTS, keysFor: (e) => [namespacedKey(e.object.metadata.namespace, e.object.metadata.name)] },
    ],
    reconcile,
  };
}
