// The health of one backend as Google Cloud Load Balancing judges it: a new backend is unhealthy until
// `healthyThreshold` consecutive probes pass; a healthy one turns unhealthy after `unhealthyThreshold`
// consecutive failures. Pure state transitions, so the thresholds are table-tested without timers.

export interface HealthCheckSpec {
  type: 'HTTP';
  /** The port probed on the backend's IP (e.g. the gateway's status port 15021). */
  port: number;
  requestPath: string;
  checkIntervalSec: number;
  timeoutSec: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** GCLB's defaults for the fields a BackendConfig leaves out. */
export const GCLB_HEALTH_CHECK_DEFAULTS = {
  checkIntervalSec: 5,
  timeoutSec: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
} as const;

export interface HealthState {
  healthy: boolean;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /** Why the last probe failed (status code, timeout, connection error), for the admin page. */
  lastFailure?: string;
}

export const INITIAL_HEALTH: HealthState = { healthy: false, consecutiveSuccesses: 0, consecutiveFailures: 0 };

export type ProbeOutcome = { ok: true } | { ok: false; reason: string };

export function nextHealth(state: HealthState, outcome: ProbeOutcome, spec: Pick<HealthCheckSpec, 'healthyThreshold' | 'unhealthyThreshold'>): HealthState {
  if (outcome.ok) {
    const consecutiveSuccesses = state.consecutiveSuccesses + 1;
    return {
      healthy: state.healthy || consecutiveSuccesses >= spec.healthyThreshold,
      consecutiveSuccesses,
      consecutiveFailures: 0,
      lastFailure: state.lastFailure,
    };
  }
  const consecutiveFailures = state.consecutiveFailures + 1;
  return {
    healthy: state.healthy && consecutiveFailures < spec.unhealthyThreshold,
    consecutiveSuccesses: 0,
    consecutiveFailures,
    lastFailure: outcome.reason,
  };
}
