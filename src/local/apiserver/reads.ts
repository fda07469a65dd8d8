// GET of one object or a list, as JSON or as a Table for kubectl's human output.
import { StatusError } from '../../k8s/status.js';
import type { AcceptEntry } from './http.js';
import { acceptsJson, notFoundPath } from './http.js';
import { PROTOBUF_MEDIA_TYPE } from './protobuf.js';
import type { ApiContext } from './options.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import { asServed, listOf } from './served.js';
import { parseIncludeObject, toTable } from './tables.js';
import { getStoredOr404 } from './update.js';

export type TableVersion = 'v1' | 'v1beta1';

/** A Table when the client prefers one (kubectl lists it first), else undefined for plain JSON. */
export function wantsTable(accept: AcceptEntry[]): TableVersion | undefined {
  for (const e of accept) {
    if (e.params.as === 'Table' && e.params.g === 'meta.k8s.io' && (e.params.v === 'v1' || e.params.v === 'v1beta1')) return e.params.v;
    if (acceptsJson([e])) return undefined;
  }
  return undefined;
}

/**
 * Protobuf when the client names it before any JSON (client-go with ContentType protobuf sends only it,
 * or `protobuf, json` with a JSON fallback), as the apiserver picks the first type it serves.
 */
export function prefersProtobuf(accept: AcceptEntry[]): boolean {
  for (const e of accept) {
    if (e.type === PROTOBUF_MEDIA_TYPE) return true;
    if (wantsTable([e]) || acceptsJson([e])) return false;
  }
  return false;
}

export function checkAcceptable(accept: AcceptEntry[]): void {
  if (wantsTable(accept) || acceptsJson(accept) || prefersProtobuf(accept)) return;
  throw notAcceptable();
}

export function notAcceptable(detail = ''): StatusError {
  return new StatusError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, ${PROTOBUF_MEDIA_TYPE}${detail}`);
}

function withTableVersion(table: object, version: TableVersion): object {
  return version === 'v1' ? table : { ...table, apiVersion: 'meta.k8s.io/v1beta1' };
}

export function getObject(ctx: ApiContext, route: ResourceRoute, query: URLSearchParams, accept: AcceptEntry[]): Reply {
  if (route.type.namespaced && route.namespace === undefined) throw notFoundPath();
  const obj = asServed(getStoredOr404(ctx, route), route.group, route.version);
  const table = wantsTable(accept);
  if (!table) return { code: 200, body: obj };
  const body = toTable(route.type, [obj], { now: ctx.now(), includeObject: parseIncludeObject(query.get('includeObject')) });
  return { code: 200, body: withTableVersion(body, table) };
}

export function listObjects(ctx: ApiContext, route: ResourceRoute, query: URLSearchParams, accept: AcceptEntry[]): Reply {
  const result = ctx.store.list(route.type, {
    namespace: route.namespace,
    labelSelector: query.get('labelSelector') || undefined,
    fieldSelector: query.get('fieldSelector') || undefined,
  });
  const table = wantsTable(accept);
  if (!table) return { code: 200, body: listOf(route.type, route.group, route.version, result.items, result.resourceVersion) };
  const items = result.items.map((o) => asServed(o, route.group, route.version));
  const body = toTable(route.type, items, {
    now: ctx.now(),
    includeObject: parseIncludeObject(query.get('includeObject')),
    resourceVersion: result.resourceVersion,
  });
  return { code: 200, body: withTableVersion(body, table) };
}
