// The objects of a live cluster that `analyze -f` merges the files with (istioctl's default: the files
// are analyzed as if applied to the cluster): its Services, Pods, Istio networking config and Kubernetes
// Ingresses with their IngressClasses, as manifests that the files' own objects replace.

import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { apiErrorMessage } from '../k8s/client/client.js';
import type { Manifest } from '../k8s/client/manifests.js';

const ISTIO_PLURALS = [
  ['VirtualService', 'virtualservices', 'networking.istio.io'], ['DestinationRule', 'destinationrules', 'networking.istio.io'],
  ['Gateway', 'gateways', 'networking.istio.io'], ['ServiceEntry', 'serviceentries', 'networking.istio.io'], ['Sidecar', 'sidecars', 'networking.istio.io'],
  ['AuthorizationPolicy', 'authorizationpolicies', 'security.istio.io'], ['PeerAuthentication', 'peerauthentications', 'security.istio.io'],
] as const;

function itemsOf(body: unknown, what: string): Array<Record<string, unknown>> {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw new Error(`listing ${what}: the answer is not a list`);
  return items as Array<Record<string, unknown>>;
}

function serviceShape(spec: unknown): unknown {
  const s = (spec ?? {}) as { ports?: unknown; selector?: unknown; type?: unknown };
  return { ports: s.ports, selector: s.selector, type: s.type };
}

/** The object as a manifest, without its server-side fields (status, managedFields, uid) that no file carries. */
function asManifest(item: Record<string, unknown>, apiVersion: string, kind: string, source: string): Manifest {
  const meta = (item.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: unknown };
  // A Service's addresses differ from cluster to cluster; what the analysis reads of it does not.
  const spec = kind === 'Service' ? serviceShape(item.spec) : item.spec;
  // An Ingress's class may be its annotation, and Istio orders the rules of Ingresses by age.
  const ingressMeta = kind === 'Ingress' ? { ...(meta.annotations ? { annotations: meta.annotations } : {}), ...(meta.creationTimestamp ? { creationTimestamp: meta.creationTimestamp } : {}) } : {};
  const object = { apiVersion, kind, metadata: { name: meta.name, namespace: meta.namespace, ...(meta.labels ? { labels: meta.labels } : {}), ...ingressMeta }, spec };
  return { object: object as KubeObject, source };
}

/** A typed client-node object as the plain JSON a manifest file holds (dates as RFC 3339 text). */
function plain(object: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
}

export async function readLiveObjects(kc: KubeConfig): Promise<Manifest[]> {
  const source = `context ${kc.getCurrentContext()}`;
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const guarded = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      throw new Error(`cannot list ${what} in ${source}: ${apiErrorMessage(err)}`);
    }
  };
  const [services, pods, ingresses, ingressClasses, ...istio] = await Promise.all([
    guarded('services', () => core.listServiceForAllNamespaces()),
    guarded('pods', () => core.listPodForAllNamespaces()),
    guarded('ingresses', () => networking.listIngressForAllNamespaces()),
    guarded('ingressclasses', () => networking.listIngressClass()),
    ...ISTIO_PLURALS.map(([, plural, group]) => guarded(`${plural}.${group}`, () => custom.listClusterCustomObject({ group, version: 'v1', plural }))),
  ]);
  return [
    ...itemsOf(services, 'services').map((s) => asManifest(s, 'v1', 'Service', source)),
    // A pod on its way out serves no traffic: the analysis sees the cluster as it settles.
    ...itemsOf(pods, 'pods').filter((p) => !(p.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp).map((p) => asManifest(p, 'v1', 'Pod', source)),
    ...itemsOf(ingresses, 'ingresses').map((o) => asManifest(plain(o), 'networking.k8s.io/v1', 'Ingress', source)),
    ...itemsOf(ingressClasses, 'ingressclasses').map((o) => asManifest(plain(o), 'networking.k8s.io/v1', 'IngressClass', source)),
    ...istio.flatMap((list, i) => itemsOf(list, ISTIO_PLURALS[i][1]).map((o) => asManifest(o, `${ISTIO_PLURALS[i][2]}/v1`, ISTIO_PLURALS[i][0], source))),
  ];
}
