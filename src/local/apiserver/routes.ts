// Turns a request path into what it addresses: a discovery document, a collection, an object or a
// subresource of a known resource type. Paths follow the apiserver's layout:
//   /api/v1[/watch][/namespaces/NS]/PLURAL[/NAME[/SUB]]
//   /apis/GROUP/VERSION[/watch][/namespaces/NS]/PLURAL[/NAME[/SUB]]
import type { ResourceType } from '../../k8s/kinds.js';
import { findByPlural, RESOURCE_TYPES } from '../../k8s/kinds.js';

export type SubresourceName = ResourceType['subresources'][number];

export interface ResourceRoute {
  kind: 'resource';
  type: ResourceType;
  group: string;
  version: string;
  /** Set for namespaced paths; undefined = cluster-scoped, or all namespaces for a namespaced type. */
  namespace?: string;
  name?: string;
  subresource?: SubresourceName;
  /** The legacy `/watch/` form of a watch. */
  watchPath: boolean;
}

export type Route =
  | ResourceRoute
  | { kind: 'api-versions' } // /api
  | { kind: 'api-groups' } // /apis
  | { kind: 'api-group'; group: string } // /apis/GROUP
  | { kind: 'api-resources'; group: string; version: string } // /api/v1, /apis/GROUP/VERSION
  | { kind: 'not-found' };

export function servesGroupVersion(group: string, version: string): boolean {
  return RESOURCE_TYPES.some((t) => t.group === group && t.versions.includes(version));
}

export function parseRoute(pathname: string): Route {
  const segments = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api') {
    if (segments.length === 1) return { kind: 'api-versions' };
    group = '';
    version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis') {
    if (segments.length === 1) return { kind: 'api-groups' };
    group = segments[1];
    if (segments.length === 2) {
      return RESOURCE_TYPES.some((t) => t.group === group) ? { kind: 'api-group', group } : { kind: 'not-found' };
    }
    version = segments[2];
    rest = segments.slice(3);
  } else {
    return { kind: 'not-found' };
  }
  if (!servesGroupVersion(group, version)) return { kind: 'not-found' };
  if (rest.length === 0) return { kind: 'api-resources', group, version };

  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // `namespaces/NS/PLURAL...` addresses a namespaced resource, unless what follows NS is a
  // subresource of the namespace itself (namespaces/NS/status).
  if (rest[0] === 'namespaces' && rest.length >= 3 && !isNamespaceSubresource(group, rest[2], rest.length)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  if (extra.length > 0 || plural === undefined) return { kind: 'not-found' };
  const type = findByPlural(group, plural);
  if (!type || !type.versions.includes(version)) return { kind: 'not-found' };
  if (namespace !== undefined && !type.namespaced) return { kind: 'not-found' };
  let subresource: SubresourceName | undefined;
  if (sub !== undefined) {
    subresource = type.subresources.find((s) => s === sub);
    if (!subresource) return { kind: 'not-found' };
  }
  return { kind: 'resource', type, group, version, namespace, name, subresource, watchPath };
}

function isNamespaceSubresource(group: string, segment: string, length: number): boolean {
  if (group !== '' || length !== 3) return false;
  const ns = findByPlural('', 'namespaces');
  return ns !== undefined && ns.subresources.some((s) => s === segment);
}
