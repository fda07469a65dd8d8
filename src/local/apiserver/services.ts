// Service ClusterIPs: allocated on create (unless headless or ExternalName) and kept across updates,
// as the apiserver's service REST storage does.
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { StatusError } from '../../k8s/status.js';
import type { ApiContext } from './options.js';

export function isServiceType(t: ResourceType): boolean {
  return t.group === '' && t.kind === 'Service';
}

function specOf(obj: KubeObject): Record<string, unknown> {
  return typeof obj.spec === 'object' && obj.spec !== null && !Array.isArray(obj.spec) ? { ...obj.spec } : {};
}

export function allocateServiceIPs(ctx: ApiContext, obj: KubeObject): KubeObject {
  const spec = specOf(obj);
  if (spec.type === 'ExternalName') return obj;
  const requested = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  if (requested !== '') {
    if (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0) spec.clusterIPs = [requested];
    return { ...obj, spec };
  }
  let ip: string;
  try {
    ip = ctx.opts.allocateClusterIP();
  } catch (err) {
    throw new StatusError(500, 'InternalError', `Internal error occurred: failed to allocate a serviceIP: ${(err as Error).message}`);
  }
  spec.clusterIP = ip;
  spec.clusterIPs = [ip];
  return { ...obj, spec };
}

/** An update that leaves clusterIP/clusterIPs out keeps the allocated ones. */
export function keepServiceIPs(current: KubeObject, next: KubeObject): KubeObject {
  const before = specOf(current);
  const spec = specOf(next);
  if (before.clusterIP !== undefined && (spec.clusterIP === undefined || spec.clusterIP === '')) spec.clusterIP = before.clusterIP;
  if (before.clusterIPs !== undefined && spec.clusterIPs === undefined) spec.clusterIPs = before.clusterIPs;
  return { ...next, spec };
}
