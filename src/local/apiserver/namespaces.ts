// Namespace rules the apiserver enforces for every namespaced write, and the namespaces it creates
// at startup (default, kube-system, kube-public, kube-node-lease).
import type { ResourceType } from '../../k8s/kinds.js';
import { findByPlural, qualifiedResource } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { notFound, StatusError } from '../../k8s/status.js';
import { storeWritingAs } from './tracked-store.js';
import type { ApiContext } from './options.js';

export function namespaceType(): ResourceType {
  const t = findByPlural('', 'namespaces');
  if (!t) throw new Error('the resource table has no namespaces type');
  return t;
}

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** The apiserver refuses to delete these. */
export const UNDELETABLE_NAMESPACES = ['default', 'kube-system', 'kube-public'];

export function isTerminating(ns: KubeObject): boolean {
  const status = ns.status;
  const phase = typeof status === 'object' && status !== null && 'phase' in status ? status.phase : undefined;
  return Boolean(ns.metadata.deletionTimestamp) || phase === 'Terminating';
}

/** 404 when the namespace is missing, 403 when it is being deleted: no new content goes into it. */
export function checkNamespaceAcceptsCreate(ctx: ApiContext, t: ResourceType, namespace: string, name: string): void {
  const nsType = namespaceType();
  const ns = ctx.store.get(nsType, undefined, namespace);
  if (!ns) throw notFound(nsType, namespace);
  if (isTerminating(ns)) {
    throw new StatusError(
      403,
      'Forbidden',
      `${qualifiedResource(t)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      { name, group: t.group, kind: t.plural },
    );
  }
}

/** A new namespace starts Active with the `kubernetes` finalizer, as the apiserver creates it. */
export function newNamespaceFields(obj: KubeObject): KubeObject {
  const spec = typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {};
  const finalizers = 'finalizers' in spec && Array.isArray(spec.finalizers) ? spec.finalizers : ['kubernetes'];
  return { ...obj, spec: { ...spec, finalizers }, status: { phase: 'Active' } };
}

export function ensureSystemNamespaces(ctx: ApiContext): void {
  const t = namespaceType();
  for (const name of SYSTEM_NAMESPACES) {
    if (ctx.store.get(t, undefined, name)) continue;
    const obj = newNamespaceFields({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
    storeWritingAs(ctx.store, 'kube-apiserver', ctx.now).create(t, ctx.opts.applyDefaults(t, obj));
  }
}
