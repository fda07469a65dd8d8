// How a kubelet's write of a Pod maps onto the real API, as the real kubelet (and scheduler) send it:
// setting spec.nodeName is a Binding (pods/binding: no kube-scheduler runs, the node binds what it
// takes); a changed status is a JSON merge patch of pods/status that names the pod's uid (a pod
// deleted and made again under the same name is not patched with the old one's status); nothing else
// of a Pod is the node's to change. Pure: no I/O.
import { threeWayMergePatch } from '../k8s/client/merge-patch.js';
import type { KubeObject, StoredObject } from '../k8s/object.js';

export interface PodWrite {
  /** The node to bind the pod to: the change of spec.nodeName from unset. */
  bindTo?: string;
  /** The status to report, when it differs from the current one. */
  status?: Record<string, unknown>;
}

const isEqual = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/**
 * What `desired` (the kubelet's update of `current`) asks of the API. Throws for a change the node
 * may not make: another field of spec or metadata, or moving a pod already bound elsewhere.
 */
export function podWriteFor(current: StoredObject, desired: KubeObject): PodWrite {
  const curSpec = (current.spec ?? {}) as Record<string, unknown>;
  const newSpec = (desired.spec ?? {}) as Record<string, unknown>;
  const who = `pod ${current.metadata.namespace}/${current.metadata.name}`;
  const write: PodWrite = {};
  if (newSpec.nodeName !== curSpec.nodeName) {
    if (curSpec.nodeName) throw new Error(`${who} is bound to ${String(curSpec.nodeName)}: a pod is never bound again`);
    if (typeof newSpec.nodeName !== 'string' || !newSpec.nodeName) throw new Error(`${who}: spec.nodeName can only be set, to a node name`);
    write.bindTo = newSpec.nodeName;
  }
  const { nodeName: _a, ...curRest } = curSpec;
  const { nodeName: _b, ...newRest } = newSpec;
  if (!isEqual(curRest, newRest)) throw new Error(`${who}: the node writes only spec.nodeName (binding) and status, not the rest of the spec`);
  const { resourceVersion: _c, ...curMeta } = current.metadata;
  const { resourceVersion: _d, ...newMeta } = desired.metadata;
  if (!isEqual(curMeta, newMeta)) throw new Error(`${who}: the node writes only spec.nodeName (binding) and status, not metadata`);
  if (!isEqual(current.status ?? {}, desired.status ?? {})) write.status = (desired.status ?? {}) as Record<string, unknown>;
  return write;
}

/** core/v1 Binding of the pod to the node (POST pods/<name>/binding), with the uid as precondition. */
export function bindingFor(pod: StoredObject, nodeName: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
    target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
  };
}

/**
 * The merge patch (application/merge-patch+json) that turns the pod's status as the API last showed it
 * into `status`: changed fields, removed ones as null (a container's `waiting` gone when it runs),
 * lists whole. metadata.uid is the precondition. Undefined when there is nothing to change.
 */
export function statusPatchFor(server: StoredObject, status: Record<string, unknown>): Record<string, unknown> | undefined {
  const before = (server.status ?? {}) as Record<string, unknown>;
  const diff = threeWayMergePatch(before, status, before);
  if (diff === undefined) return undefined;
  return { metadata: { uid: server.metadata.uid }, status: diff };
}

/** Resource versions are etcd revisions: whether `a` is older than `b` (an unreadable one never is). */
export function olderVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}
