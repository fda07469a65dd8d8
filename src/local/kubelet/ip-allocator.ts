// Pod IPs of one local node: 127.<s>.0.2 - 127.<s>.127.254 (s = the cluster's subnet octet); the node
// (host) IP is 127.<s>.0.1. Addresses are handed out round-robin, like host-local IPAM, so an IP that
// was just released is not given to the next pod at once.

export function hostIpOf(subnetOctet: number): string {
  return `127.${subnetOctet}.0.1`;
}

/** The "shadow" IP a pod's app binds when a sidecar owns the pod IP: third octet + 128. */
export function appIpOf(podIp: string): string {
  const parts = podIp.split('.').map(Number);
  if (parts.length !== 4 || parts[2] >= 128) throw new Error(`${podIp} is not a pod IP (third octet must be below 128)`);
  return `${parts[0]}.${parts[1]}.${parts[2] + 128}.${parts[3]}`;
}

const FIRST_INDEX = 1; // 127.s.0.2: index 0 would be 127.s.0.1, the host IP
const LAST_INDEX = 128 * 254 - 1; // 127.s.127.254

export class PodIpAllocator {
  private readonly byUid = new Map<string, string>();
  private cursor = FIRST_INDEX - 1;

  constructor(readonly subnetOctet: number) {
    if (!Number.isInteger(subnetOctet) || subnetOctet < 1 || subnetOctet > 254) throw new Error(`subnet octet ${subnetOctet} is not in 1..254`);
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
    const size = LAST_INDEX - FIRST_INDEX + 1;
    for (let step = 1; step <= size; step++) {
      const index = FIRST_INDEX + ((this.cursor - FIRST_INDEX + step) % size);
      const ip = this.ipAt(index);
      if (taken.has(ip)) continue;
      this.cursor = index;
      this.byUid.set(uid, ip);
      return ip;
    }
    throw new Error(`no free pod IP left in 127.${this.subnetOctet}.0.2-127.${this.subnetOctet}.127.254`);
  }

  release(uid: string): void {
    this.byUid.delete(uid);
  }

  private ipAt(index: number): string {
    // index 0 = 127.s.0.1, 253 = 127.s.0.254, 254 = 127.s.1.1
    return `127.${this.subnetOctet}.${Math.floor(index / 254)}.${(index % 254) + 1}`;
  }

  private indexOf(ip: string): number | undefined {
    const m = /^127\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
    if (!m || Number(m[1]) !== this.subnetOctet) return undefined;
    const x = Number(m[2]);
    const y = Number(m[3]);
    if (x > 127 || y < 1 || y > 254) return undefined;
    const index = x * 254 + (y - 1);
    return index >= FIRST_INDEX && index <= LAST_INDEX ? index : undefined;
  }
}
