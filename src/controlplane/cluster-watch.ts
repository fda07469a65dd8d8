// The informers of one member cluster (what the registry needs from it) and of the Istio config in
// the control plane's own cluster. Everything goes through @kubernetes/client-node, so a local
// cluster and a real one take the same path.

import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Namespace,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { ClusterObjects, IstioConfigObjects, KubeIstioObject } from '../registry/build.js';
import type { Clock } from '../clock.js';
import { withPodEndpoints } from './pod-endpoints.js';
import { startResourceWatch, type ResourceWatch, type WatchEvent } from '../k8s/client/resource-watch.js';
import type { ChangedObject } from './propagation-report.js';

export interface WatchCommon {
  log: (line: string) => void;
  onChange: () => void;
  /** Istio config: an update that changed nothing but the status (our own status writes, mostly). */
  onStatusChange?: () => void;
  /** A change of a Service or an Istio config object, with what identifies it (config propagation tracking). */
  onConfigEvent?: (change: ChangedObject) => void;
  clock?: Clock;
}

/** A member cluster's watch: with endpointsFromPods, Services' endpoints are made from their Pods (pod-endpoints.ts). */
export interface MemberWatchOptions extends WatchCommon {
  endpointsFromPods?: boolean;
}


/** The onEvent of a watch of `kind` in `clusterId`, telling onConfigEvent (none without it). */
function configEvents(kind: string, clusterId: string, common: WatchCommon): ((event: WatchEvent, obj: KubernetesObject) => void) | undefined {
  const tell = common.onConfigEvent;
  if (!tell) return undefined;
  return (event, obj) => {
    const m = obj.metadata ?? {};
    tell({ kind, namespace: m.namespace ?? '', name: m.name ?? '', sourceCluster: clusterId, resourceVersion: m.resourceVersion ?? '', ...(m.generation !== undefined ? { generation: m.generation } : {}), event });
  };
}

export interface WatchHealth {
  what: string;
  synced: boolean;
  errors: number;
  lastError?: string;
}

export interface ClusterWatch {
  readonly clusterId: string;
  objects(): ClusterObjects;
  findPod(namespace: string, name: string): V1Pod | undefined;
  synced(): boolean;
  health(): WatchHealth[];
  stop(): Promise<void>;
}

export function watchMemberCluster(clusterId: string, kubeConfig: KubeConfig, common: MemberWatchOptions): ClusterWatch {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  const base = { kubeConfig, log: common.log, onChange: common.onChange, ...(common.clock ? { clock: common.clock } : {}) };
  const serviceEvents = configEvents('Service', clusterId, common);
  const services = startResourceWatch<V1Service>({ ...base, what: `${clusterId} services`, path: '/api/v1/services', list: () => core.listServiceForAllNamespaces(), ...(serviceEvents ? { onEvent: serviceEvents } : {}) });
  const slices = startResourceWatch<V1EndpointSlice>({
    ...base,
    what: `${clusterId} endpointslices`,
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    list: () => discovery.listEndpointSliceForAllNamespaces(),
  });
  const pods = startResourceWatch<V1Pod>({ ...base, what: `${clusterId} pods`, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() });
  const namespaces = startResourceWatch<V1Namespace>({ ...base, what: `${clusterId} namespaces`, path: '/api/v1/namespaces', list: () => core.listNamespace() });
  const all: ResourceWatch<KubernetesObject>[] = [services, slices, pods, namespaces];
  return {
    clusterId,
    objects: () => {
      const listed = { services: services.list(), pods: pods.list() };
      const endpointSlices = common.endpointsFromPods ? withPodEndpoints(listed.services, listed.pods, slices.list()) : slices.list();
      return { clusterId, ...listed, endpointSlices, namespaces: namespaces.list() };
    },
    findPod: (namespace, name) => pods.get(name, namespace),
    synced: () => all.every((w) => w.synced()),
    health: () => all.map(healthOf),
    stop: async () => {
      await Promise.all(all.map((w) => w.stop()));
    },
  };
}

export interface ConfigWatch {
  objects(): IstioConfigObjects;
  synced(): boolean;
  health(): WatchHealth[];
  stop(): Promise<void>;
}

type IstioResource = KubernetesObject & { spec?: unknown };

export const ISTIO_GROUP = 'networking.istio.io';
/** The version the config is watched in (and its status written in). */
export const ISTIO_VERSION = 'v1';
/** PeerAuthentication and AuthorizationPolicy (security.istio.io/v1). */
export const ISTIO_SECURITY_GROUP = 'security.istio.io';

/** The kinds of the watched plurals, as changes name them. */
const KIND_OF_PLURAL: Record<string, string> = {
  virtualservices: 'VirtualService',
  destinationrules: 'DestinationRule',
  gateways: 'Gateway',
  serviceentries: 'ServiceEntry',
  sidecars: 'Sidecar',
  authorizationpolicies: 'AuthorizationPolicy',
  peerauthentications: 'PeerAuthentication',
};

/**
 * VirtualServices, DestinationRules, Gateways, ServiceEntries and Sidecars (networking.istio.io/v1), and
 * AuthorizationPolicies and PeerAuthentications (security.istio.io/v1) of every namespace.
 */
export function watchIstioConfig(clusterId: string, kubeConfig: KubeConfig, common: WatchCommon): ConfigWatch {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const base = { kubeConfig, log: common.log, onChange: common.onChange, ...(common.clock ? { clock: common.clock } : {}) };
  const watch = (plural: string, group = ISTIO_GROUP): ResourceWatch<IstioResource> => {
    const onEvent = configEvents(KIND_OF_PLURAL[plural] ?? plural, clusterId, common);
    return startResourceWatch<IstioResource>({
      ...base,
      ...(onEvent ? { onEvent } : {}),
      what: `${clusterId} ${plural}.${group}`,
      path: `/apis/${group}/${ISTIO_VERSION}/${plural}`,
      list: async () => istioList(await custom.listClusterCustomObject({ group, version: ISTIO_VERSION, plural }), plural, group),
      significant: { of: withoutStatus, onUnchanged: () => common.onStatusChange?.() },
    });
  };
  const virtualServices = watch('virtualservices');
  const destinationRules = watch('destinationrules');
  const gateways = watch('gateways');
  const serviceEntries = watch('serviceentries');
  const sidecars = watch('sidecars');
  const authorizationPolicies = watch('authorizationpolicies', ISTIO_SECURITY_GROUP);
  const peerAuthentications = watch('peerauthentications', ISTIO_SECURITY_GROUP);
  const all = [virtualServices, destinationRules, gateways, serviceEntries, sidecars, authorizationPolicies, peerAuthentications];
  return {
    objects: () => ({
      cluster: clusterId,
      virtualServices: virtualServices.list(),
      destinationRules: destinationRules.list(),
      gateways: gateways.list(),
      serviceEntries: serviceEntries.list(),
      sidecars: sidecars.list(),
      authorizationPolicies: authorizationPolicies.list(),
      peerAuthentications: peerAuthentications.list(),
    }),
    synced: () => all.every((w) => w.synced()),
    health: () => all.map(healthOf),
    stop: async () => {
      await Promise.all(all.map((w) => w.stop()));
    },
  };
}

/** Everything of a config object but what a status write changes: its status and resourceVersion. */
export function withoutStatus(object: KubernetesObject): string {
  const { status: _status, metadata, ...rest } = object as KubernetesObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata ?? {};
  return JSON.stringify([meta, rest]);
}

/** The custom objects API answers untyped JSON: check the list shape before the informer trusts it. */
function istioList(body: unknown, plural: string, group: string): KubernetesListObject<IstioResource> {
  if (typeof body !== 'object' || body === null || !('items' in body) || !Array.isArray(body.items)) {
    throw new Error(`listing ${plural}.${group}: the answer is not a list`);
  }
  const items: IstioResource[] = [];
  for (const item of body.items as unknown[]) {
    if (typeof item === 'object' && item !== null && 'metadata' in item) items.push(item as KubeIstioObject & IstioResource);
  }
  const metadata = 'metadata' in body && typeof body.metadata === 'object' && body.metadata !== null ? (body.metadata as { resourceVersion?: string }) : {};
  return { items, metadata: { ...(metadata.resourceVersion ? { resourceVersion: metadata.resourceVersion } : {}) } };
}

export function healthOf(w: ResourceWatch<unknown>): WatchHealth {
  const lastError = w.lastError();
  return { what: w.what, synced: w.synced(), errors: w.errorCount(), ...(lastError ? { lastError } : {}) };
}
