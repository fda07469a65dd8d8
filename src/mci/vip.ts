// Virtual IPs of MultiClusterIngresses: one loopback address each from a range no local cluster uses
// (127.250.0.1 - 127.250.0.254 by default; clusters take 127.<s>.x.y and 127.<s+1>.x.y for s <= 160+10).
// An MCI keeps the VIP its status already shows when that address is still free, so a restarted
// controller does not move it.

export interface VipRange {
  /** First three octets, e.g. `127.250.0`. */
  prefix: string;
  first: number;
  last: number;
}

export const DEFAULT_VIP_RANGE: VipRange = { prefix: '127.250.0', first: 1, last: 254 };

export function parseVipRange(text: string): VipRange {
  const m = /^(127\.\d{1,3}\.\d{1,3})\.(\d{1,3})-(\d{1,3})$/.exec(text);
  if (!m) throw new Error(`VIP range ${JSON.stringify(text)}: expected 127.A.B.FIRST-LAST, e.g. 127.250.0.1-254`);
  const [first, last] = [Number(m[2]), Number(m[3])];
  if (first < 1 || last > 254 || first > last) throw new Error(`VIP range ${text}: host part must be within 1-254, first <= last`);
  return { prefix: m[1], first, last };
}

export class VipAllocator {
  private readonly byKey = new Map<string, string>();

  constructor(private readonly range: VipRange = DEFAULT_VIP_RANGE) {}

  /** The VIP of `key`: its current one, else `preferred` (host:port allowed) when in range and free, else the lowest free. */
  assign(key: string, preferred?: string): string {
    const current = this.byKey.get(key);
    if (current) return current;
    const taken = new Set(this.byKey.values());
    const preferredIp = preferred?.split(':')[0];
    if (preferredIp && this.inRange(preferredIp) && !taken.has(preferredIp)) {
      this.byKey.set(key, preferredIp);
      return preferredIp;
    }
    for (let host = this.range.first; host <= this.range.last; host++) {
      const ip = `${this.range.prefix}.${host}`;
      if (!taken.has(ip)) {
        this.byKey.set(key, ip);
        return ip;
      }
    }
    throw new Error(`no free VIP in ${this.range.prefix}.${this.range.first}-${this.range.last} (${taken.size} in use)`);
  }

  release(key: string): void {
    this.byKey.delete(key);
  }

  private inRange(ip: string): boolean {
    if (!ip.startsWith(this.range.prefix + '.')) return false;
    const host = Number(ip.slice(this.range.prefix.length + 1));
    return Number.isInteger(host) && host >= this.range.first && host <= this.range.last;
  }
}
