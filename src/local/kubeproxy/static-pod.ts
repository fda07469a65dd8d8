// kube-proxy as the node's static pod: the kubelet of a kubeadm cluster runs it from a manifest and
// shows it as a mirror pod `kube-proxy-<node>` in kube-system. Here the cluster puts that pod into
// its store at start and again whenever it is deleted; the kubelet runs (or, after a crash, adopts) it
// like any pod.
import { findByKind } from '../../k8s/kinds.js';
import { applyDefaults } from '../../config/defaults.js';
import type { StoredObject } from '../../k8s/object.js';
import type { ObjectStore } from '../store/store.js';
import { asPod, type Pod } from '../kubelet/pod-types.js';
import { KUBE_PROXY_SERVICE_ACCOUNT } from '../rbac/bootstrap-policy.js';

export const KUBE_PROXY_IMAGE = 'registry.k8s.io/kube-proxy:v1.32.0';
export const KUBE_PROXY_HEALTHZ_PORT = 10256;

const POD = findByKind('', 'Pod');
const SERVICE_ACCOUNT = findByKind('', 'ServiceAccount')!;

export function kubeProxyPodName(nodeName: string): string {
  return `kube-proxy-${nodeName}`;
}

export function kubeProxyPod(nodeName: string): StoredObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: kubeProxyPodName(nodeName),
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-proxy', tier: 'node' },
      annotations: { 'kubernetes.io/config.source': 'file' },
    },
    spec: {
      nodeName,
      // Its own identity, bound to system:node-proxier (rbac/bootstrap-policy.ts), as kubeadm runs it.
      serviceAccountName: KUBE_PROXY_SERVICE_ACCOUNT.name,
      priorityClassName: 'system-node-critical',
      containers: [
        {
          name: 'kube-proxy',
          image: KUBE_PROXY_IMAGE,
          ports: [{ name: 'healthz', containerPort: KUBE_PROXY_HEALTHZ_PORT, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/healthz', port: KUBE_PROXY_HEALTHZ_PORT }, periodSeconds: 1, failureThreshold: 3 },
        },
      ],
    },
  } as unknown as StoredObject;
}

/** Keeps the node's kube-proxy pod in the store (created now if missing, again after each deletion). */
export function keepKubeProxyPod(store: ObjectStore, nodeName: string, log: (line: string) => void): () => void {
  if (!POD) throw new Error('resource table lacks core/v1 Pod');
  const type = POD;
  const name = kubeProxyPodName(nodeName);
  const ensure = (): void => {
    if (!store.get(SERVICE_ACCOUNT, KUBE_PROXY_SERVICE_ACCOUNT.namespace, KUBE_PROXY_SERVICE_ACCOUNT.name)) {
      store.create(SERVICE_ACCOUNT, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...KUBE_PROXY_SERVICE_ACCOUNT } } as StoredObject);
    }
    const current = store.get(type, 'kube-system', name);
    // A pod from before kube-proxy had its own service account would run without API rights: replaced.
    if (current && (current.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName !== KUBE_PROXY_SERVICE_ACCOUNT.name) {
      store.delete(type, 'kube-system', name);
      log(`static pod kube-system/${name} replaced: it ran without the kube-proxy service account`);
      return; // the deletion's watch event creates it again
    }
    if (current) return;
    store.create(type, applyDefaults(type, kubeProxyPod(nodeName)));
    log(`static pod kube-system/${name} created`);
  };
  ensure();
  return store.watch(type, { namespace: 'kube-system' }, (event) => {
    if (event.type === 'DELETED' && event.object.metadata.name === name) setImmediate(ensure); // not inside the store's write
  });
}

/** The kube-proxy pod when it is Ready (its listeners are open), else undefined. */
export function readyKubeProxy(store: ObjectStore, nodeName: string): Pod | undefined {
  const obj = POD && store.get(POD, 'kube-system', kubeProxyPodName(nodeName));
  if (!obj) return undefined;
  const pod = asPod(obj);
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pod : undefined;
}
