// The resource types the controllers read and write, looked up once in the shared table.
import type { ResourceType } from '../../k8s/kinds.js';
import { findByKind } from '../../k8s/kinds.js';
import { StatusError } from '../../k8s/status.js';

function mustFind(group: string, kind: string): ResourceType {
  const t = findByKind(group, kind);
  if (!t) throw new Error(`resource table has no ${group ? group + '/' : ''}${kind}: the controllers need it`);
  return t;
}

export const NAMESPACES = mustFind('', 'Namespace');
export const PODS = mustFind('', 'Pod');
export const SERVICES = mustFind('', 'Service');
export const DEPLOYMENTS = mustFind('apps', 'Deployment');
export const REPLICASETS = mustFind('apps', 'ReplicaSet');
export const ENDPOINTSLICES = mustFind('discovery.k8s.io', 'EndpointSlice');
export const ENDPOINTS = mustFind('', 'Endpoints');
export const NODES = mustFind('', 'Node');
export const STATEFULSETS = mustFind('apps', 'StatefulSet');
export const DAEMONSETS = mustFind('apps', 'DaemonSet');
export const CONTROLLER_REVISIONS = mustFind('apps', 'ControllerRevision');
export const JOBS = mustFind('batch', 'Job');
export const SERVICE_ACCOUNTS = mustFind('', 'ServiceAccount');
export const SECRETS = mustFind('', 'Secret');

export function isNotFound(err: unknown): boolean {
  return err instanceof StatusError && err.code === 404;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof StatusError && err.reason === 'AlreadyExists';
}

/** `ns/name` work-queue keys. */
export function namespacedKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function splitNamespacedKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  if (slash < 0) throw new Error(`work-queue key "${key}" is not namespace/name`);
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
