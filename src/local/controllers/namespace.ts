// The Namespace controller: a namespace marked for deletion (metadata.deletionTimestamp, which the API
// server sets on DELETE) is emptied of every namespaced object and then removed; a live one is Active.
// The built-in namespaces are made to exist at start.
import type { KubeObject } from '../../k8s/object.js';
import { RESOURCE_TYPES } from '../../k8s/kinds.js';
import type { ControllerContext } from './context.js';
import type { Reconciler, ReconcileResult } from './controller.js';
import { optArray, optRecord, optString } from './read.js';
import { deleteObject } from './deletion.js';
import { NAMESPACES, isAlreadyExists, isNotFound } from './resources.js';

export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;
/** The spec finalizer the namespace controller owns (a real apiserver adds it on create). */
const KUBERNETES_FINALIZER = 'kubernetes';
/** A namespace still holding objects after a sweep (created meanwhile) is swept again this soon. */
const RESWEEP_MS = 1000;

export function namespaceObject(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: [KUBERNETES_FINALIZER] },
    status: { phase: 'Active' },
  };
}

export function ensureBuiltinNamespaces(ctx: ControllerContext): void {
  for (const name of BUILTIN_NAMESPACES) {
    if (ctx.store.get(NAMESPACES, undefined, name)) continue;
    try {
      ctx.store.create(NAMESPACES, namespaceObject(name));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

export function namespaceController(ctx: ControllerContext): Reconciler {
  return {
    name: 'namespace-controller',
    watches: [{ type: NAMESPACES, keysFor: (e) => (e.type === 'DELETED' ? [] : [e.object.metadata.name]) }],
    reconcile: (name) => syncNamespace(ctx, name),
  };
}

function syncNamespace(ctx: ControllerContext, name: string): ReconcileResult | void {
  const ns = ctx.store.get(NAMESPACES, undefined, name);
  if (!ns) return;
  const status = optRecord(ns.status, 'status') ?? {};
  const phase = optString(status.phase, 'status.phase');
  if (!ns.metadata.deletionTimestamp) {
    if (phase !== 'Active') ctx.store.update(NAMESPACES, { ...ns, status: { ...status, phase: 'Active' } });
    return;
  }
  let current = ns;
  if (phase !== 'Terminating') current = ctx.store.update(NAMESPACES, { ...ns, status: { ...status, phase: 'Terminating' } });

  let left = 0;
  for (const t of RESOURCE_TYPES) {
    if (!t.namespaced) continue;
    for (const obj of ctx.store.list(t, { namespace: name }).items) deleteObject(ctx, t, obj);
    left += ctx.store.list(t, { namespace: name }).items.length;
  }
  // Objects with finalizers are only marked: the namespace waits for their finalizers' owners.
  if (left > 0) return { requeueAfterMs: RESWEEP_MS };

  const spec = optRecord(current.spec, 'spec') ?? {};
  const specFinalizers = optArray(spec.finalizers, 'spec.finalizers');
  const otherFinalizers = current.metadata.finalizers ?? [];
  if (otherFinalizers.length > 0) {
    // Someone else still has work to do before the namespace may go: give up ours and wait for them.
    if (specFinalizers.includes(KUBERNETES_FINALIZER)) {
      ctx.store.update(NAMESPACES, { ...current, spec: { ...spec, finalizers: specFinalizers.filter((f) => f !== KUBERNETES_FINALIZER) } });
    }
    ctx.log(`namespace-controller: ${name}: empty, waiting for finalizers ${otherFinalizers.join(', ')}`);
    return;
  }
  try {
    ctx.store.delete(NAMESPACES, undefined, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
