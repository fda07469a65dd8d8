// Choosing among a cluster's hosts by priority and locality, as Envoy's zone-aware load balancer
// base does before the load balancing policy picks a host: the priority by the priority load, then
// (with locality_weighted_lb_config) a locality by its effective weight.

import type { Host } from './host.js';
import { choosePriority, effectiveLocalityWeight, excludePriorities, priorityLoad } from './priority-load.js';

export interface PriorityHosts {
  priority: number;
  /** The hosts to balance over: the priority's usable hosts, or all of them in panic. */
  hosts: Host[];
  /** Every host of the chosen priority (locality weights scale by their health). */
  all: Host[];
  panic: boolean;
}

/** The hosts of the priority a request goes to; undefined without hosts. `excluded`: a retry's previous priorities. */
export function choosePriorityHosts(
  hosts: readonly Host[],
  usable: (h: Host) => boolean,
  panicThresholdPercent: number,
  random: () => number,
  excluded?: ReadonlySet<number>,
): PriorityHosts | undefined {
  const levels: Array<{ all: Host[]; usable: Host[] }> = [];
  for (const h of hosts) {
    const p = h.endpoint.priority;
    while (levels.length <= p) levels.push({ all: [], usable: [] });
    levels[p].all.push(h);
    if (usable(h)) levels[p].usable.push(h);
  }
  if (levels.length === 0) return undefined;
  const health = levels.map((l) => ({ hosts: l.all.length, healthy: l.usable.length }));
  const { load, panic } = priorityLoad(health, panicThresholdPercent);
  const chosen = choosePriority(excluded?.size ? excludePriorities(health, load, excluded) : load, random());
  const level = levels[chosen];
  return { priority: chosen, hosts: panic[chosen] ? level.all : level.usable, all: level.all, panic: panic[chosen] };
}

/** The usable hosts of one locality, chosen by effective locality weight; undefined when no locality qualifies. */
export function chooseLocality(usable: readonly Host[], all: readonly Host[], random: () => number): { locality: string; hosts: Host[] } | undefined {
  const localities = new Map<string, { weight: number; hosts: number; usable: Host[] }>();
  const keyOf = (h: Host) => `${h.endpoint.locality.region}/${h.endpoint.locality.zone}/${h.endpoint.locality.subZone}`;
  for (const h of all) {
    const key = keyOf(h);
    const entry = localities.get(key) ?? { weight: h.endpoint.localityWeight, hosts: 0, usable: [] };
    entry.hosts++;
    localities.set(key, entry);
  }
  for (const h of usable) localities.get(keyOf(h))?.usable.push(h);
  const weighted = [...localities].map(([locality, l]) => ({ locality, hosts: l.usable, weight: effectiveLocalityWeight(l.weight, l.hosts, l.usable.length) })).filter((l) => l.weight > 0);
  const total = weighted.reduce((s, l) => s + l.weight, 0);
  if (total === 0) return undefined;
  let r = random() * total;
  for (const l of weighted) {
    if (r < l.weight) return l;
    r -= l.weight;
  }
  return weighted[weighted.length - 1];
}
