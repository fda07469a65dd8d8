// Outlier detection by consecutive errors, as Envoy's detector counts them per host:
// - consecutive_5xx: 5xx answers in a row;
// - consecutive_gateway_failure: 502/503/504 answers in a row (any other answer resets it);
// - without split_external_local_origin_errors, a connect failure or reset counts as a 503 for both;
//   with it, such local-origin failures count only towards consecutive_local_origin_failure (reset by
//   a connection that works), and the answers only towards the other two.
// Reaching a threshold ejects the host (if the enforcing percentage says so) for base_ejection_time *
// times-ejected, unless max_ejection_percent of the cluster is already out; that counter restarts.
// Ejection ends lazily when the clock passes ejectedUntil (Envoy checks on its interval timer;
// checking at pick time gives the same result without a timer).

import type { Clock } from '../../clock.js';
import type { OutlierDetection } from '../model/cluster.js';
import type { Host, OutlierState } from './host.js';

/** Envoy's default max_ejection_time. */
const MAX_EJECTION_MS = 300_000;

/** What one attempt on a host came to: an answer, or a failure before one (local origin). */
export type AttemptResult = { status: number } | { local: 'connect-failure' | 'reset' };

export function isEjected(h: Host, now: number): boolean {
  if (h.outlier.ejectedUntil === 0) return false;
  if (now >= h.outlier.ejectedUntil) {
    h.outlier.ejectedUntil = 0;
    resetCounters(h.outlier);
    return false;
  }
  return true;
}

function resetCounters(o: OutlierState): void {
  o.consecutive5xx = 0;
  o.consecutiveGatewayFailure = 0;
  o.consecutiveLocalOriginFailure = 0;
}

type Counter = 'consecutive5xx' | 'consecutiveGatewayFailure' | 'consecutiveLocalOriginFailure';

/** Counts the result; returns the counters that reached their threshold. */
function count(config: OutlierDetection, o: OutlierState, result: AttemptResult): Counter[] {
  const reached: Counter[] = [];
  const bump = (c: Counter, threshold: number): void => {
    o[c]++;
    if (threshold > 0 && o[c] >= threshold) reached.push(c);
  };
  let status: number;
  if ('local' in result) {
    if (config.splitExternalLocalOriginErrors) {
      bump('consecutiveLocalOriginFailure', config.consecutiveLocalOriginFailure);
      return reached;
    }
    status = 503;
  } else {
    status = result.status;
    // An answer means the connection worked: the local-origin streak ends.
    o.consecutiveLocalOriginFailure = 0;
  }
  if (status >= 500 && status <= 599) {
    if (status >= 502 && status <= 504) bump('consecutiveGatewayFailure', config.consecutiveGatewayFailure);
    else o.consecutiveGatewayFailure = 0;
    bump('consecutive5xx', config.consecutive5xx);
  } else {
    o.consecutive5xx = 0;
    o.consecutiveGatewayFailure = 0;
  }
  return reached;
}

const ENFORCING: Record<Counter, keyof OutlierDetection> = {
  consecutive5xx: 'enforcingConsecutive5xx',
  consecutiveGatewayFailure: 'enforcingConsecutiveGatewayFailure',
  consecutiveLocalOriginFailure: 'enforcingConsecutiveLocalOriginFailure',
};

/** Records one result; returns the counter that caused an ejection, if one did. */
export function recordOutcome(
  config: OutlierDetection | undefined,
  host: Host,
  hosts: readonly Host[],
  result: AttemptResult,
  clock: Clock,
  random: () => number,
): Counter | undefined {
  if (!config) return undefined;
  const reached = count(config, host.outlier, result);
  if (reached.length === 0) return undefined;
  const now = clock.now();
  let ejectedBy: Counter | undefined;
  for (const c of reached) {
    if (ejectedBy || isEjected(host, now)) continue;
    // Envoy restarts the counter whether or not the host is then ejected: the next decision takes N more errors.
    host.outlier[c] = 0;
    const ejected = hosts.filter((h) => isEjected(h, now)).length;
    // Envoy: eject only while the ejected share stays within max_ejection_percent (with the default 10%,
    // never in a cluster of fewer than 10 hosts), unless always_eject_one_host lets the first one go.
    const withinMax = (100 * (ejected + 1)) / hosts.length <= config.maxEjectionPercent;
    if (!withinMax && !(config.alwaysEjectOneHost && ejected === 0)) continue;
    if (random() * 100 >= (config[ENFORCING[c]] as number)) continue;
    host.outlier.ejections++;
    host.outlier.ejectedUntil = now + Math.min(config.baseEjectionTimeMs * host.outlier.ejections, Math.max(MAX_EJECTION_MS, config.baseEjectionTimeMs));
    ejectedBy = c;
  }
  if (ejectedBy) resetCounters(host.outlier);
  return ejectedBy;
}
