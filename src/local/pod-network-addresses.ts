// The address plan of pods in network namespaces (`meshwork up --interception iptables`, see
// docs/architecture.md "address plan"). Pure. With subnet base B (cluster i has subnet octet
// s = B + 10(i-1)):
//   - one bridge for the mesh, `mw-br<B>`, the host's address on it 10.B.0.1/16 (the pods' gateway);
//   - cluster i's pods in 10.B.(s-B).2 – 10.B.(s-B+9).254, all on that bridge, so pods of every
//     cluster reach each other without the host forwarding anything; 10.B.(s-B).1 is the host's too:
//     the cluster's API server for captured pods (whose 127.s.0.1 would be their own loopback);
//   - cluster i's Service ClusterIPs in 10.(B+1).(s-B).1 – 10.(B+1).(s-B+9).254: a loopback ClusterIP
//     would stay inside the pod's own namespace (and Istio's capture leaves traffic over `lo` alone), so
//     these route out of the pod to the host, which holds 10.(B+1).0.0/16 as a `local` route: kube-proxy
//     binds them there as it binds 127.(s+1).x.y otherwise, and sidecars' own calls (xDS, CA) go the same way.


/** A run of /24s: `<prefix>.<firstThird .. firstThird + thirds - 1>.<1..254>`. */
export interface IpBlock {
  /** The first two octets, e.g. "10.82". */
  prefix: string;
  firstThird: number;
  thirds: number;
}

/** The blocks a cluster's pods and ClusterIPs come from. */
export interface ClusterNetworkBlocks {
  pods: IpBlock;
  services: IpBlock;
  /**
   * Where captured pods reach the cluster's API server: the first address of its pod block
   * (10.B.(s-B).1, never a pod's), held by the host on the bridge (cluster-1's is the gateway).
   */
  apiServerIp: string;
}

export interface MeshNetworkPlan {
  /** `mw-br<B>`. */
  bridge: string;
  /** The host's address on the bridge, the pods' default route. */
  gateway: string;
  /** The gateway with the pods' prefix length: every pod of the mesh is on-link. */
  gatewayCidr: string;
  /** The pods' prefix length on eth0. */
  podPrefixLength: number;
  /** Every ClusterIP of the mesh, held by the host as a local route. */
  serviceCidr: string;
}

/** Clusters per mesh in this plan: 10 /24s each within the /16 (the same bound as `up --clusters`). */
const THIRDS_PER_CLUSTER = 10;
const MAX_CLUSTERS = 9;

/** The pod range of the loopback plan: 127.s.0.1 – 127.s.127.254. */
export function loopbackPodBlock(subnetOctet: number): IpBlock {
  return { prefix: `127.${subnetOctet}`, firstThird: 0, thirds: 128 };
}

export function meshNetworkPlan(subnetBase: number): MeshNetworkPlan {
  if (!Number.isInteger(subnetBase) || subnetBase < 1 || subnetBase > 254) throw new Error(`subnet base ${subnetBase} is out of range for pod networks: use 1-254 (10.<base>.0.0/16 for pods, 10.<base+1>.0.0/16 for ClusterIPs)`);
  return {
    bridge: `mw-br${subnetBase}`,
    gateway: `10.${subnetBase}.0.1`,
    gatewayCidr: `10.${subnetBase}.0.1/16`,
    podPrefixLength: 16,
    serviceCidr: `10.${subnetBase + 1}.0.0/16`,
  };
}

export function clusterNetworkBlocks(subnetBase: number, subnetOctet: number): ClusterNetworkBlocks {
  meshNetworkPlan(subnetBase);
  const offset = subnetOctet - subnetBase;
  if (offset < 0 || offset % 10 !== 0 || offset / 10 >= MAX_CLUSTERS) {
    throw new Error(`subnet octet ${subnetOctet} is not a cluster of subnet base ${subnetBase} (base + 10(i-1), at most ${MAX_CLUSTERS} clusters)`);
  }
  return {
    pods: { prefix: `10.${subnetBase}`, firstThird: offset, thirds: THIRDS_PER_CLUSTER },
    services: { prefix: `10.${subnetBase + 1}`, firstThird: offset, thirds: THIRDS_PER_CLUSTER },
    apiServerIp: `10.${subnetBase}.${offset}.1`,
  };
}

/** The lowest address of `block` not in `taken` (x.y.z.1 – x.y.z.254 of each /24). */
export function nextIpIn(block: IpBlock, taken: ReadonlySet<string>, what: string): string {
  for (let third = block.firstThird; third < block.firstThird + block.thirds; third++) {
    for (let fourth = 1; fourth < 255; fourth++) {
      const ip = `${block.prefix}.${third}.${fourth}`;
      if (!taken.has(ip)) return ip;
    }
  }
  throw new Error(`no free ${what} left in ${describeBlock(block)}`);
}

export function describeBlock(block: IpBlock): string {
  return `${block.prefix}.${block.firstThird}.1-${block.prefix}.${block.firstThird + block.thirds - 1}.254`;
}
