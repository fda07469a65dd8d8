// One stored copy, many served versions: Istio kinds are stored once and served as v1, v1beta1 and
// v1alpha3 (their schemas are the same), so only `apiVersion` changes on the way out.
import type { ResourceType } from '../../k8s/kinds.js';
import { apiVersionOf } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';

export function asServed<T extends KubeObject>(obj: T, group: string, version: string): T {
  return { ...obj, apiVersion: apiVersionOf(group, version) };
}

export function listOf(t: ResourceType, group: string, version: string, items: KubeObject[], resourceVersion: string): object {
  return {
    kind: t.listKind,
    apiVersion: apiVersionOf(group, version),
    metadata: { resourceVersion },
    items: items.map((o) => asServed(o, group, version)),
  };
}
