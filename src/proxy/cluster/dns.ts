// The endpoints of a STRICT_DNS or LOGICAL_DNS cluster: each endpoint's name resolved with the system
// resolver (which reads /etc/hosts), again every refresh interval. STRICT_DNS keeps every address of
// every name; LOGICAL_DNS the first address of its one name. A failed lookup keeps the last addresses,
// as Envoy does; until the first lookup answers, the cluster has no hosts.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DnsDiscovery, Endpoint } from '../model/cluster.js';

export type Resolve = (name: string, family: 0 | 4 | 6) => Promise<string[]>;

export const systemResolve: Resolve = async (name, family) => (await lookup(name, { all: true, family })).map((a) => a.address);

export class DnsEndpoints {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private last = new Map<string, string[]>();

  constructor(
    readonly spec: DnsDiscovery,
    private readonly onUpdate: (endpoints: Endpoint[]) => void,
    private readonly onError: (name: string, error: unknown) => void,
    private readonly resolve: Resolve = systemResolve,
  ) {
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    const names = [...new Set(this.spec.endpoints.endpoints.map((e) => e.host))];
    await Promise.all(
      names.map(async (name) => {
        if (isIP(name) !== 0) return this.last.set(name, [name]);
        try {
          const addresses = await this.resolve(name, this.spec.family);
          this.last.set(name, this.spec.logical ? addresses.slice(0, 1) : addresses);
        } catch (e) {
          this.onError(name, e);
        }
      }),
    );
    if (this.stopped) return;
    const endpoints: Endpoint[] = [];
    for (const e of this.spec.endpoints.endpoints) for (const address of this.last.get(e.host) ?? []) endpoints.push({ ...e, host: address });
    this.onUpdate(endpoints);
    this.timer = setTimeout(() => void this.refresh(), this.spec.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
