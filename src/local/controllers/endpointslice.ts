// The EndpointSlice controller: for every Service with a selector, discovery.k8s.io/v1 EndpointSlices
// (generateName `<service>-`, labelled and owned as the endpointslice controller does) listing the
// selected pods that have an IPv4 address, with ready/serving/terminating conditions.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import type { ControllerContext } from './context.js';
import type { Reconciler } from './controller.js';
import type { EndpointPort, ExistingSlice } from './endpointslice-build.js';
import { endpointGroups, planSlices, portsKey, readService } from './endpointslice-build.js';
import { matchesMapSelector } from './label-selector.js';
import { controllerReferenceTo, isControlledBy } from './owners.js';
import { isRecord, optArray, optRecord, optStringMap } from './read.js';
import { deleteObject } from './deletion.js';
import { ENDPOINTSLICES, PODS, SERVICES, namespacedKey, splitNamespacedKey } from './resources.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'endpointslice-controller.k8s.io';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

export function endpointSliceController(ctx: ControllerContext): Reconciler {
  /** Each Service's selector as last seen, so a pod event finds its services without a store read. */
  const selectors = new Map<string, Record<string, string> | undefined>();
  /** The pods each Service selected at its last reconcile, and the reverse: a pod that stops matching still wakes it. */
  const servicePods = new Map<string, Set<string>>();
  const podServices = new Map<string, Set<string>>();

  function rememberSelection(svcKey: string, podKeys: Set<string>): void {
    for (const podKey of servicePods.get(svcKey) ?? []) {
      const set = podServices.get(podKey);
      set?.delete(svcKey);
      if (set?.size === 0) podServices.delete(podKey);
    }
    if (podKeys.size === 0) servicePods.delete(svcKey);
    else servicePods.set(svcKey, podKeys);
    for (const podKey of podKeys) {
      let set = podServices.get(podKey);
      if (!set) podServices.set(podKey, (set = new Set()));
      set.add(svcKey);
    }
  }

  function servicesForPod(pod: StoredObject): string[] {
    const podKey = namespacedKey(pod.metadata.namespace, pod.metadata.name);
    const keys = new Set(podServices.get(podKey) ?? []);
    const prefix = `${pod.metadata.namespace ?? ''}/`;
    for (const [svcKey, selector] of selectors) {
      if (selector && svcKey.startsWith(prefix) && matchesMapSelector(selector, pod.metadata.labels)) keys.add(svcKey);
    }
    return [...keys];
  }

  function reconcile(key: string): void {
    const { namespace, name } = splitNamespacedKey(key);
    const svc = ctx.informers.for(SERVICES).get(namespace, name);
    const slices = ctx.informers
      .for(ENDPOINTSLICES)
      .list(namespace)
      .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE);
    // Slices of an earlier Service of the same name are not this one's to reuse.
    const mine: StoredObject[] = [];
    for (const slice of slices) {
      if (svc && isControlledBy(slice, svc)) mine.push(slice);
      else deleteObject(ctx, ENDPOINTSLICES, slice);
    }
    const view = svc ? readService(svc) : undefined;
    if (!svc || !view?.selector) {
      for (const slice of mine) deleteObject(ctx, ENDPOINTSLICES, slice);
      rememberSelection(key, new Set());
      return;
    }

    const selector = view.selector;
    const pods = ctx.informers
      .for(PODS)
      .list(namespace)
      .filter((p) => matchesMapSelector(selector, p.metadata.labels));
    rememberSelection(key, new Set(pods.map((p) => namespacedKey(p.metadata.namespace, p.metadata.name))));
    const groups = endpointGroups(view, pods, ctx.clusterName);
    const existing = new Map(mine.map((s) => [s.metadata.name, s]));
    const plan = planSlices(groups, mine.map(existingSlice));

    const labels: Record<string, string> = { ...view.labels, [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
    if (view.headless) labels[HEADLESS_LABEL] = '';
    const ownerReferences = [controllerReferenceTo(svc)];
    for (const slice of plan.slices) {
      const content = { addressType: 'IPv4', endpoints: slice.endpoints, ports: slice.ports };
      const current = slice.name === undefined ? undefined : existing.get(slice.name);
      if (!current) {
        const created: KubeObject = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { generateName: `${name}-`, namespace, labels, ownerReferences },
          ...content,
        };
        ctx.store.create(ENDPOINTSLICES, created);
        continue;
      }
      const desired = { labels, ownerReferences, ...content };
      const actual = {
        labels: current.metadata.labels ?? {},
        ownerReferences: current.metadata.ownerReferences,
        addressType: current.addressType,
        endpoints: current.endpoints,
        ports: current.ports,
      };
      // Plain JSON is enough: what we wrote comes back in the same key order, and an update that only
      // reorders keys is no change to the store (it sends no event).
      if (JSON.stringify(desired) === JSON.stringify(actual)) continue;
      ctx.store.update(ENDPOINTSLICES, { ...current, metadata: { ...current.metadata, labels, ownerReferences }, ...content });
    }
    for (const sliceName of plan.deletes) {
      const slice = existing.get(sliceName);
      if (slice) deleteObject(ctx, ENDPOINTSLICES, slice);
    }
  }

  return {
    name: 'endpointslice-controller',
    watches: [
      {
        type: SERVICES,
        keysFor: (e) => {
          const key = namespacedKey(e.object.metadata.namespace, e.object.metadata.name);
          if (e.type === 'DELETED') selectors.delete(key);
          else selectors.set(key, serviceSelector(e.object));
          return [key];
        },
      },
      { type: PODS, keysFor: (e) => servicesForPod(e.object) },
      {
        type: ENDPOINTSLICES,
        keysFor: (e) => {
          const labels = e.object.metadata.labels;
          const service = labels?.[SERVICE_NAME_LABEL];
          return service && labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE ? [namespacedKey(e.object.metadata.namespace, service)] : [];
        },
      },
    ],
    reconcile,
  };
}

/** The selector for routing pod events; a malformed one routes nothing here and fails in reconcile, where it is logged. */
function serviceSelector(svc: StoredObject): Record<string, string> | undefined {
  try {
    return optStringMap(optRecord(svc.spec, 'spec')?.selector, 'spec.selector');
  } catch {
    return undefined;
  }
}

function existingSlice(slice: StoredObject): ExistingSlice {
  const endpointUids: string[] = [];
  for (const e of optArray(slice.endpoints, 'endpoints')) {
    if (isRecord(e) && isRecord(e.targetRef) && typeof e.targetRef.uid === 'string') endpointUids.push(e.targetRef.uid);
  }
  const ports: EndpointPort[] = [];
  for (const p of optArray(slice.ports, 'ports')) if (isRecord(p)) ports.push({ name: String(p.name ?? ''), port: Number(p.port), protocol: String(p.protocol ?? 'TCP'), ...(typeof p.appProtocol === 'string' ? { appProtocol: p.appProtocol } : {}) });
  return { name: slice.metadata.name, portsKey: portsKey(ports), endpointUids };
}
