// Consistent-hash load balancers as Envoy builds them, so that one key picks the same host on Envoy
// and on the meshwork proxy: RING_HASH (ketama ring of xxHash64("<address>_<i>") entries, sized
// from minimum_ring_size by the lightest host's share) and MAGLEV (the Maglev paper's lookup table,
// offset xxHash64(address) and skip xxHash64(address, seed 1), hosts filled in address order,
// weighted by normalized weight). The table is rebuilt when the usable host set changes. A request
// without a hash (no hash policy, or its header/cookie absent) gets a random one, as in Envoy.

import { endpointKey } from '../model/cluster.js';
import type { Host } from './host.js';
import type { LoadBalancer, PickContext } from './lb.js';
import { xxHash64 } from './xxhash64.js';

const MASK = (1n << 64n) - 1n;

interface Table {
  choose(hash: bigint, attempt: number): Host | undefined;
}

/** Envoy's normalizeHostWeights (no locality weighting): each host's weight over the sum. */
function normalized(hosts: readonly Host[]): { weights: number[]; min: number; max: number } {
  const total = hosts.reduce((s, h) => s + h.endpoint.weight, 0);
  const weights = hosts.map((h) => h.endpoint.weight / total);
  return { weights, min: Math.min(...weights), max: Math.max(...weights) };
}

function ringTable(hosts: readonly Host[], minRingSize: number, maxRingSize: number): Table {
  const { weights, min } = normalized(hosts);
  const scale = Math.min(Math.ceil(min * minRingSize) / min, maxRingSize);
  const entries: Array<{ hash: bigint; host: Host }> = [];
  let current = 0;
  let target = 0;
  hosts.forEach((host, k) => {
    const prefix = `${endpointKey(host.endpoint)}_`;
    target += scale * weights[k]!;
    for (let i = 0; current < target; i++, current++) entries.push({ hash: xxHash64(prefix + i), host });
  });
  entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const size = entries.length;
  return {
    choose(h, attempt) {
      if (size === 0) return undefined;
      // ketama_get_server, as Envoy ports it (signed bounds; the first entry above h, wrapping to 0).
      let low = 0;
      let high = size;
      let mid = 0;
      for (;;) {
        mid = Math.floor((low + high) / 2);
        if (mid === size) {
          mid = 0;
          break;
        }
        const midval = entries[mid]!.hash;
        const midval1 = mid === 0 ? 0n : entries[mid - 1]!.hash;
        if (h <= midval && h > midval1) break;
        if (midval < h) low = mid + 1;
        else high = mid - 1;
        if (low > high) {
          mid = 0;
          break;
        }
      }
      if (attempt > 0) mid = (mid + attempt) % size;
      return entries[mid]!.host;
    },
  };
}

function maglevTable(hosts: readonly Host[], tableSize: number): Table {
  const { weights, max } = normalized(hosts);
  const size = BigInt(tableSize);
  const build = hosts
    .map((host, k) => ({ host, key: endpointKey(host.endpoint), weight: weights[k]! }))
    // Envoy fills the table in the order of the hosts' hash keys, so that the table does not depend on EDS order.
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => ({
      ...e,
      offset: Number(xxHash64(e.key) % size),
      skip: Number((xxHash64(e.key, 1n) % (size - 1n)) + 1n),
      target: 0,
      next: 0,
    }));
  const table = new Array<Host | undefined>(tableSize);
  // offset + skip * next stays far below 2^53 for any table size Envoy accepts: plain numbers are exact.
  const permutation = (e: { offset: number; skip: number; next: number }): number => (e.offset + e.skip * e.next) % tableSize;
  let filled = 0;
  for (let iteration = 1; filled < tableSize; iteration++) {
    for (let i = 0; i < build.length && filled < tableSize; i++) {
      const e = build[i]!;
      if (iteration * e.weight < e.target) continue;
      e.target += max;
      let c = permutation(e);
      while (table[c] !== undefined) {
        e.next++;
        c = permutation(e);
      }
      table[c] = e.host;
      e.next++;
      filled++;
    }
  }
  return {
    choose(h, attempt) {
      if (attempt > 0) h ^= (MASK - BigInt(attempt) + 1n) & MASK;
      return table[Number(h % size)];
    },
  };
}

/** The identity of a host set for the table cache: keys and weights in order. */
function hostSetKey(hosts: readonly Host[]): string {
  let key = '';
  for (const h of hosts) key += `${h.key}/${h.endpoint.weight} `;
  return key;
}

class HashingLb implements LoadBalancer {
  private cachedKey = '';
  private cached: Table | undefined;

  constructor(
    private readonly build: (hosts: readonly Host[]) => Table,
    private readonly random: () => number,
  ) {}

  pick(hosts: readonly Host[], ctx?: PickContext): Host | undefined {
    if (hosts.length === 0) return undefined;
    const key = hostSetKey(hosts);
    if (!this.cached || key !== this.cachedKey) {
      this.cached = this.build(hosts);
      this.cachedKey = key;
    }
    const hash = ctx?.hash ?? randomHash(this.random);
    return this.cached.choose(hash, ctx?.attempt ?? 0);
  }
}

function randomHash(random: () => number): bigint {
  return (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32));
}

export function ringHashLb(minRingSize: number, maxRingSize: number, random: () => number): LoadBalancer {
  return new HashingLb((hosts) => ringTable(hosts, minRingSize, maxRingSize), random);
}

export function maglevLb(tableSize: number, random: () => number): LoadBalancer {
  return new HashingLb((hosts) => maglevTable(hosts, tableSize), random);
}
