// Load balancers over the eligible hosts of a cluster: weighted round robin (smooth, as nginx and
// Envoy's EDF give the same sequence shape), least request (power of two choices, weighted), random
// (weighted). They only choose; eligibility (health, ejection, retries' excluded hosts) is decided before.

import type { Cluster } from '../model/cluster.js';
import { maglevLb, ringHashLb } from './hash-lb.js';
import type { Host } from './host.js';

/** What a consistent-hash balancer needs of the request: its hash (absent: random) and the re-selection count. */
export interface PickContext {
  hash: bigint | undefined;
  attempt: number;
}

export interface LoadBalancer {
  pick(hosts: readonly Host[], ctx?: PickContext): Host | undefined;
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
  constructor(
    private readonly random: () => number,
    private readonly choices: number,
  ) {}
  pick(hosts: readonly Host[]): Host | undefined {
    if (hosts.length <= 1) return hosts[0];
    // choice_count hosts sampled (power of two choices by default); Envoy's weighted score weight / (active + 1).
    let best = weightedRandom(hosts, this.random);
    for (let i = 1; i < this.choices && best; i++) {
      const other = weightedRandom(hosts, this.random);
      if (other && other.endpoint.weight / (other.active + 1) > best.endpoint.weight / (best.active + 1)) best = other;
    }
    return best;
  }
}

export function createLoadBalancer(spec: Pick<Cluster, 'lbPolicy' | 'hashLb' | 'choiceCount'>, random: () => number): LoadBalancer {
  switch (spec.lbPolicy) {
    case 'ring_hash':
      return ringHashLb(spec.hashLb.minimumRingSize, spec.hashLb.maximumRingSize, random);
    case 'maglev':
      return maglevLb(spec.hashLb.tableSize, random);
    case 'round_robin':
      return new RoundRobin();
    case 'least_request':
      return new LeastRequest(random, spec.choiceCount);
    case 'random':
      return new RandomLb(random);
  }
}
