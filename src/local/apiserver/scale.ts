// The scale subresource (autoscaling/v1 Scale) of deployments and replicasets: what `kubectl scale` uses.
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { badRequest, invalid, StatusError } from '../../k8s/status.js';
import { decodeObjectBody, isPlainObject } from './http.js';
import { objectForRoute } from './object-body.js';
import type { ApiContext } from './options.js';
import { applyPatch, parsePatchBody, patchKindOf } from './patching.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import { getStoredOr404, mergeForWrite, updateTracker, writeUpdate } from './update.js';
import { updateManager } from './field-manager.js';
import { fieldValidationOf, isDryRun, warningHeader } from './writes.js';

function field(obj: unknown, key: string): unknown {
  return isPlainObject(obj) ? obj[key] : undefined;
}

function selectorString(selector: unknown): string {
  const parts: string[] = [];
  const labels = field(selector, 'matchLabels');
  if (isPlainObject(labels)) for (const [k, v] of Object.entries(labels)) parts.push(`${k}=${String(v)}`);
  const exprs = field(selector, 'matchExpressions');
  if (Array.isArray(exprs)) {
    for (const e of exprs) {
      const key = String(field(e, 'key'));
      const values = field(e, 'values');
      const list = Array.isArray(values) ? values.map(String).join(',') : '';
      switch (field(e, 'operator')) {
        case 'In':
          parts.push(`${key} in (${list})`);
          break;
        case 'NotIn':
          parts.push(`${key} notin (${list})`);
          break;
        case 'Exists':
          parts.push(key);
          break;
        case 'DoesNotExist':
          parts.push(`!${key}`);
          break;
      }
    }
  }
  return parts.join(',');
}

export function toScale(obj: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata;
  const replicas = field(obj.spec, 'replicas');
  const statusReplicas = field(obj.status, 'replicas');
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: typeof replicas === 'number' ? replicas : 1 },
    status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, selector: selectorString(field(obj.spec, 'selector')) },
  };
}

function replicasOf(route: ResourceRoute, scale: KubeObject): number {
  const replicas = field(scale.spec, 'replicas');
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw invalid({ ...route.type, kind: 'Scale', group: 'autoscaling' }, route.name ?? '', [
      { reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` },
    ]);
  }
  return replicas;
}

async function writeReplicas(ctx: ApiContext, route: ResourceRoute, current: StoredObject, scale: KubeObject, query: URLSearchParams, manager: string): Promise<Reply> {
  const replicas = replicasOf(route, scale);
  if (scale.metadata.resourceVersion && scale.metadata.resourceVersion !== current.metadata.resourceVersion) {
    throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${route.type.plural} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`);
  }
  const spec = isPlainObject(current.spec) ? current.spec : {};
  const mainRoute: ResourceRoute = { ...route, subresource: undefined };
  const merged = mergeForWrite(route.type, undefined, current, { ...current, spec: { ...spec, replicas } });
  const { stored, warnings } = await writeUpdate(ctx, mainRoute, current, merged, fieldValidationOf(query), isDryRun(query), updateTracker(ctx, route, current, manager));
  return { code: 200, body: toScale(stored), headers: warningHeader(warnings) };
}

export function getScale(ctx: ApiContext, route: ResourceRoute): Reply {
  return { code: 200, body: toScale(getStoredOr404(ctx, route)) };
}

export async function replaceScale(ctx: ApiContext, route: ResourceRoute, body: Buffer, contentType: string | undefined, query: URLSearchParams, userAgent?: string): Promise<Reply> {
  const manager = updateManager(query, userAgent, 'UpdateOptions');
  const scale = objectForRoute(decodeObjectBody(body, contentType), route, 'Scale');
  return writeReplicas(ctx, route, getStoredOr404(ctx, route), scale, query, manager);
}

export async function patchScale(ctx: ApiContext, route: ResourceRoute, body: Buffer, contentType: string | undefined, query: URLSearchParams, userAgent?: string): Promise<Reply> {
  const manager = updateManager(query, userAgent, 'PatchOptions');
  const kind = patchKindOf({ ...route.type, group: 'autoscaling' }, contentType);
  const current = getStoredOr404(ctx, route);
  const patched = applyPatch(kind, toScale(current), parsePatchBody(body));
  if (!isPlainObject(patched)) throw badRequest('the patched Scale is not a JSON object');
  return writeReplicas(ctx, route, current, objectForRoute(patched, route, 'Scale'), query, manager);
}
