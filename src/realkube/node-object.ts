// The core/v1 Node a joining node registers, its status (the Ready condition and its heartbeat), and
// its coordination.k8s.io/v1 Lease in kube-node-lease, as the real kubelet writes them. Pure: the
// machine's facts come in as arguments.

export const KUBELET_VERSION = 'v1.34.4';
export const KUBELET_PORT = 10250;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** The real kubelet's defaults: the Lease renewed every 10 s, valid 40 s; the node lifecycle controller reads it. */
export const LEASE_DURATION_SECONDS = 40;
export const LEASE_RENEW_MS = 10_000;

export interface MachineFacts {
  cpus: number;
  memoryBytes: number;
  /** Node's `process.arch`. */
  arch: string;
  kernelVersion: string;
  osImage: string;
  machineID: string;
  bootID: string;
}

export interface NodeFacts {
  nodeName: string;
  /** The node's InternalIP: the kubelet's host IP (127.s.0.1), where the API server reaches its kubelet port. */
  hostIp: string;
  kubeletPort: number;
  machine: MachineFacts;
}

/** Go's GOARCH for Node's process.arch, as nodeInfo.architecture and the kubernetes.io/arch label say it. */
export function goArch(arch: string): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch;
}

/** MicroTime, as a Lease's renewTime is written: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** RFC 3339 to the second, as a condition's times are written. */
export function rfc3339Seconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function nodeObject(facts: NodeFacts): Record<string, unknown> {
  const arch = goArch(facts.machine.arch);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: facts.nodeName,
      labels: {
        'kubernetes.io/hostname': facts.nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': arch,
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': arch,
      },
    },
    spec: {},
  };
}

export interface ConditionTimes {
  /** The Ready condition's lastTransitionTime: when this kubelet became Ready (its start). */
  readySince: number;
  now: number;
}

/** The Node's status as the kubelet reports it: Ready, no pressure, its address, capacity and versions. */
export function nodeStatus(facts: NodeFacts, times: ConditionTimes): Record<string, unknown> {
  const m = facts.machine;
  const heartbeat = rfc3339Seconds(times.now);
  const since = rfc3339Seconds(times.readySince);
  const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({ type, status, lastHeartbeatTime: heartbeat, lastTransitionTime: since, reason, message });
  // Pods are process groups on the host: what the node offers is the host's.
  const capacity = { cpu: String(m.cpus), memory: `${Math.floor(m.memoryBytes / 1024)}Ki`, pods: '110', 'ephemeral-storage': '0' };
  return {
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status (meshwork process kubelet: pods are process groups on loopback)'),
    ],
    addresses: [
      { type: 'InternalIP', address: facts.hostIp },
      { type: 'Hostname', address: facts.nodeName },
    ],
    capacity,
    allocatable: capacity,
    daemonEndpoints: { kubeletEndpoint: { Port: facts.kubeletPort } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.machineID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: 'meshwork://process',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(m.arch),
    },
  };
}

export function leaseObject(nodeName: string, nodeUid: string | undefined, now: number): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      // Owned by the Node, as the real kubelet sets it: deleting the Node deletes its Lease.
      ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) },
  };
}
