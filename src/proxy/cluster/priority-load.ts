// Envoy's priority load (LoadBalancerBase): how much of a cluster's traffic each priority gets from
// the health of its hosts. A priority's health is its healthy share of hosts times the
// overprovisioning factor (1.4), capped at 100 %; load goes to priority 0 up to its health, the rest
// spills to the next priorities in order. A priority whose healthy share is under the panic
// threshold (default 50 %) is in panic: it balances over all its hosts, healthy or not, unless the
// priorities together are 100 % healthy. When every priority is in panic, load follows host counts.
// Integer percentages, as Envoy computes them, so shares match to the percent. Pure.

/** Envoy's default overprovisioning factor, in percent. */
export const OVERPROVISIONING_FACTOR = 140;
/** Envoy's default healthy_panic_threshold, in percent. */
export const DEFAULT_PANIC_THRESHOLD = 50;

export interface PriorityHealth {
  /** Hosts in the priority (unhealthy and ejected ones included). */
  hosts: number;
  /** Hosts that may take traffic outside panic: healthy and not ejected. */
  healthy: number;
}

export interface PriorityLoad {
  /** Percent of requests per priority; sums to 100 (all 0 without any host). */
  load: number[];
  /** Per priority: balance over all its hosts instead of its healthy ones. */
  panic: boolean[];
}

function health(level: PriorityHealth): number {
  return level.hosts === 0 ? 0 : Math.min(100, Math.floor((OVERPROVISIONING_FACTOR * level.healthy) / level.hosts));
}

/** Envoy's per-priority load and panic flags for hosts per priority (index = priority). */
export function priorityLoad(levels: readonly PriorityHealth[], panicThresholdPercent = DEFAULT_PANIC_THRESHOLD): PriorityLoad {
  const n = levels.length;
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (n === 0) return { load, panic };
  const healths = levels.map(health);
  const total = Math.min(100, healths.reduce((s, h) => s + h, 0));
  if (total === 0 && panicThresholdPercent === 0) {
    // No host is healthy and panic is off: everything goes to priority 0's (empty) healthy set.
    load[0] = 100;
    return { load, panic };
  }
  if (total > 0) {
    let remaining = 100;
    for (let i = 0; i < n; i++) {
      load[i] = Math.min(remaining, Math.floor((healths[i] * 100) / total));
      remaining -= load[i];
    }
    if (remaining > 0) load[healths.findIndex((h) => h > 0)] += remaining;
  }
  for (let i = 0; i < n; i++) {
    const { hosts, healthy } = levels[i];
    const healthyPercent = hosts === 0 ? 0 : (100 * healthy) / hosts;
    panic[i] = total === 100 ? false : healthyPercent < panicThresholdPercent;
  }
  if (panic.every(Boolean)) {
    // Total panic: load by host count, regardless of health.
    const hosts = levels.reduce((s, l) => s + l.hosts, 0);
    load.fill(0);
    if (hosts === 0) {
      load[0] = 100;
      return { load, panic };
    }
    let remaining = 100;
    for (let i = 0; i < n; i++) {
      load[i] = Math.floor((100 * levels[i].hosts) / hosts);
      remaining -= load[i];
    }
    load[levels.findIndex((l) => l.hosts > 0)] += remaining;
  }
  return { load, panic };
}

/** The priority a request goes to: `roll` uniform in [0, 1) against the cumulative load. */
export function choosePriority(load: readonly number[], roll: number): number {
  const point = Math.floor(roll * 100) + 1;
  let cumulative = 0;
  for (let i = 0; i < load.length; i++) {
    cumulative += load[i];
    if (point <= cumulative) return i;
  }
  return 0;
}

/**
 * A locality's effective weight under locality-weighted balancing: its weight times its healthy share
 * of hosts times the overprovisioning factor, the share capped at 1 (Envoy's effectiveLocalityWeight).
 */
export function effectiveLocalityWeight(weight: number, hosts: number, healthy: number): number {
  if (hosts === 0) return 0;
  return weight * Math.min(1, (OVERPROVISIONING_FACTOR / 100) * (healthy / hosts));
}

/**
 * A retry's priority load with previous_priorities (Envoy's PreviousPrioritiesRetryPriority): the
 * load goes to the priorities not tried yet, by their health; when none of those is healthy, every
 * priority is eligible again; when none at all is, the original load stands.
 */
export function excludePriorities(levels: readonly PriorityHealth[], original: readonly number[], excluded: ReadonlySet<number>): number[] {
  const healths = levels.map(health);
  let adjusted = healths.map((h, i) => (excluded.has(i) ? 0 : h));
  let total = Math.min(100, adjusted.reduce((s, h) => s + h, 0));
  if (total === 0) {
    adjusted = healths;
    total = Math.min(100, adjusted.reduce((s, h) => s + h, 0));
    if (total === 0) return [...original];
  }
  const load = new Array<number>(levels.length).fill(0);
  let remaining = 100;
  // Envoy repeats the pass until rounding leaves nothing over (each pass gives at least 1 %).
  while (remaining > 0) {
    for (let i = 0; i < adjusted.length; i++) {
      const delta = Math.min(remaining, Math.floor((adjusted[i] * 100) / total));
      load[i] += delta;
      remaining -= delta;
    }
  }
  return load;
}
