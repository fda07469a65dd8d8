// The Kubernetes Ingress inputs of the control plane's own cluster, as istiod's ingress controller
// watches its config cluster: Ingresses and IngressClasses (config: a change rebuilds the mesh) and
// Nodes (only the Ingress status reads them, when meshConfig.ingressService is empty). An Ingress
// update that changed nothing but its status (our own status writes, mostly) is no config change.
import { CoreV1Api, NetworkingV1Api, type KubeConfig, type V1Ingress, type V1IngressClass, type V1Node } from '@kubernetes/client-node';
import { healthOf, withoutStatus, type WatchCommon, type WatchHealth } from './cluster-watch.js';
import { startResourceWatch } from '../k8s/client/resource-watch.js';

export interface IngressWatch {
  ingresses(): readonly V1Ingress[];
  ingressClasses(): readonly V1IngressClass[];
  nodes(): readonly V1Node[];
  synced(): boolean;
  health(): WatchHealth[];
  stop(): Promise<void>;
}

/** `common.onStatusChange`: an Ingress's status or a Node changed (what only the Ingress status reads). */
export function watchIngress(clusterId: string, kubeConfig: KubeConfig, common: WatchCommon): IngressWatch {
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const base = { kubeConfig, log: common.log, ...(common.clock ? { clock: common.clock } : {}) };
  const statusChanged = (): void => common.onStatusChange?.();
  const ingresses = startResourceWatch<V1Ingress>({
    ...base,
    what: `${clusterId} ingresses.networking.k8s.io`,
    path: '/apis/networking.k8s.io/v1/ingresses',
    list: () => networking.listIngressForAllNamespaces(),
    onChange: common.onChange,
    significant: { of: withoutStatus, onUnchanged: statusChanged },
  });
  const ingressClasses = startResourceWatch<V1IngressClass>({
    ...base,
    what: `${clusterId} ingressclasses.networking.k8s.io`,
    path: '/apis/networking.k8s.io/v1/ingressclasses',
    list: () => networking.listIngressClass(),
    onChange: common.onChange,
  });
  const nodes = startResourceWatch<V1Node>({ ...base, what: `${clusterId} nodes`, path: '/api/v1/nodes', list: () => core.listNode(), onChange: statusChanged });
  const all = [ingresses, ingressClasses, nodes];
  return {
    ingresses: () => ingresses.list(),
    ingressClasses: () => ingressClasses.list(),
    nodes: () => nodes.list(),
    synced: () => all.every((w) => w.synced()),
    health: () => all.map(healthOf),
    stop: async () => {
      await Promise.all(all.map((w) => w.stop()));
    },
  };
}
