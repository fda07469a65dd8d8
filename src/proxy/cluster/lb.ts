// Load balancers over the eligible hosts of a cluster: weighted round robin (smooth, as nginx and
// Envoy's EDF give the same sequence shape), least request (power of two choices, weighted), random
// (weighted). They only choose; eligibility (health, ejection, retries' excluded hosts) is decided before.

import type { LbPolicy } from '../model/cluster.js';
import type { Host } from './host.js';

export interface LoadBalancer {
  pick(hosts: readonly Host[]): Host | undefined;
}

class RoundRobin implements LoadBalancer {
  private readonly current = new Map<string, number>();

  pick(hosts: readonly Host[]): Host | undefined {
    if (hosts.length === 0) return undefined;
    let total = 0;
    let best: Host | undefined;
    let bestWeight = -Infinity;
    for (const h of hosts) {
      const w = h.endpoint.weight;
      total += w;
      const cw = (this.current.get(h.key) ?? 0) + w;
      this.current.set(h.key, cw);
      if (cw > bestWeight) {
        bestWeight = cw;
        best = h;
      }
    }
    if (best) this.current.set(best.key, bestWeight - total);
    // Forget hosts that left so the map does not grow with endpoint churn.
    if (this.current.size > hosts.length * 2) {
      const keep = new Set(hosts.map((h) => h.key));
      for (const k of this.current.keys()) if (!keep.has(k)) this.current.delete(k);
    }
    return best;
  }
}

function weightedRandom(hosts: readonly Host[], random: () => number): Host | undefined {
  const total = hosts.reduce((s, h) => s + h.endpoint.weight, 0);
  let r = random() * total;
  for (const h of hosts) {
    if (r < h.endpoint.weight) return h;
    r -= h.endpoint.weight;
  }
  return hosts[hosts.length - 1];
}

class RandomLb implements LoadBalancer {
  constructor(private readonly random: () => number) {}
  pick(hosts: readonly Host[]): Host | undefined {
    return weightedRandom(hosts, this.random);
  }
}

class LeastRequest implements LoadBalancer {
  constructor(private readonly random: () => number) {}
  pick(hosts: readonly Host[]): Host | undefined {
    if (hosts.length <= 1) return hosts[0];
    const a = weightedRandom(hosts, this.random);
    const b = weightedRandom(hosts, this.random);
    if (!a || !b) return a ?? b;
    // Envoy's weighted least request: weight / (active + 1).
    return b.endpoint.weight / (b.active + 1) > a.endpoint.weight / (a.active + 1) ? b : a;
  }
}

export function createLoadBalancer(policy: LbPolicy, random: () => number): LoadBalancer {
  switch (policy) {
    case 'round_robin':
      return new RoundRobin();
    case 'least_request':
      return new LeastRequest(random);
    case 'random':
      return new RandomLb(random);
  }
}
