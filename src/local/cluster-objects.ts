// Objects a local cluster registers about itself when it starts: its one Node (the kubelet's
// registration: Ready with the host IP while the cluster runs, since the kubelet runs in the same
// process) and a CustomResourceDefinition per custom kind the API server serves (src/k8s/kinds.ts),
// so `kubectl get nodes` and `kubectl get crd` show what is there. (The bootstrap RBAC policy is the
// API server's own: apiserver/server.ts.)
import { createHash } from 'node:crypto';
import { release, type as osType } from 'node:os';
import type { ResourceType } from '../k8s/kinds.js';
import { apiVersionOf, customResourceTypes, findByKind } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import { crdFor } from '../install/crds.js';
import { SERVER_VERSION } from './apiserver/router.js';
import type { ObjectStore } from './store/store.js';
import { rfc3339 } from '../k8s/time-format.js';

/**
 * A custom kind's CRD as `meshwork install` makes it (install/crds.ts), with an open schema (this API
 * server validates the kinds itself, src/config) and the status a real API server's CRD controller
 * writes: names accepted, Established.
 */
function establishedCrd(t: ResourceType): KubeObject {
  const crd = crdFor(t, 'permissive');
  const names = (crd.spec as { names: Record<string, unknown> }).names;
  return {
    ...crd,
    status: {
      acceptedNames: names,
      storedVersions: [t.versions[0]],
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
    },
  };
}

export function nodeFor(nodeName: string, nodeIp: string, now: number, extraLabels: Record<string, string> = {}): KubeObject {
  const at = rfc3339(now);
  const hex = createHash('sha256').update(nodeName).digest('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: at, lastTransitionTime: at });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: nodeName,
      labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/control-plane': '', ...extraLabels },
    },
    spec: {},
    status: {
      addresses: [
        { type: 'InternalIP', address: nodeIp },
        { type: 'Hostname', address: nodeName },
      ],
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'the process kubelet runs in the cluster\'s own process and is posting ready status'),
      ],
      nodeInfo: {
        kubeletVersion: SERVER_VERSION.gitVersion,
        kubeProxyVersion: SERVER_VERSION.gitVersion,
        operatingSystem: 'linux',
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        osImage: osType(),
        kernelVersion: release(),
        containerRuntimeVersion: 'process://meshwork',
        // Stable per node name (a local node has no machine of its own), as the schema requires them.
        machineID: id.replace(/-/g, ''),
        systemUUID: id,
        bootID: id,
      },
    },
  };
}

function mustFind(group: string, kind: string): ResourceType {
  const t = findByKind(group, kind);
  if (!t) throw new Error(`resource table has no ${apiVersionOf(group, 'v1')} ${kind}`);
  return t;
}

/** Creates or refreshes the node, the CRDs and the bootstrap RBAC policy; objects a user labelled keep their labels. */
export function registerClusterObjects(store: ObjectStore, opts: { nodeName: string; nodeIp: string; now: number; nodeLabels?: Record<string, string> }): void {
  const upsert = (t: ResourceType, desired: KubeObject): void => {
    const current = store.get(t, undefined, desired.metadata.name ?? '');
    if (!current) store.create(t, desired);
    else store.update(t, { ...desired, metadata: { ...current.metadata, labels: { ...desired.metadata.labels, ...current.metadata.labels } }, spec: t.kind === 'Node' ? current.spec : desired.spec });
  };
  upsert(mustFind('', 'Node'), nodeFor(opts.nodeName, opts.nodeIp, opts.now, opts.nodeLabels));
  const crds = mustFind('apiextensions.k8s.io', 'CustomResourceDefinition');
  for (const t of customResourceTypes()) upsert(crds, establishedCrd(t));
}
