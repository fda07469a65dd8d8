// kube-apiserver's ServiceAccount admission plugin, for pods: a pod without a service account gets
// `default` (spec.serviceAccountName, and its deprecated alias spec.serviceAccount), and a pod naming
// a service account that does not exist is refused, as kube-apiserver refuses it. Mirror pods of
// static pods are left alone. The token itself is not a volume here: the kubelet writes it (kubelet/pod-token.ts).
import { findByKind } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { StatusError } from '../../k8s/status.js';
import type { AdmissionHook } from '../apiserver/options.js';
import type { ObjectStore } from '../store/store.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export function serviceAccountAdmission(store: ObjectStore): AdmissionHook {
  const serviceAccounts = findByKind('', 'ServiceAccount');
  if (!serviceAccounts) throw new Error('resource table lacks core/v1 ServiceAccount');
  return (req) => {
    if (req.operation !== 'CREATE' || req.type.group !== '' || req.type.kind !== 'Pod') return req.object;
    const pod = req.object;
    if (pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) return pod;
    const spec = (pod.spec ?? {}) as Record<string, unknown>;
    const named = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '' ? spec.serviceAccountName : typeof spec.serviceAccount === 'string' && spec.serviceAccount !== '' ? spec.serviceAccount : DEFAULT_SERVICE_ACCOUNT;
    const namespace = pod.metadata.namespace ?? 'default';
    if (!store.get(serviceAccounts, namespace, named)) {
      const name = pod.metadata.name || pod.metadata.generateName || '';
      throw new StatusError(403, 'Forbidden', `pods "${name}" is forbidden: error looking up service account ${namespace}/${named}: serviceaccount "${named}" not found`, { name, kind: 'pods' });
    }
    return { ...pod, spec: { ...spec, serviceAccountName: named, serviceAccount: named } } as KubeObject;
  };
}
