// POST on a collection: a new object.
import { randomUUID } from 'node:crypto';
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { badRequest, StatusError } from '../../k8s/status.js';
import { decodeObjectBody, isPlainObject, methodNotAllowed } from './http.js';
import { checkNamespaceAcceptsCreate, newNamespaceFields } from './namespaces.js';
import { objectForRoute } from './object-body.js';
import type { ApiContext } from './options.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import { asServed } from './served.js';
import { withGeneratedJobSelector } from '../../config/job-selector.js';
import { formatTimestamp, generatedName } from '../store/metadata.js';
import { allocateServiceIPs, isServiceType } from './services.js';
import { trackUpdate, updateManager } from './field-manager.js';
import type { FieldValidation } from './writes.js';
import { fieldValidationOf, isDryRun, prepareWrite, warningHeader } from './writes.js';

/** Fields only the server sets: what a client sends for them is dropped, as the apiserver does. */
export function clearServerFields(obj: KubeObject): void {
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'managedFields', 'selfLink']) {
    delete obj.metadata[f];
  }
}

/**
 * What the kind's create strategy prepares before validation, given the uid the object will have: a
 * Job's selector and pod labels are generated from its uid and name (so a generateName is resolved
 * here, as the apiserver names objects before preparing them).
 */
function prepareForCreate(t: ResourceType, obj: KubeObject, uid: string): KubeObject {
  if (t.group !== 'batch' || t.kind !== 'Job') return obj;
  const name = obj.metadata.name || (obj.metadata.generateName ? generatedName(obj.metadata.generateName) : undefined);
  // The uid is on the object while it is validated: the generated selector is checked against it.
  return withGeneratedJobSelector({ ...obj, metadata: { ...obj.metadata, ...(name ? { name } : {}), uid } }, uid);
}

/** Status is not written on create for types with a status subresource (controllers own it). */
function initialStatus(t: ResourceType, obj: KubeObject): KubeObject {
  if (t.group === '' && t.kind === 'Namespace') return newNamespaceFields(obj);
  if (!t.subresources.includes('status')) return obj;
  const { status: _dropped, ...rest } = obj;
  if (t.group === '' && t.kind === 'Pod') return { ...rest, status: { phase: 'Pending' } };
  return rest;
}

export async function createObject(ctx: ApiContext, route: ResourceRoute, body: Buffer, contentType: string | undefined, query: URLSearchParams, userAgent?: string): Promise<Reply> {
  if (route.name !== undefined) throw methodNotAllowed('POST');
  if (route.type.namespaced && route.namespace === undefined) throw methodNotAllowed('POST');
  const mode = fieldValidationOf(query);
  const dryRun = isDryRun(query);
  const manager = updateManager(query, userAgent, 'CreateOptions');
  const raw = decodeObjectBody(body, contentType);
  const obj = objectForRoute(raw, route);
  if (isPlainObject(raw.metadata) && raw.metadata.resourceVersion) {
    throw badRequest('resourceVersion should not be set on objects to be created');
  }
  clearServerFields(obj);
  return storeNewObject(ctx, route, obj, mode, dryRun, (defaulted) => trackUpdate(defaulted, { ...route, endpoint: 'main', manager, now: ctx.now() }));
}

/**
 * Admission, validation and the store write of a new object (a POST, or a server-side apply of an
 * object that does not exist yet). `track` records field ownership on the defaulted object.
 */
export async function storeNewObject(
  ctx: ApiContext,
  route: ResourceRoute,
  object: KubeObject,
  mode: FieldValidation,
  dryRun: boolean,
  track: (defaulted: KubeObject) => KubeObject,
): Promise<Reply> {
  const t = route.type;
  const displayName = object.metadata.name ?? object.metadata.generateName ?? '';
  if (t.namespaced) checkNamespaceAcceptsCreate(ctx, t, route.namespace!, displayName);
  const uid = randomUUID();
  const prepared = await prepareWrite(ctx, t, route.version, prepareForCreate(t, initialStatus(t, object), uid), mode, undefined, track);
  let obj = prepared.object;
  const headers = warningHeader(prepared.warnings);
  if (dryRun) {
    // As the apiserver: a dry run shows the object as it would be created, without storing it.
    const preview = { ...obj, metadata: { ...obj.metadata, uid, creationTimestamp: formatTimestamp(new Date(ctx.now())) } };
    return { code: 201, body: asServed(preview, route.group, route.version), headers };
  }
  if (isServiceType(t)) obj = allocateServiceIPs(ctx, obj);
  try {
    const stored = ctx.store.create(t, obj, { uid });
    return { code: 201, body: asServed(stored, route.group, route.version), headers };
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw new StatusError(500, 'InternalError', `Internal error occurred: storing ${t.plural} "${displayName}": ${(err as Error).message}`);
  }
}
