// API discovery documents, legacy (/api, /apis, /apis/G, /api/v1, /apis/G/V) and aggregated
// (apidiscovery.k8s.io v2 and v2beta1), all derived from the resource table.
import type { ResourceType } from '../../k8s/kinds.js';
import { apiVersionOf, RESOURCE_TYPES } from '../../k8s/kinds.js';
import type { AcceptEntry } from './http.js';

interface SubresourceInfo {
  /** Response kind: the parent's kind unless the subresource serves another type. */
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
}

function subresourceInfo(type: ResourceType, sub: ResourceType['subresources'][number]): SubresourceInfo {
  switch (sub) {
    case 'status':
      return { kind: type.kind, verbs: ['get', 'patch', 'update'] };
    case 'log':
      return { kind: 'Pod', verbs: ['get'] };
    case 'exec':
      return { kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'portforward':
      return { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'token':
      return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] };
  }
}

/** Groups in the order they are first listed in the table ('' first: it is the core group). */
function groups(): string[] {
  const seen: string[] = [];
  for (const t of RESOURCE_TYPES) if (t.group !== '' && !seen.includes(t.group)) seen.push(t.group);
  return seen;
}

/** Served versions of a group, preferred first (the table lists the preferred version first). */
function groupVersions(group: string): string[] {
  const versions: string[] = [];
  for (const t of RESOURCE_TYPES) {
    if (t.group !== group) continue;
    for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
  }
  return versions;
}

function typesIn(group: string, version: string): ResourceType[] {
  return RESOURCE_TYPES.filter((t) => t.group === group && t.versions.includes(version));
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string): object {
  const versions = groupVersions(group).map((version) => ({ groupVersion: apiVersionOf(group, version), version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups().map(apiGroup) };
}

export function apiGroupDocument(group: string): object {
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

export function apiResourceList(group: string, version: string): object {
  const resources: object[] = [];
  for (const t of typesIn(group, version)) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    });
    for (const sub of t.subresources) {
      const info = subresourceInfo(t, sub);
      resources.push({
        name: `${t.plural}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        ...(info.group !== undefined ? { group: info.group, version: info.version } : {}),
        kind: info.kind,
        verbs: info.verbs,
      });
    }
  }
  return {
    kind: 'APIResourceList',
    ...(group ? { apiVersion: 'v1' } : {}),
    groupVersion: apiVersionOf(group, version),
    resources,
  };
}

function discoveryResources(group: string, version: string): object[] {
  return typesIn(group, version).map((t) => ({
    resource: t.plural,
    responseKind: { group, version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
    ...(t.subresources.length
      ? {
          subresources: t.subresources.map((sub) => {
            const info = subresourceInfo(t, sub);
            return {
              subresource: sub,
              responseKind: { group: info.group ?? group, version: info.version ?? version, kind: info.kind },
              verbs: info.verbs,
            };
          }),
        }
      : {}),
  }));
}

function discoveryGroup(group: string): object {
  return {
    metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
    versions: groupVersions(group).map((version) => ({
      version,
      resources: discoveryResources(group, version),
      freshness: 'Current',
    })),
  };
}

export type AggregatedVersion = 'v2' | 'v2beta1';

/** The aggregated discovery version the client asked for, honouring the order of its Accept header. */
export function wantsAggregatedDiscovery(accept: AcceptEntry[]): AggregatedVersion | undefined {
  for (const e of accept) {
    if (e.type !== 'application/json') continue;
    if (e.params.g !== 'apidiscovery.k8s.io' || e.params.as !== 'APIGroupDiscoveryList') continue;
    if (e.params.v === 'v2' || e.params.v === 'v2beta1') return e.params.v;
  }
  return undefined;
}

export function aggregatedContentType(version: AggregatedVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

/** /api (core) or /apis (every named group) as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(core: boolean, version: AggregatedVersion): object {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: core ? [discoveryGroup('')] : groups().map(discoveryGroup),
  };
}
