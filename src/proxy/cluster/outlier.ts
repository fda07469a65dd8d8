// Outlier detection, consecutive_5xx: a host that answers N 5xx (or fails to connect/reset) in a row is
// ejected for base_ejection_time * times-ejected, unless max_ejection_percent of the cluster is already
// out. Ejection ends lazily when the clock passes ejectedUntil (Envoy checks on its interval timer;
// checking at pick time gives the same result without a timer).

import type { Clock } from '../../clock.js';
import type { OutlierDetection } from '../model/cluster.js';
import type { Host } from './host.js';

/** Envoy's default max_ejection_time. */
const MAX_EJECTION_MS = 300_000;

export function isEjected(h: Host, now: number): boolean {
  if (h.outlier.ejectedUntil === 0) return false;
  if (now >= h.outlier.ejectedUntil) {
    h.outlier.ejectedUntil = 0;
    h.outlier.consecutive5xx = 0;
    return false;
  }
  return true;
}

/** Records one result; returns true when it caused an ejection. */
export function recordOutcome(
  config: OutlierDetection | undefined,
  host: Host,
  hosts: readonly Host[],
  failed: boolean,
  clock: Clock,
  random: () => number,
): boolean {
  if (!config) return false;
  if (!failed) {
    host.outlier.consecutive5xx = 0;
    return false;
  }
  host.outlier.consecutive5xx++;
  if (host.outlier.consecutive5xx < config.consecutive5xx || config.consecutive5xx === 0) return false;
  const now = clock.now();
  if (isEjected(host, now)) return false;
  const ejected = hosts.filter((h) => isEjected(h, now)).length;
  // Envoy: eject only while the ejected share stays within max_ejection_percent (with the default 10%,
  // never in a cluster of fewer than 10 hosts), unless always_eject_one_host lets the first one go.
  const withinMax = (100 * (ejected + 1)) / hosts.length <= config.maxEjectionPercent;
  if (!withinMax && !(config.alwaysEjectOneHost && ejected === 0)) return false;
  if (random() * 100 >= config.enforcingConsecutive5xx) return false;
  host.outlier.ejections++;
  host.outlier.ejectedUntil = now + Math.min(config.baseEjectionTimeMs * host.outlier.ejections, Math.max(MAX_EJECTION_MS, config.baseEjectionTimeMs));
  host.outlier.consecutive5xx = 0;
  return true;
}
