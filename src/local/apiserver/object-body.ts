// Checks that a written object belongs where it is sent: kind, apiVersion, namespace and name.
import { apiVersionOf } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { badRequest } from '../../k8s/status.js';
import { isPlainObject } from './http.js';
import type { ResourceRoute } from './routes.js';

export function objectForRoute(body: Record<string, unknown>, route: ResourceRoute, expectedKind = route.type.kind): KubeObject {
  const expectedVersion = route.subresource === 'scale' ? 'autoscaling/v1' : apiVersionOf(route.group, route.version);
  const kind = body.kind ?? expectedKind;
  const apiVersion = body.apiVersion ?? expectedVersion;
  if (kind !== expectedKind) throw badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${expectedKind})`);
  if (apiVersion !== expectedVersion) {
    throw badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${expectedVersion})`);
  }
  const metadata = body.metadata ?? {};
  if (!isPlainObject(metadata)) throw badRequest('metadata must be an object');
  const obj: KubeObject = { ...body, apiVersion: expectedVersion, kind: expectedKind, metadata: { ...metadata } };
  if (route.type.namespaced) {
    const ns = obj.metadata.namespace;
    if (ns === undefined || ns === '') obj.metadata.namespace = route.namespace;
    else if (ns !== route.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  } else {
    delete obj.metadata.namespace;
  }
  return obj;
}

/** A PUT must name the object of its URL. */
export function checkNameMatches(obj: KubeObject, name: string): void {
  if (obj.metadata.name === undefined || obj.metadata.name === '') obj.metadata.name = name;
  else if (obj.metadata.name !== name) {
    throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
  }
}
