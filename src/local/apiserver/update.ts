// PUT and PATCH of an object or of its status subresource.
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { badRequest, notFound, StatusError } from '../../k8s/status.js';
import { decodeObjectBody, isPlainObject } from './http.js';
import { checkNameMatches, objectForRoute } from './object-body.js';
import type { ApiContext } from './options.js';
import { applyPatch, parsePatchBody, patchKindOf, patchSetsResourceVersion } from './patching.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import { asServed } from './served.js';
import { isServiceType, keepServiceIPs } from './services.js';
import type { FieldValidation } from './writes.js';
import { fieldValidationOf, isDryRun, prepareWrite, warningHeader } from './writes.js';
import { trackUpdate, updateManager } from './field-manager.js';

/** A patch that lost a race with another writer is re-applied to the newer object, as the apiserver retries. */
const PATCH_CONFLICT_RETRIES = 5;

export function getStoredOr404(ctx: ApiContext, route: ResourceRoute): StoredObject {
  const name = route.name ?? '';
  const current = ctx.store.get(route.type, route.namespace, name);
  if (!current) throw notFound(route.type, name);
  return current;
}

/**
 * What a write of `incoming` over `current` stores: server-owned metadata from `current`; for writes
 * of the main resource, the stored status (it belongs to the status subresource); for status
 * writes, everything but the status from `current`.
 */
export function mergeForWrite(t: ResourceType, subresource: string | undefined, current: StoredObject, incoming: KubeObject): KubeObject {
  const resourceVersion = incoming.metadata.resourceVersion || current.metadata.resourceVersion;
  if (subresource === 'status') {
    return { ...current, metadata: { ...current.metadata, resourceVersion }, status: incoming.status };
  }
  const metadata = {
    ...incoming.metadata,
    name: current.metadata.name,
    namespace: current.metadata.namespace,
    uid: current.metadata.uid,
    creationTimestamp: current.metadata.creationTimestamp,
    generation: current.metadata.generation,
    resourceVersion,
    deletionTimestamp: current.metadata.deletionTimestamp,
  };
  if (metadata.namespace === undefined) delete metadata.namespace;
  if (metadata.deletionTimestamp === undefined) delete metadata.deletionTimestamp;
  if (metadata.generation === undefined) delete metadata.generation;
  let next: KubeObject = { ...incoming, metadata };
  if (t.subresources.includes('status')) {
    const { status: _ignored, ...rest } = next;
    next = current.status === undefined ? rest : { ...rest, status: current.status };
  }
  if (isServiceType(t)) next = keepServiceIPs(current, next);
  if (t.group === '' && t.kind === 'Namespace') {
    // spec.finalizers change only through the finalize subresource (the namespace controller's store access).
    next = { ...next, spec: current.spec };
  }
  return next;
}

/**
 * Defaults, admission, validation and the store write of an update; the reply carries the served
 * object. `track` records field ownership on the defaulted object (see trackUpdate).
 */
export async function writeUpdate(
  ctx: ApiContext,
  route: ResourceRoute,
  current: StoredObject,
  merged: KubeObject,
  mode: FieldValidation,
  dryRun: boolean,
  track?: (defaulted: KubeObject) => KubeObject,
): Promise<{ stored: KubeObject; warnings: string[] }> {
  // Admission hooks see writes of the object itself; status writes come from controllers.
  const ctxForWrite = route.subresource === 'status' ? { ...ctx, opts: { ...ctx.opts, admission: [], validatingAdmission: [] } } : ctx;
  const prepared = await prepareWrite(ctxForWrite, route.type, route.version, merged, mode, current, track);
  if (dryRun) return { stored: prepared.object, warnings: prepared.warnings };
  return { stored: ctx.store.update(route.type, prepared.object), warnings: prepared.warnings };
}

/** Records the write as an Update by `manager` through the route's endpoint. */
export function updateTracker(ctx: ApiContext, route: ResourceRoute, current: StoredObject, manager: string): (defaulted: KubeObject) => KubeObject {
  const endpoint = route.subresource === 'status' ? 'status' : route.subresource === 'scale' ? 'scale' : 'main';
  return (defaulted) => trackUpdate(defaulted, { type: route.type, group: route.group, version: route.version, endpoint, manager, live: asServed(current, route.group, route.version), now: ctx.now() });
}

export async function replaceObject(ctx: ApiContext, route: ResourceRoute, body: Buffer, contentType: string | undefined, query: URLSearchParams, userAgent?: string): Promise<Reply> {
  const mode = fieldValidationOf(query);
  const dryRun = isDryRun(query);
  const manager = updateManager(query, userAgent, 'UpdateOptions');
  const incoming = objectForRoute(decodeObjectBody(body, contentType), route);
  checkNameMatches(incoming, route.name ?? '');
  const current = getStoredOr404(ctx, route);
  const merged = mergeForWrite(route.type, route.subresource, current, incoming);
  const { stored, warnings } = await writeUpdate(ctx, route, current, merged, mode, dryRun, updateTracker(ctx, route, current, manager));
  return { code: 200, body: asServed(stored, route.group, route.version), headers: warningHeader(warnings) };
}

export async function patchObject(ctx: ApiContext, route: ResourceRoute, body: Buffer, contentType: string | undefined, query: URLSearchParams, userAgent?: string): Promise<Reply> {
  const kind = patchKindOf(route.type, contentType);
  const mode = fieldValidationOf(query);
  const dryRun = isDryRun(query);
  const manager = updateManager(query, userAgent, 'PatchOptions');
  const patch = parsePatchBody(body);
  const retries = patchSetsResourceVersion(kind, patch) ? 0 : PATCH_CONFLICT_RETRIES;
  for (let attempt = 0; ; attempt++) {
    const current = getStoredOr404(ctx, route);
    const patched = applyPatch(kind, asServed(current, route.group, route.version), patch);
    if (!isPlainObject(patched)) throw badRequest('the patched object is not a JSON object');
    const incoming = objectForRoute(patched, route);
    if (incoming.metadata.name !== current.metadata.name) throw badRequest('the patch must not change metadata.name');
    const merged = mergeForWrite(route.type, route.subresource, current, incoming);
    try {
      const { stored, warnings } = await writeUpdate(ctx, route, current, merged, mode, dryRun, updateTracker(ctx, route, current, manager));
      return { code: 200, body: asServed(stored, route.group, route.version), headers: warningHeader(warnings) };
    } catch (err) {
      const retry = err instanceof StatusError && err.reason === 'Conflict' && attempt < retries;
      if (!retry) throw err;
    }
  }
}
