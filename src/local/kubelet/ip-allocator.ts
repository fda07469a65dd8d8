// Pod IPs of one local node: 127.<s>.0.2 - 127.<s>.127.254 (s = the cluster's subnet octet); the node
// (host) IP is 127.<s>.0.1. Pods in network namespaces of their own (iptables interception) take theirs
// from another range, an `IpBlock` of the mesh bridge's subnet (pod-network-addresses.ts). Addresses are
// handed out round-robin, like host-local IPAM, so an IP that was just released is not given to the
// next pod at once.
import { loopbackPodBlock, type IpBlock } from '../pod-network-addresses.js';

export function hostIpOf(subnetOctet: number): string {
  return `127.${subnetOctet}.0.1`;
}

/** The "shadow" IP a pod's app binds when a sidecar owns the pod IP: third octet + 128. */
export function appIpOf(podIp: string): string {
  const parts = podIp.split('.').map(Number);
  if (parts.length !== 4 || parts[2] >= 128) throw new Error(`${podIp} is not a pod IP (third octet must be below 128)`);
  return `${parts[0]}.${parts[1]}.${parts[2] + 128}.${parts[3]}`;
}

const FIRST_INDEX = 1; // <prefix>.<first>.2: index 0 would be <prefix>.<first>.1 (the host IP, or the bridge's)

export class PodIpAllocator {
  private readonly byUid = new Map<string, string>();
  private cursor = FIRST_INDEX - 1;
  private readonly block: IpBlock;
  private readonly lastIndex: number;

  constructor(readonly subnetOctet: number, block?: IpBlock) {
    if (!Number.isInteger(subnetOctet) || subnetOctet < 1 || subnetOctet > 254) throw new Error(`subnet octet ${subnetOctet} is not in 1..254`);
    this.block = block ?? loopbackPodBlock(subnetOctet);
    this.lastIndex = this.block.thirds * 254 - 1;
  }

  get hostIp(): string {
    return hostIpOf(this.subnetOctet);
  }

  /** Whether ip is in this node's pod range. */
  inRange(ip: string): boolean {
    return this.indexOf(ip) !== undefined;
  }

  ipOf(uid: string): string | undefined {
    return this.byUid.get(uid);
  }

  /**
   * Gives the pod `uid` an IP. `heldElsewhere` are IPs other existing pods hold (from the store).
   * `preferred` (the IP a pod already had before a kubelet restart) is kept when it is still free.
   */
  allocate(uid: string, heldElsewhere: ReadonlySet<string>, preferred?: string): string {
    const own = this.byUid.get(uid);
    if (own) return own;
    const taken = new Set([...heldElsewhere, ...[...this.byUid.entries()].filter(([u]) => u !== uid).map(([, ip]) => ip)]);
    if (preferred !== undefined && this.inRange(preferred) && !taken.has(preferred)) {
      this.byUid.set(uid, preferred);
      return preferred;
    }
    const size = this.lastIndex - FIRST_INDEX + 1;
    for (let step = 1; step <= size; step++) {
      const index = FIRST_INDEX + ((this.cursor - FIRST_INDEX + step) % size);
      const ip = this.ipAt(index);
      if (taken.has(ip)) continue;
      this.cursor = index;
      this.byUid.set(uid, ip);
      return ip;
    }
    throw new Error(`no free pod IP left in ${this.ipAt(FIRST_INDEX)}-${this.ipAt(this.lastIndex)}`);
  }

  release(uid: string): void {
    this.byUid.delete(uid);
  }

  private ipAt(index: number): string {
    // index 0 = <prefix>.<first>.1, 253 = <prefix>.<first>.254, 254 = <prefix>.<first + 1>.1
    return `${this.block.prefix}.${this.block.firstThird + Math.floor(index / 254)}.${(index % 254) + 1}`;
  }

  private indexOf(ip: string): number | undefined {
    const parts = ip.split('.');
    if (parts.length !== 4 || `${parts[0]}.${parts[1]}` !== this.block.prefix || !parts.every((p) => /^\d+$/.test(p))) return undefined;
    const x = Number(parts[2]) - this.block.firstThird;
    const y = Number(parts[3]);
    if (x < 0 || x >= this.block.thirds || y < 1 || y > 254) return undefined;
    const index = x * 254 + (y - 1);
    return index >= FIRST_INDEX && index <= this.lastIndex ? index : undefined;
  }
}
